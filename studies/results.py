"""The results document of a reader study: per reader, pooled, the AI alone, ROC and MRMC.

The statistics come from `studies.stats` (no formulas here). Two documents share one
computation (`docs/reader_study_results.md` describes both):

`reader_study_results(study)` — an imported study, the document of
`manage.py reader_study_results NAME --json` and of /api/reader-studies/<name>/results/:
- `readers`: one object per modality and reader with `reader`, `modality`, `auc`,
  `accuracy`, `sensitivity`, `specificity`, `ppv`, `npv` (each {estimate, ci_low, ci_high},
  exact Clopper-Pearson), `kappa`, `f1` (numbers) and `median_seconds`; the decision metrics
  are null when the file had no `decision` column, `median_seconds` without `seconds`.
- `pooled`: keyed by modality, the same metrics as the mean across readers with a Student t
  interval (readers as a random sample); a reader whose metric is undefined (for example PPV
  of a reader who never called a case positive) is left out of that metric's mean.
- `mrmc`: keyed by metric (`auc`; `sensitivity`, `specificity` with decisions), each the
  Obuchowski-Rockette analysis with Hillis df of `mrmc_from_long` (difference = other
  modality minus the reference).
- `excluded` (only with complete_only): the readers and cases left out to make the design
  complete.

`source_results(source)` — any study, from a `ResultSource` (imported or designed): the same
keys, with more in each reader row (`auc_ci`, `kappa_ci`, `counts`, `cases`), and `study`
(title, modalities, readers, case counts), `ai` (the AI alone on the same cases, or null),
`roc` (empirical ROC points and decision operating points per reader and modality, and the
AI's) and, only for a source with reader profiles (a designed study), `subgroups`: the
`pooled` metrics within each subgroup of readers by specialty and by experience band
(`studies.result_subgroups`).
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from .models import ImportedReaderStudy
from .reading_import import Reading
from .result_sources import ReaderProfile, ResultSource, imported_study_source
from .result_subgroups import ONE_READER, reader_subgroups
from .stats import (
    Estimate,
    StatsInputError,
    auc,
    auc_ci,
    binary_metrics,
    mean_t_interval,
    mrmc_from_long,
    roc_curve,
)

COVARIANCES = ("jackknife", "delong")
DECISION_METRICS = ("accuracy", "sensitivity", "specificity", "ppv", "npv")
MRMC_METRICS = ("auc", "sensitivity", "specificity")
SHOWN = 10
LEVEL = 0.95


class ReaderStudyResultsError(ValueError):
    """The study cannot be analysed as asked (incomplete design, too little data)."""


def _sort_key(name: str) -> tuple[int, float | str]:
    """Numbers in numeric order ("2" before "10"), then other names alphabetically."""
    try:
        return (0, float(name))
    except ValueError:
        return (1, name)


Cell = tuple[str, str, str]  # (modality, reader, case)


def _cells(readings: Iterable[Reading]) -> tuple[dict[Cell, tuple], dict[str, int]]:
    cells: dict[Cell, tuple] = {}
    truth: dict[str, int] = {}
    for reading in readings:
        cells[(reading.modality, reading.reader, reading.case)] = (
            reading.rating,
            reading.decision,
            reading.seconds,
        )
        truth[reading.case] = reading.truth
    return cells, truth


def _axes(cells: dict[Cell, tuple], reference: str) -> tuple[list[str], list[str], list[str]]:
    modalities = sorted({m for m, _, _ in cells}, key=lambda m: (m != reference, _sort_key(m)))
    readers = sorted({r for _, r, _ in cells}, key=_sort_key)
    cases = sorted({c for _, _, c in cells}, key=_sort_key)
    return modalities, readers, cases


def design_gaps(
    cells: dict[Cell, tuple], modalities: list[str], readers: list[str], cases: list[str]
) -> list[str]:
    """Per reader, the readings missing from a full factorial design."""
    gaps = []
    for reader in readers:
        absent = [
            f"case {case} in modality {modality}"
            for modality in modalities
            for case in cases
            if (modality, reader, case) not in cells
        ]
        if absent:
            shown = "; ".join(absent[:SHOWN]) + (" ..." if len(absent) > SHOWN else "")
            gaps.append(f"reader {reader} did not read {len(absent)} of them ({shown})")
    return gaps


def _gap_message(cells: dict[Cell, tuple], reference: str) -> str | None:
    modalities, readers, cases = _axes(cells, reference)
    gaps = design_gaps(cells, modalities, readers, cases)
    if not gaps:
        return None
    return (
        f"the design is incomplete: each of {len(readers)} readers should read "
        f"{len(cases)} cases in {len(modalities)} modalities "
        f"({len(cases) * len(modalities)} readings); " + "; ".join(gaps)
    )


def study_design_gaps(study: ImportedReaderStudy) -> str | None:
    """What is missing for every reader to have read every case in every modality, or None."""
    cells, _ = _cells(imported_study_source(study).readings)
    return _gap_message(cells, study.reference_modality)


def _complete_part(
    cells: dict[Cell, tuple], modalities: list[str], readers: list[str], cases: list[str]
) -> tuple[list[str], list[str]]:
    """The readers and cases of a complete sub-design, dropping the most incomplete first.

    Greedy: repeatedly drop the reader or case with the largest share of missing readings
    (a case on ties: readers are the scarce unit of an MRMC study) until none is missing.
    """
    readers, cases = list(readers), list(cases)
    while readers and cases:
        reader_gap = {
            r: sum((m, r, c) not in cells for m in modalities for c in cases) / len(cases)
            for r in readers
        }
        case_gap = {
            c: sum((m, r, c) not in cells for m in modalities for r in readers) / len(readers)
            for c in cases
        }
        worst_reader = max(readers, key=lambda r: reader_gap[r])
        worst_case = max(cases, key=lambda c: case_gap[c])
        if reader_gap[worst_reader] == 0 and case_gap[worst_case] == 0:
            break
        if case_gap[worst_case] >= reader_gap[worst_reader]:
            cases.remove(worst_case)
        else:
            readers.remove(worst_reader)
    return readers, cases


def _estimate(value: Estimate) -> dict[str, float | None]:
    return value.as_dict()


# The range each pooled metric can take; a t interval over few readers can run past it.
METRIC_RANGES = {"kappa": (-1.0, 1.0), "median_seconds": (0.0, math.inf)}


def _pool(values: list[float | None], name: str) -> dict[str, float | None] | None:
    defined = [value for value in values if value is not None]
    if not defined:
        return None
    pooled = mean_t_interval(defined).as_dict()
    low, high = METRIC_RANGES.get(name, (0.0, 1.0))  # proportions and AUC
    for bound in ("ci_low", "ci_high"):
        if pooled[bound] is not None:
            pooled[bound] = min(high, max(low, pooled[bound]))
    return pooled


def _pooled(
    reader_rows: list[dict[str, Any]], modalities: list[str], has_decisions: bool, has_seconds: bool
) -> dict[str, dict[str, Any]]:
    """Per modality, each metric's mean across the given reader rows with a t interval.

    The `pooled` part of the document (all readers) and of each subgroup (its readers).
    """
    values: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for entry in reader_rows:
        for name in ("auc", *DECISION_METRICS, "kappa", "f1", "median_seconds"):
            value = entry[name]
            values[entry["modality"]][name].append(
                value["estimate"] if isinstance(value, dict) else value
            )
    pooled = {}
    for m in modalities:
        pooled[m] = {"auc": _pool(values[m]["auc"], "auc")}
        for name in (*DECISION_METRICS, "kappa", "f1"):
            pooled[m][name] = _pool(values[m][name], name) if has_decisions else None
        seconds = values[m]["median_seconds"]
        pooled[m]["median_seconds"] = _pool(seconds, "median_seconds") if has_seconds else None
    return pooled


def _subgroups(
    profiles: dict[str, ReaderProfile],
    reader_rows: list[dict[str, Any]],
    readers: list[str],
    modalities: list[str],
    has_decisions: bool,
    has_seconds: bool,
) -> dict[str, list[dict[str, Any]]]:
    """Per grouping (`studies.result_subgroups`), each subgroup's readers pooled by `_pooled`."""
    return {
        grouping: [
            {
                "key": key,
                "label": label,
                "readers": members,
                "pooled": _pooled(
                    [row for row in reader_rows if row["reader"] in members],
                    modalities,
                    has_decisions,
                    has_seconds,
                ),
                "note": ONE_READER if len(members) == 1 else None,
            }
            for key, label, members in subgroups
        ]
        for grouping, subgroups in reader_subgroups(profiles, readers).items()
    }


