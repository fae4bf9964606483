"""Differencing across releases: a planted pair of populations that differ by one person is blocked."""

from __future__ import annotations

import json

import pytest

import kit
from kit.release import DifferencingError, ReleaseRegistry, write_release
from kit.status import ReasonCode


def _tables(session, frame):
    everyone = session.table(
        frame, rows="area", stat="count", name="all_residents", population="all residents"
    )
    # "all residents except one small group": one person of Kildeparken left out.
    drop = frame.index[frame["area"] == "Kildeparken"][:1]
    fewer = session.table(
        frame.drop(drop),
        rows="area",
        stat="count",
        name="all_but_one",
        population="all residents except one small group",
    )
    return everyone, fewer


def test_planted_pair_in_one_release_is_blocked(tmp_path, session, frame):
    everyone, fewer = _tables(session, frame)
    with pytest.raises(DifferencingError) as err:
        write_release(
            tmp_path / "rel",
            [kit.clear(everyone), kit.clear(fewer)],
            session.rules,
            title="t",
            checker_dir=tmp_path / "checker",
            private_results=[everyone, fewer],
            registry=tmp_path / "registry",
        )
    assert err.value.pairs[0].reason is ReasonCode.DIFFERENCING
    assert "DIFFERENCING" in str(err.value) and "all_residents vs all_but_one" in str(err.value)
    assert not (tmp_path / "rel").exists()
    report = (tmp_path / "checker" / "rel" / "checker_report.html").read_text()
    assert "BLOCKED" in report and "all_but_one" in report
    assert not (tmp_path / "registry" / "registry.jsonl").exists()


def test_planted_pair_across_releases_is_blocked(tmp_path, session, frame):
    everyone, fewer = _tables(session, frame)
    registry = ReleaseRegistry(tmp_path / "registry")
    write_release(
        tmp_path / "rel1",
        [kit.clear(everyone)],
        session.rules,
        title="t",
        private_results=[everyone],
        registry=registry,
    )
    lines = (tmp_path / "registry" / "registry.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["population"] == "all residents"
    with pytest.raises(DifferencingError) as err:
        write_release(
            tmp_path / "rel2",
            [kit.clear(fewer)],
            session.rules,
            title="t",
            private_results=[fewer],
            registry=registry,
        )
    pair = err.value.pairs[0]
    assert (pair.table, pair.other_table, pair.other_release) == ("all_but_one", "all_residents", "rel1")
    assert pair.smallest_difference == 1 and pair.threshold == 3
    assert not (tmp_path / "rel2").exists()


def test_identical_table_again_and_margins_matched(tmp_path, session, frame):
    everyone, _ = _tables(session, frame)
    registry = ReleaseRegistry(tmp_path / "registry")
    write_release(
        tmp_path / "rel1",
        [kit.clear(everyone)],
        session.rules,
        title="t",
        private_results=[everyone],
        registry=registry,
    )
    by_year = session.table(
        frame, rows="area", cols="year", stat="count", name="by_year", population="all residents"
    )
    res = write_release(
        tmp_path / "rel2",
        [kit.clear(everyone), kit.clear(by_year)],
        session.rules,
        title="t",
        private_results=[everyone, by_year],
        registry=registry,
        checker_dir=tmp_path / "chk",
    )
    assert res.differencing_pairs >= 1
    assert len(registry.entries()) == 3
    assert "ok" in (tmp_path / "chk" / "rel2" / "checker_report.txt").read_text()


def test_registry_repr_hides_counts(tmp_path):
    assert "counts hidden" in repr(ReleaseRegistry(tmp_path / "r"))
