"""A small release with a request, built through the real path (Session.table, Session.release).

The author of the request is the OS user who runs the tests; reviewers are declared with
``reviewer=`` (documented as a declared identity in docs/review.md).
"""

from __future__ import annotations

import http.client
import urllib.parse
from pathlib import Path

import numpy as np
import pandas as pd

import kit
from kit.release.request import os_user

CREATED = "2024-05-01T12:00:00+00:00"
#: Planted in the researcher's context: must arrive escaped on every page.
XSS = '<script>document.title="pwned"</script><img src=x onerror="document.title=1">'


def frame() -> pd.DataFrame:
    """3 areas x 2 years; Vejgaard 2011 holds 2 persons (a primary cell under dst)."""
    rng = np.random.default_rng(7)
    sizes = {("Kildeparken", "2011"): 40, ("Kildeparken", "2017"): 44, ("Sundparken", "2011"): 25,
             ("Sundparken", "2017"): 27, ("Vejgaard", "2011"): 2, ("Vejgaard", "2017"): 30}
    rows, pnr = [], 1000
    for (area, year), n in sizes.items():
        for _ in range(n):
            pnr += 1
            rows.append({"PNR": pnr, "area": area, "year": year, "employed": int(rng.random() < 0.45)})
    return pd.DataFrame(rows)


def make_release(root: Path, name: str = "rel", *, employment_offset: int = 0) -> tuple[Path, Path]:
    """Write ``root/name`` and its checker folder ``root/checker``; returns (release, checker_dir)."""
    session = kit.Session(rules="dst", unit="PNR", created=CREATED, data_label="synthetic")
    data = frame()
    if employment_offset:
        data.loc[data.index[:employment_offset], "employed"] = 1 - data.loc[data.index[:employment_offset],
                                                                             "employed"]
    count = session.table(data, rows="area", cols="year", stat="count", name="residents", margins=True,
                          title="Residents by area and year")
    # by year only: a rate table by area would publish populations the count table suppresses or
    # that differ from its cells by the 2 persons of Vejgaard 2011, which the differencing registry refuses
    rate = session.table(data, rows="year", stat="rate", measure="employed", name="employment",
                         title="Employment rate by year")
    session.release(root / name, [count, rate], title="Workbench test", checker_dir=root / "checker",
                    state_dir=root / f"{name}-state",  # its own project: module fixtures share no registry
                    request={"residents": {"context": "Residents 16-64 by area and year. " + XSS,
                                           "controls": "threshold 3 persons; secondary suppression audited"},
                             "employment": {"context": "Employment rate", "exception": "none"}})
    return root / name, root / "checker"


def author() -> str:
    """The request's author: the OS user running the tests."""
    return os_user()


def request(base: str, method: str, path: str, *, cookie: str | None = None, body: dict[str, str] | None = None,
            host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """A raw HTTP request to the workbench (no redirects followed)."""
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=20)
    headers = {"Host": host or parts.netloc}
    if cookie is not None:
        headers["Cookie"] = cookie
    data = None
    if body is not None:
        data = urllib.parse.urlencode(body).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    out = resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    conn.close()
    return out


#: A municipality code with markup (the diff tests): must arrive escaped.
EVIL_CODE = '<img src=x onerror="document.title=1">'


def two_releases(root: Path, *, evil: bool = False) -> tuple[Path, Path, Path]:
    """Two releases of one project: ``r1`` residents by KOM and KON, ``r2`` the same table minus one
    person in ``[KOM=K3, KON=F]`` (and one in the code with markup when ``evil``), written with the
    differencing check off (the registry still compares and reports the risky cells).
    Returns (r1, r2, checker folder)."""
    koms = ["K0", "K1", "K2", "K3"] + ([EVIL_CODE] if evil else [])
    n = 40 * len(koms)
    df = pd.DataFrame({"PNR": np.arange(7_000_001, 7_000_001 + n), "KOM": np.repeat(koms, 40),
                       "KON": np.tile(["M", "F"], n // 2)})
    session = kit.Session(rules="dst", unit="PNR", created=CREATED, data_label="synthetic")
    gone = [df.index[df.KOM.eq(kom) & df.KON.eq("F")][0] for kom in ("K3", *([EVIL_CODE] if evil else []))]
    smaller = df.drop(index=gone)
    for name, data, checked in (("r1", df, True), ("r2", smaller, False)):
        table = session.table(data, rows="KOM", cols="KON", stat="count", name="residents", margins=True,
                              title="Residents by municipality and sex")
        session.release(root / name, [table], title=name, checker_dir=root / "checker", state_dir=root / "state",
                        differencing=checked)
    return root / "r1", root / "r2", root / "checker"
