// kit workbench: progressive enhancement only (the pages work without it).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var filter = document.getElementById("cell-filter");
  if (filter) {
    filter.addEventListener("change", function () {
      var onlySupp = filter.value === "supp";
      document.querySelectorAll("#cells tbody tr").forEach(function (tr) {
        var supp = tr.classList.contains("st-primary") || tr.classList.contains("st-secondary");
        tr.hidden = onlySupp && !supp;
      });
    });
  }
  document.querySelectorAll("form.act").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      var text = form.querySelector("textarea");
      if (button && ["reject", "question", "answer", "comment"].indexOf(button.value) >= 0 && text && !text.value.trim()) {
        event.preventDefault();
        text.setCustomValidity("Please write the reason or the message first.");
        text.reportValidity();
        text.addEventListener("input", function () { text.setCustomValidity(""); }, { once: true });
      }
    });
  });
});
