"""The command line works when a dependency is missing, and names what to install (issue 22).

Each case runs in a fresh interpreter in which one package cannot be imported
(``sys.modules[name] = None``), as in a partial conda environment on the research server.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RUN = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None
from kit.cli import main
try:
    code = main({argv!r})
except SystemExit as exc:
    code = exc.code
sys.exit(code)
"""


def _run(blocked: list[str], argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", RUN.format(blocked=blocked, argv=argv)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("blocked", [["opendp", "polars"], ["pyreadstat"], ["pyarrow"], ["openpyxl"]])
def test_help_works_without_the_package(blocked: list[str]) -> None:
    done = _run(blocked, ["--help"])
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    for command in ("demo", "registers", "rules", "check", "budget", "review"):
        assert f"    {command}" in done.stdout


def test_a_command_whose_module_needs_a_missing_package_names_it() -> None:
    done = _run(["pyarrow"], ["synth", "--persons", "10", "--out", "x"])
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "pyarrow" in done.stderr and 'pip install "sdc-kit"' in done.stderr
    assert "(unavailable: needs the package pyarrow" in _run(["pyarrow"], ["--help"]).stdout


def test_commands_that_do_not_need_the_package_still_run() -> None:
    done = _run(["opendp", "polars"], ["rules", "list"])
    assert done.returncode == 0, done.stderr
    assert "dst" in done.stdout
