"""Differencing across releases: a planted pair of populations that differ by one person is blocked."""

from __future__ import annotations

import pytest

import kit
from kit.core.status import ReasonCode
from kit.release import DifferencingError, ReleaseRegistry, write_release


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
    assert ReleaseRegistry(tmp_path / "registry").entries() == []  # a failed release records nothing


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
    assert [e.name for e in registry.entries()] == ["all_residents"]
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


def test_identical_table_again_passes_and_a_finer_table_that_reveals_a_suppressed_cell_is_blocked(
    tmp_path, session, frame
):
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
    res = write_release(
        tmp_path / "rel2",
        [kit.clear(everyone)],
        session.rules,
        title="t",
        private_results=[everyone],
        registry=registry,
        checker_dir=tmp_path / "chk",
    )
    # the same populations with the same flags cannot be differenced: the sketch index proves it
    # without reading the recorded output, so no pair is listed
    assert res.differencing_pairs == 0
    assert len(registry.entries()) == 2
    assert (tmp_path / "chk" / "rel2" / "checker_report.txt").exists()
    # by area and year: Vejgaard 2011 (2 persons) is suppressed, Vejgaard 2017 published; with the
    # area totals already out, 32 - 30 = 2 gives the suppressed cell away (the label-keyed registry
    # let this through: the cells have different keys)
    by_year = session.table(
        frame, rows="area", cols="year", stat="count", name="by_year", population="all residents"
    )
    totals = {r.keys[0]: r.values[0] for r in kit.clear(everyone).rows}
    cleared = kit.clear(by_year)
    published = {tuple(r.keys): r.values[0] for r in cleared.rows if not r.suppressed}
    assert 0 < totals["Vejgaard"] - published[("Vejgaard", "2017")] < 3  # the attacker's subtraction
    with pytest.raises(DifferencingError):
        write_release(
            tmp_path / "rel3",
            [cleared],
            session.rules,
            title="t",
            private_results=[by_year],
            registry=registry,
        )
    assert not (tmp_path / "rel3").exists() and len(registry.entries()) == 2


def test_registry_repr_hides_counts(tmp_path):
    assert "units hidden" in repr(ReleaseRegistry(tmp_path / "r"))
