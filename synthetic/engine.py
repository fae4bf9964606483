"""The yearly simulation loop and :func:`generate`, the package's entry point.

Examples
--------
>>> import tempfile, pathlib
>>> cfg = SynthConfig(persons=12_000, years=(2010, 2012), n_comparison=3, n_placebo=1,
...                   comparison_size=(1000, 1000), treated=())
>>> with tempfile.TemporaryDirectory() as tmp:
...     res = generate(cfg, pathlib.Path(tmp) / "out")
...     sorted(p.name for p in res.files)[:3]
['akm2010.parquet', 'akm2011.parquet', 'akm2012.parquet']
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from kit.errors import OutputExistsError, SpecError
from kit.progress import Progress, track
from synthetic.codes import Status
from synthetic.config import SynthConfig
from synthetic.demography import MigrationEvents, advance_demography
from synthetic.education import level_at_age
from synthetic.geography import MUNICIPALITIES, Area, AreaType, comparison_names
from synthetic.income import draw_income
from synthetic.labour import (
    AGE_EFFECT,
    EDU_EFFECT,
    RHO,
    SIGMA_EPS,
    assign_status,
    employment_probability,
    year_effect,
)
from synthetic.months import expected_months, months_employed
from synthetic.moves import AreaPlan, advance_moves
from synthetic.outcomes import (
    MoverRecord,
    OutcomeRecord,
    apply_education_channel,
    apply_mover_channel,
    apply_status_channels,
    mover_destination,
)
from synthetic.population import (
    AREA_NONWESTERN,
    Calibration,
    area_address_blocks,
    initial_population,
    place_effect,
)
from synthetic.state import State, seeded_rng
from synthetic.tables import IdCodec, akm_table, bef_table, ind_table, ras_table, udda_table, vnds_table
from synthetic.treatment import ChannelRecord, apply_within_channel
from synthetic.truth import build_truth
from synthetic.writers import FileFormat, write_table

__all__ = ["GenerationResult", "build_areas", "generate"]

log = logging.getLogger(__name__)

# stream tags for seeded_rng
_INIT, _DEMOG, _MOVES, _LABOUR, _STATUS, _TREAT, _INCOME, _RAS, _RERUN, _EDU_UP, _STATUS_UP, _MOVERS, _MONTHS = (
    range(13))


@dataclass(frozen=True)
class GenerationResult:
    """What :func:`generate` wrote.

    Attributes
    ----------
    out
        The output folder.
    files
        Every file written (register files, re-deliveries, area_key.csv, truth.json, synth_config.toml).
    truth
        Path of truth.json.
    config
        The configuration used.
    persons_final
        Persons living in Denmark at the end of the last year.
    """

    out: Path
    files: tuple[Path, ...]
    truth: Path
    config: SynthConfig
    persons_final: int


def build_areas(config: SynthConfig) -> tuple[Area, ...]:
    """Named areas: treated first (in config order), then comparison and placebo areas.

    Placebo areas are every k-th area of the pool so they spread over sizes and municipalities.

    Examples
    --------
    >>> areas = build_areas(SynthConfig.default(persons=200_000))
    >>> [a.area_type.value for a in areas[:3]], len(areas)
    (['treated', 'treated', 'comparison'], 32)
    """
    from synthetic.geography import AREA_HOST_MUNICIPALITIES

    out: list[Area] = []
    for a in config.treated:
        if a.kom not in MUNICIPALITIES:
            raise SpecError(
                "synthetic configuration",
                f"treated area '{a.name}' has key 'kom' that is not one of the 98 municipality codes",
                "use a DST municipality code such as 851",
            )
        out.append(Area(len(out) + 1, a.name, a.kom, AreaType.TREATED, a.residents, max(1, a.residents // 2)))
    sizes = config.comparison_sizes()
    names = comparison_names(config.n_comparison)
    step = config.n_comparison / config.n_placebo if config.n_placebo else 0
    placebo = {int(i * step + step / 2) for i in range(config.n_placebo)}
    for i, (size, name) in enumerate(zip(sizes, names, strict=True)):
        kind = AreaType.PLACEBO if i in placebo else AreaType.COMPARISON
        kom = AREA_HOST_MUNICIPALITIES[i % len(AREA_HOST_MUNICIPALITIES)]
        out.append(Area(len(out) + 1, name, kom, kind, size, max(1, size // 2)))
    return tuple(out)


def _plan(config: SynthConfig, n_areas: int) -> AreaPlan:
    start = np.full(n_areas, 10_000, dtype=np.int64)
    shift = np.zeros(n_areas)
    ren_first = np.full(n_areas, 10_000, dtype=np.int64)
    ren_last = np.full(n_areas, -1, dtype=np.int64)
    extra = np.zeros(n_areas)
    for i, a in enumerate(config.treated):
        start[i], shift[i], extra[i] = a.start, a.selection_shift, a.extra_move_out
        ren_first[i], ren_last[i] = a.renovation
    return AreaPlan(start, shift, ren_first, ren_last, extra)


def _prepare_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputExistsError(
            f"synthetic output folder {out.name}",
            "the folder exists and is not empty",
            "choose a new --out folder or delete the old one; the generator never overwrites",
        )
    out.mkdir(parents=True, exist_ok=True)


def generate(config: SynthConfig, out: Path, *, fmt: str = "parquet",
             progress: Progress | None = None) -> GenerationResult:
    """Simulate the population and write the registers, area key, truth and configuration to ``out``.

    Parameters
    ----------
    config
        The configuration (see :class:`~synthetic.config.SynthConfig`).
    out
        Output folder; created, must not exist or must be empty.
    fmt
        ``"parquet"`` (default), ``"csv"`` or ``"xpt"`` (needs pyreadstat).
    progress
        Reports the years generated (:mod:`kit.progress`; ``None``, the default, reports nothing).

    Returns
    -------
    GenerationResult
        Paths written and the configuration.

    Raises
    ------
    kit.errors.SpecError
        Invalid format or configuration.
    kit.errors.OutputExistsError
        ``out`` exists and is not empty.
    kit.errors.OptionalDependencyError
        XPT without pyreadstat.
    """
    file_format = FileFormat.parse(fmt)
    if file_format is FileFormat.XPT:
        try:
            import pyreadstat  # noqa: F401
        except ImportError:
            from kit.errors import OptionalDependencyError

            raise OptionalDependencyError("synthetic output in XPT format", "sas", "pyreadstat") from None
    areas = build_areas(config)
    out = Path(out)
    created = not out.exists()
    _prepare_out(out)
    staging = out / ".partial"
    staging.mkdir()
    try:
        files, truth_path, final = _run(config, areas, out, staging, file_format, progress)
    except BaseException:
        if created:  # leave nothing half-written behind
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return GenerationResult(out, files, truth_path, config, final)


def _run(
    config: SynthConfig, areas: tuple[Area, ...], out: Path, staging: Path, fmt: FileFormat,
    progress: Progress | None
) -> tuple[tuple[Path, ...], Path, int]:
    seed = config.seed
    first = config.years[0]
    state, cal = initial_population(
        config.persons,
        first,
        config.base_year,
        areas,
        config.area_employment,
        config.national_employment,
        seeded_rng(seed, _INIT),
    )
    plan = _plan(config, len(areas))
    untreated = np.array([a.area_type is not AreaType.TREATED for a in areas])
    codec = IdCodec(seed)
    written: list[Path] = []
    records: list[ChannelRecord] = []
    outcome_records: list[OutcomeRecord] = []
    mover_records: list[MoverRecord] = []
    area_kom = np.array([a.kom for a in areas], dtype=np.int64)
    left_year = np.zeros(state.n_persons, dtype=np.int16)
    for year in track(progress, config.year_range(), "kit synth", unit="years"):
        events = advance_demography_year(state, year, config, cal)
        advance_moves(
            state,
            year,
            areas,
            plan,
            cal,
            config.area_move_out,
            AREA_NONWESTERN,
            seeded_rng(seed, _MOVES, year),
        )
        p = state.p
        idx = np.flatnonzero(p["present"])
        idx = idx[np.argsort(codec.pnr(idx), kind="stable")]
        age = year - p["byear"][idx].astype(np.int64)
        edu = level_at_age(age, p["edu_target"][idx])
        edu_old = p["edu"][idx].copy()
        p["edu"][idx] = edu
        parea = state.person_area()[idx]
        edu_target = p["edu_target"][idx]
        outcome_records.extend(apply_education_channel(
            year, config.treated, parea, untreated, age, edu, edu_target, seeded_rng(seed, _EDU_UP, year)))
        p["edu_target"][idx] = edu_target
        p["edu"][idx] = edu
        if left_year.shape[0] < state.n_persons:
            left_year = np.concatenate([left_year, np.zeros(state.n_persons - left_year.shape[0], dtype=np.int16)])
        area_base = p["area_base"][idx]
        destination = mover_destination(parea, area_base, state.person_kom()[idx], area_kom, ~untreated)
        away = (area_base >= 0) & (parea != area_base)
        newly_left = away & (left_year[idx] == 0) & (year > config.base_year)
        left_year[idx[newly_left]] = year
        mean = (
            p["alpha"][idx]
            + AGE_EFFECT[np.clip(age, 0, 120)]
            + EDU_EFFECT[edu]
            + place_effect(state, cal)[idx]
            + year_effect(year)
        )
        u_prev = p["u"][idx]
        prob = employment_probability(mean, u_prev)
        rng_l = seeded_rng(seed, _LABOUR, year)
        u_new = (RHO * u_prev + SIGMA_EPS * rng_l.standard_normal(idx.shape[0])).astype(np.float32)
        latent = (mean + u_new > 0) & (age >= 16) & (age <= 74)
        latent_prev = p["emp"][idx].copy()
        prev_status = p["status"][idx]
        prev_employed = latent_prev if year == first else (prev_status >= Status.SELF_EMPLOYED) & (
            prev_status <= Status.EMPLOYEE_OTHER)
        p["u"][idx] = u_new
        p["emp"][idx] = latent
        employed = latent.copy()
        working = (age >= 16) & (age <= 64)
        recs = apply_within_channel(
            year,
            config.base_year,
            config.treated,
            parea,
            p["area_base"][idx],
            working,
            untreated,
            prob,
            employed,
            seeded_rng(seed, _TREAT, year),
        )
        records.extend(recs)
        mover_records.extend(apply_mover_channel(
            year, config.base_year, config.treated, destination, area_base, left_year[idx], untreated, working,
            prob, employed, seeded_rng(seed, _MOVERS, year)))
        months, month_records = _months(year, config, idx, p, parea, untreated, working, latent_prev,
                                        prev_employed, latent, employed, prob)
        outcome_records.extend(month_records)
        status = assign_status(employed, age, edu, p["status"][idx], seeded_rng(seed, _STATUS, year))
        outcome_records.extend(apply_status_channels(
            year, config.treated, parea, untreated, age, status, seeded_rng(seed, _STATUS_UP, year)))
        p["status"][idx] = status
        if year == config.base_year:
            p["area_base"][idx] = parea
        alpha_dev = (p["alpha"][idx] - cal.nat_shift).astype(np.float64)
        income = draw_income(p["status"][idx], age, alpha_dev, seeded_rng(seed, _INCOME, year))
        new_arrival = p["arr_year"][idx] == year
        changed = (edu != edu_old) | new_arrival | (year == first)
        udda_idx = idx[(edu > 0) & changed]
        tables = {
            "bef": bef_table(state, idx, year, codec),
            "ras": ras_table(state, idx, year, codec, seeded_rng(seed, _RAS, year)),
            "akm": akm_table(state, idx, codec, months),
            "ind": ind_table(state, idx, codec, income),
            "udda": udda_table(state, udda_idx, codec),
            "vnds": vnds_table(events.person, events.inbound, events.day, year, codec),
        }
        for register, table in tables.items():
            written.extend(_write_register(table, register, year, config, staging, fmt))
        log.debug("year %s: %s persons", year, idx.shape[0])
    final = int(state.p["present"].sum())
    # area key, truth, configuration
    key_path = staging / "area_key.csv"
    _write_area_key(areas, key_path)
    truth_path = staging / "truth.json"
    truth = build_truth(config, areas, records, outcome_records, mover_records)
    truth_path.write_text(json.dumps(truth, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    cfg_path = staging / "synth_config.toml"
    cfg_path.write_text(config.to_toml(), encoding="utf-8")
    written += [key_path, truth_path, cfg_path]
    final_paths = []
    for path in written:
        target = out / path.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)
        final_paths.append(target)
    return tuple(final_paths), out / "truth.json", final


def _months(
    year: int, config: SynthConfig, idx: npt.NDArray[np.int64], p: Any, parea: npt.NDArray[np.int16],
    untreated: npt.NDArray[np.bool_], working: npt.NDArray[np.bool_], latent_prev: npt.NDArray[np.bool_],
    prev_employed: npt.NDArray[np.bool_], latent: npt.NDArray[np.bool_], employed: npt.NDArray[np.bool_],
    prob: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int8], list[OutcomeRecord]]:
    """Months in employment (observed) and the share-of-year accounting per treated area.

    The observed months follow the observed Novembers; the untreated months follow the
    latent (untreated) Novembers with the same random draws, so their difference is the
    treatment's within part. Composition: the difference in expected untreated months
    (:func:`synthetic.months.expected_months`) between the area's residents and the pooled
    comparison/placebo residents, aged 16-64, in percentage points of the year.
    """
    day = p["arr_day"][idx].astype(np.int64)  # day of the year (0-based); from 334 on: December, outside RAS
    arrival = np.where(p["arr_year"][idx] == year, np.where(day >= 334, 12, np.minimum(day * 12 // 365 + 1, 11)), -1)
    observed = months_employed(prev_employed, employed, arrival, seeded_rng(config.seed, _MONTHS, year))
    untreated_months = months_employed(latent_prev, latent, arrival, seeded_rng(config.seed, _MONTHS, year))
    expected = expected_months(latent_prev, prob)
    change = observed.astype(np.float64) - untreated_months
    comp = working & (parea >= 0) & untreated[np.maximum(parea, 0)]
    records = []
    for i, area in enumerate(config.treated):
        res = working & (parea == i)
        if year < area.start or not res.any() or not comp.any():
            continue
        composition = 100 / 12 * (float(expected[res].mean()) - float(expected[comp].mean()))
        within = 100 / 12 * (float(change[res].mean()) - float(change[comp].mean()))
        records.append(OutcomeRecord(i, year, "employment_share", composition + within, composition, within,
                                     int(res.sum())))
    return observed, records


def advance_demography_year(state: State, year: int, config: SynthConfig, cal: Calibration) -> MigrationEvents:
    """One year of demography with the year's own random stream (thin wrapper)."""
    return advance_demography(state, year, config.persons, cal, seeded_rng(config.seed, _DEMOG, year))