def _auc_with_ci(y: np.ndarray, scores: np.ndarray) -> dict[str, float | None]:
    """AUC with its DeLong (logit) interval; no interval with fewer than 2 per class."""
    try:
        return auc_ci(y, scores, level=LEVEL).as_dict()
    except StatsInputError:
        try:
            return Estimate(auc(y, scores)).as_dict()
        except StatsInputError:
            return Estimate(None).as_dict()


def _decision_part(y: np.ndarray, decisions: np.ndarray) -> dict[str, Any]:
    """The decision metrics of one reader (or the AI): estimates, kappa, F1 and the counts."""
    metrics = binary_metrics(y, decisions, level=LEVEL)
    part: dict[str, Any] = {name: _estimate(metrics[name]) for name in DECISION_METRICS}  # type: ignore[arg-type]
    kappa = metrics["kappa"]
    part["kappa"] = kappa.estimate  # type: ignore[union-attr]
    part["kappa_ci"] = _estimate(kappa)  # type: ignore[arg-type]
    part["f1"] = metrics["f1"]
    part["counts"] = {name: metrics[name] for name in ("n", "tp", "fp", "tn", "fn")}
    return part


def _operating_point(part: dict[str, Any]) -> dict[str, float] | None:
    sensitivity = part["sensitivity"]["estimate"]
    specificity = part["specificity"]["estimate"]
    if sensitivity is None or specificity is None:
        return None
    return {"fpr": 1.0 - specificity, "tpr": sensitivity}


