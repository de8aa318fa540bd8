"""The long-format entry point: one row per (reader, case, modality) reading.

Rows are mappings with `reader`, `case`, `modality` (any value; compared as strings),
`truth` (0/1), `rating` (a number; higher = more confident of disease) and optionally
`decision` (0/1). The design must be full factorial: every reader read every case in every
modality, exactly once, and a case has the same truth in all its rows.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from studies.stats.errors import StatsInputError
from studies.stats.mrmc import mrmc_analysis

REQUIRED = ("reader", "case", "modality", "truth", "rating")
SHOWN = 5  # how many examples an error message lists


def _examples(items: list[Any], total: int | None = None) -> str:
    total = len(items) if total is None else total
    shown = "; ".join(str(item) for item in items[:SHOWN])
    return f"{shown} ({total} in all)" if total > SHOWN else shown


def _zero_one(value: object) -> int | None:
    """0 or 1 from 0/1, True/False, 0.0/1.0 or "0"/"1"; None for anything else."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and value in (0, 1):
        return int(value)
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return int(value.strip())
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None  # True is not a rating, though Python would call it 1
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _sort_key(name: str) -> tuple[int, float | str]:
    """Numbers in numeric order ("2" before "10"), then other names alphabetically."""
    try:
        return (0, float(name))
    except ValueError:
        return (1, name)


def mrmc_from_long(
    rows: Iterable[Mapping[str, Any]],
    reference: str | None = None,
    covariance: str = "jackknife",
    level: float = 0.95,
) -> dict[str, Any]:
    """Validate long-format reader-study rows and run the OR MRMC analyses (JSON-able dict).

    Returns {"modalities", "readers", "reference", "cases", "diseased", "covariance",
    "auc": {...}} plus "sensitivity" and "specificity" when the rows carry decisions; each
    metric holds reader_means (by modality), per_reader, var, cov1, cov2, cov3, ms_t, ms_tr,
    and rrrc / frrc / rrfc with difference (other modality - reference), ci_low, ci_high,
    statistic, df_denominator (not for frrc) and p_value. `reference` defaults to the first
    modality in sorted order; pass it explicitly (e.g. the unaided reading).
    Raises StatsInputError naming the first few problems.
    """
    rows = list(rows)
    if not rows:
        raise StatsInputError("no rows to analyse")
    missing = [
        f"row {i}: {', '.join(k for k in REQUIRED if row.get(k) in (None, ''))}"
        for i, row in enumerate(rows)
        if any(row.get(k) in (None, "") for k in REQUIRED)
    ]
    if missing:
        raise StatsInputError(f"missing required columns {REQUIRED}: {_examples(missing)}")
    with_decision = [row.get("decision") not in (None, "") for row in rows]
    if any(with_decision) and not all(with_decision):
        lacking = [f"row {i}" for i, has in enumerate(with_decision) if not has]
        raise StatsInputError(
            f"decision is given in some rows but not in others: missing in {_examples(lacking)}"
        )
    has_decisions = all(with_decision)

    cells: dict[tuple[str, str, str], tuple[float, int | None]] = {}
    truth: dict[str, int] = {}
    problems: dict[str, list[str]] = {
        "truth is not 0/1": [],
        "rating is not a finite number": [],
        "decision is not 0/1": [],
        "duplicate reading (same reader, case and modality)": [],
        "truth differs between rows of the same case": [],
    }
    for i, row in enumerate(rows):
        reader, case, modality = str(row["reader"]), str(row["case"]), str(row["modality"])
        where = f"row {i} (reader {reader}, case {case}, modality {modality})"
        label = _zero_one(row["truth"])
        rating = _number(row["rating"])
        decision = _zero_one(row["decision"]) if has_decisions else None
        if label is None:
            problems["truth is not 0/1"].append(f"{where}: {row['truth']!r}")
        if rating is None:
            problems["rating is not a finite number"].append(f"{where}: {row['rating']!r}")
        if has_decisions and decision is None:
            problems["decision is not 0/1"].append(f"{where}: {row['decision']!r}")
        key = (modality, reader, case)
        if key in cells:
            problems["duplicate reading (same reader, case and modality)"].append(where)
        if label is not None:
            if truth.setdefault(case, label) != label:
                problems["truth differs between rows of the same case"].append(
                    f"case {case}: {truth[case]} and {label} ({where})"
                )
        if rating is not None:
            cells[key] = (rating, decision)
    found = [f"{what}: {_examples(items)}" for what, items in problems.items() if items]
    if found:
        raise StatsInputError("; ".join(found))

    modalities = sorted({key[0] for key in cells}, key=_sort_key)
    readers = sorted({key[1] for key in cells}, key=_sort_key)
    cases = sorted(truth, key=_sort_key)
    expected = len(modalities) * len(readers) * len(cases)
    if len(cells) != expected:
        absent = [
            f"reader {r} did not read case {c} in modality {m}"
            for m in modalities
            for r in readers
            for c in cases
            if (m, r, c) not in cells
        ]
        raise StatsInputError(
            f"the design is not full factorial ({len(modalities)} modalities x {len(readers)} "
            f"readers x {len(cases)} cases = {expected} readings, {len(cells)} given): "
            + _examples(absent)
        )

    shape = (len(modalities), len(readers), len(cases))
    ratings = np.empty(shape)
    decisions = np.empty(shape)
    m_index = {name: i for i, name in enumerate(modalities)}
    r_index = {name: i for i, name in enumerate(readers)}
    c_index = {name: i for i, name in enumerate(cases)}
    for (m, r, c), (rating, decision) in cells.items():
        ratings[m_index[m], r_index[r], c_index[c]] = rating
        if decision is not None:
            decisions[m_index[m], r_index[r], c_index[c]] = decision
    y = np.array([truth[c] for c in cases])

    metrics = {"auc": ratings}
    if has_decisions:
        metrics.update(sensitivity=decisions, specificity=decisions)
    result: dict[str, Any] = {}
    for metric, values in metrics.items():
        analysis = mrmc_analysis(
            y,
            values,
            modalities,
            readers,
            metric=metric,
            covariance=covariance,
            reference=reference,
            level=level,
        )
        if not result:
            result = {
                "modalities": modalities,
                "readers": readers,
                "reference": analysis.reference,
                "cases": analysis.cases,
                "diseased": analysis.diseased,
                "covariance": covariance,
            }
        result[metric] = analysis.as_dict()
    return result