def _write_register(
    table: pa.Table, register: str, year: int, config: SynthConfig, staging: Path, fmt: FileFormat
) -> list[Path]:
    stem = f"{register}{year}"
    case = config.layout.case_for(register, year)
    if stem not in config.layout.rerun:
        return [write_table(table, staging / stem, fmt, case)]
    # flawed first delivery (1 % of rows missing) in the main folder, corrected one in the re-run folder
    rng = seeded_rng(config.seed, _RERUN, year, sum(map(ord, register)))
    keep = rng.random(table.num_rows) >= 0.01
    sub = staging / config.layout.rerun_folder
    sub.mkdir(exist_ok=True)
    return [
        write_table(table.filter(pa.array(keep)), staging / stem, fmt, case),
        write_table(table, sub / stem, fmt, case),
    ]


def _write_area_key(areas: tuple[Area, ...], path: Path) -> None:
    blocks = area_address_blocks(areas)
    kom, addr, aid, name, kind = [], [], [], [], []
    for a, block in zip(areas, blocks, strict=True):
        kom.append(np.full(a.dwellings, a.kom))
        addr.append(block + np.arange(a.dwellings))
        aid.append(np.full(a.dwellings, a.area_id))
        name += [a.name] * a.dwellings
        kind += [a.area_type.value] * a.dwellings
    table = pa.table(
        {
            "KOM": pa.array(np.concatenate(kom).astype(np.int32)),
            "BOPIKOM": pa.array(np.concatenate(addr).astype(np.int32)),
            "AREA_ID": pa.array(np.concatenate(aid).astype(np.int32)),
            "AREA_NAME": pa.array(name, type=pa.string()),
            "AREA_TYPE": pa.array(kind, type=pa.string()),
        }
    )
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