def _roc_points(y: np.ndarray, scores: np.ndarray) -> dict[str, list[float]]:
    try:
        fpr, tpr, _ = roc_curve(y, scores)
    except StatsInputError:
        return {"fpr": [], "tpr": []}
    return {"fpr": [float(v) for v in fpr], "tpr": [float(v) for v in tpr]}


def _ai_alone(
    ai_by_case: dict[str, tuple[float, int]], cases: list[str], truth: dict[str, int]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The AI-alone row and its ROC entry, on the analysed cases the AI has a result for."""
    scored = [case for case in cases if case in ai_by_case]
    row: dict[str, Any] = {
        "cases": len(scored),
        "cases_without_ai": len(cases) - len(scored),
        "auc": None,
        "auc_ci": Estimate(None).as_dict(),
        **dict.fromkeys((*DECISION_METRICS, "kappa", "kappa_ci", "f1", "counts")),
    }
    roc: dict[str, Any] = {"auc": None, "fpr": [], "tpr": [], "operating_point": None}
    if not scored:
        return row, roc
    y = np.array([truth[case] for case in scored])
    scores = np.array([float(ai_by_case[case][0]) for case in scored])
    row["auc_ci"] = _auc_with_ci(y, scores)
    row["auc"] = roc["auc"] = row["auc_ci"]["estimate"]
    roc.update(_roc_points(y, scores))
    decisions = [ai_by_case[case][1] for case in scored]
    if all(decision in (0, 1) for decision in decisions):
        row.update(_decision_part(y, np.array(decisions, dtype=int)))
        roc["operating_point"] = _operating_point(row)
    return row, roc


def _analyse(
    source: ResultSource, covariance: str, complete_only: bool, *, full: bool
) -> dict[str, Any]:
    if covariance not in COVARIANCES:
        raise ReaderStudyResultsError(
            f"covariance must be one of {', '.join(COVARIANCES)}, not {covariance!r}"
        )
    cells, truth = _cells(source.readings)
    if not cells:
        raise ReaderStudyResultsError(f"reader study {source.title!r} has no readings")
    reference = source.reference_modality
    modalities, all_readers, all_cases = _axes(cells, reference)
    if reference not in modalities:
        raise ReaderStudyResultsError(
            f"the reference modality {reference!r} has no readings "
            f"(modalities read: {', '.join(modalities)})"
        )
    if len(modalities) < 2:
        raise ReaderStudyResultsError(
            f"only one modality ({reference}) has readings; the analysis compares two or more"
        )
    readers, cases = all_readers, all_cases
    gaps = design_gaps(cells, modalities, readers, cases)
    if gaps and not complete_only:
        raise ReaderStudyResultsError(
            _gap_message(cells, reference)  # type: ignore[operator]
            + ". Complete the file, or analyse the complete part only (--complete-only)."
        )
    if gaps:
        readers, cases = _complete_part(cells, modalities, readers, cases)
        if len(readers) < 2 or len(cases) < 4:
            raise ReaderStudyResultsError(
                f"the complete part of the design is too small to analyse ({len(readers)} "
                f"readers, {len(cases)} cases); " + "; ".join(gaps)
            )
    # Decisions are analysed only when every analysed reading has one (the import stores a
    # decision for every reading or for none).
    has_decisions = all(
        cells[(m, r, c)][1] is not None for m in modalities for r in readers for c in cases
    )
    has_seconds = any(value[2] is not None for value in cells.values())

    rows = [
        {
            "reader": r,
            "case": c,
            "modality": m,
            "truth": truth[c],
            "rating": cells[(m, r, c)][0],
            **({"decision": cells[(m, r, c)][1]} if has_decisions else {}),
        }
        for m in modalities
        for r in readers
        for c in cases
    ]
    try:
        analysis = mrmc_from_long(rows, reference=reference, covariance="jackknife")
        if covariance != "jackknife":
            auc_rows = [{k: v for k, v in row.items() if k != "decision"} for row in rows]
            analysis["auc"] = mrmc_from_long(auc_rows, reference=reference, covariance=covariance)[
                "auc"
            ]
    except ValueError as error:  # StatsInputError: e.g. fewer than 2 diseased cases
        raise ReaderStudyResultsError(str(error)) from None
    mrmc = {metric: analysis[metric] for metric in MRMC_METRICS if metric in analysis}

    y = np.array([truth[c] for c in cases])
    reader_rows = []
    roc_rows = []
    for m in modalities:
        for r in readers:
            values = [cells[(m, r, c)] for c in cases]
            ratings = np.array([value[0] for value in values], dtype=float)
            entry: dict[str, Any] = {"reader": r, "modality": m, "auc": auc(y, ratings)}
            decision_part: dict[str, Any] | None = None
            if has_decisions:
                decision_part = _decision_part(y, np.array([value[1] for value in values]))
                for name in (*DECISION_METRICS, "kappa", "f1"):
                    entry[name] = decision_part[name]
            else:
                entry.update(dict.fromkeys((*DECISION_METRICS, "kappa", "f1")))
            seconds = [value[2] for value in values if value[2] is not None]
            entry["median_seconds"] = statistics.median(seconds) if seconds else None
            if full:
                entry["auc_ci"] = _auc_with_ci(y, ratings)
                entry["kappa_ci"] = decision_part["kappa_ci"] if decision_part else None
                entry["counts"] = decision_part["counts"] if decision_part else None
                entry["cases"] = len(cases)
                roc_rows.append(
                    {
                        "reader": r,
                        "modality": m,
                        "auc": entry["auc"],
                        **_roc_points(y, ratings),
                        "operating_point": _operating_point(entry) if has_decisions else None,
                    }
                )
            reader_rows.append(entry)

    pooled = _pooled(reader_rows, modalities, has_decisions, has_seconds)
    document: dict[str, Any] = {"readers": reader_rows, "pooled": pooled, "mrmc": mrmc}
    if full:
        ai_row, ai_roc = (
            _ai_alone(source.ai_by_case, cases, truth)
            if source.ai_by_case is not None
            else (None, None)
        )
        document = {
            "study": {
                "title": source.title,
                "reference": reference,
                "modalities": modalities,
                "readers": readers,
                "cases": len(cases),
                "diseased": int(y.sum()),
                "has_decisions": has_decisions,
                "has_seconds": has_seconds,
                "covariance": covariance,
                "level": LEVEL,
            },
            **document,
            "ai": ai_row,
            "roc": {"readers": roc_rows, "ai": ai_roc},
        }
        if source.reader_profiles is not None:
            document["subgroups"] = _subgroups(
                source.reader_profiles, reader_rows, readers, modalities, has_decisions, has_seconds
            )
    if complete_only:
        document["excluded"] = {
            "readers": [r for r in all_readers if r not in readers],
            "cases": [c for c in all_cases if c not in cases],
        }
    return document


def reader_study_results(
    study: ImportedReaderStudy, *, covariance: str = "jackknife", complete_only: bool = False
) -> dict[str, Any]:
    """The results document (JSON-able) of an imported study; see the module docs.

    `covariance` ("jackknife" or "delong") is the AUC error covariance of the MRMC analysis;
    sensitivity and specificity always use the jackknife. An incomplete design raises
    ReaderStudyResultsError saying what is missing unless `complete_only`, which analyses the
    largest complete part the greedy rule in `_complete_part` finds.
    """
    return _analyse(imported_study_source(study), covariance, complete_only, full=False)


def source_results(
    source: ResultSource, covariance: str = "jackknife", complete_only: bool = False
) -> dict[str, Any]:
    """The full results document of any study (module docs; docs/reader_study_results.md).

    Same arguments and errors as `reader_study_results`; adds `study`, `ai`, `roc` and the
    per-reader intervals and counts.
    """
    return _analyse(source, covariance, complete_only, full=True)


# Downloads ----------------------------------------------------------------------------

ESTIMATE_METRICS = ("auc", *DECISION_METRICS, "kappa", "f1")
TABLE_COLUMNS = (
    "row",
    "reader",
    "modality",
    *(f"{metric}{suffix}" for metric in ESTIMATE_METRICS for suffix in ("", "_ci_low", "_ci_high")),
    "median_seconds",
    "cases",
    "tp",
    "fp",
    "tn",
    "fn",
)
LONG_COLUMNS = ("reader", "case", "modality", "truth", "rating", "decision", "seconds")


def _estimate_cells(metric: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {
            metric: value["estimate"],
            f"{metric}_ci_low": value["ci_low"],
            f"{metric}_ci_high": value["ci_high"],
        }
    return {metric: value}


def _table_row(kind: str, reader: str, modality: str, entry: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"row": kind, "reader": reader, "modality": modality}
    pooled = kind in ("pooled", "subgroup")
    auc_value = entry.get("auc") if pooled else entry.get("auc_ci")
    row.update(_estimate_cells("auc", auc_value))
    for metric in DECISION_METRICS:
        row.update(_estimate_cells(metric, entry.get(metric)))
    kappa = entry.get("kappa") if pooled else entry.get("kappa_ci")
    row.update(_estimate_cells("kappa", kappa if kappa is not None else entry.get("kappa")))
    row.update(_estimate_cells("f1", entry.get("f1")))
    seconds = entry.get("median_seconds")
    row["median_seconds"] = seconds["estimate"] if isinstance(seconds, dict) else seconds
    row["cases"] = entry.get("cases")
    counts = entry.get("counts") or {}
    row.update({name: counts.get(name) for name in ("tp", "fp", "tn", "fn")})
    return row


def results_table(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-reader table of a `source_results` document: reader rows, pooled, AI alone.

    `row` is "reader", "pooled" (mean across readers, t interval), "subgroup" (the mean
    across a subgroup's readers; `reader` names it, e.g. "experience: under 5 years") or
    "ai" (the AI alone).
    """
    cases = document.get("study", {}).get("cases")
    table = [
        _table_row("reader", entry["reader"], entry["modality"], entry)
        for entry in document["readers"]
    ]
    for modality, metrics in document["pooled"].items():
        table.append(_table_row("pooled", "", modality, {**metrics, "cases": cases}))
    for grouping, subgroups in document.get("subgroups", {}).items():
        for subgroup in subgroups:
            for modality, metrics in subgroup["pooled"].items():
                name = f"{grouping}: {subgroup['label']}"
                table.append(_table_row("subgroup", name, modality, {**metrics, "cases": cases}))
    if document.get("ai"):
        table.append(_table_row("ai", "AI alone", "", document["ai"]))
    return table


def _csv_text(columns: Iterable[str], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def results_table_csv(document: dict[str, Any]) -> str:
    """`results_table` as CSV (columns TABLE_COLUMNS; empty cells where undefined)."""
    return _csv_text(TABLE_COLUMNS, results_table(document))


def readings_csv(readings: Iterable[Reading]) -> str:
    """The readings in the long format `reader_study_import` reads (and iMRMC / RJafroc).

    `decision` is written only when every reading has one (the import takes all or none),
    `seconds` when any reading has one. Ratings keep every digit, so the file round-trips.
    """
    readings = sorted(
        readings, key=lambda r: (_sort_key(r.modality), _sort_key(r.reader), _sort_key(r.case))
    )
    with_decision = bool(readings) and all(r.decision is not None for r in readings)
    with_seconds = any(r.seconds is not None for r in readings)
    columns = [
        c
        for c in LONG_COLUMNS
        if (c != "decision" or with_decision) and (c != "seconds" or with_seconds)
    ]
    rows = (
        {
            "reader": r.reader,
            "case": r.case,
            "modality": r.modality,
            "truth": r.truth,
            "rating": repr(float(r.rating)),
            **({"decision": r.decision} if with_decision else {}),
            **({"seconds": r.seconds} if with_seconds else {}),
        }
        for r in readings
    )
    return _csv_text(columns, rows)
