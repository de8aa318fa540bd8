"""The results document of an imported reader study: per reader, pooled, and MRMC.

The statistics come from `studies.stats` (no formulas here). Shape of the document:
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
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

import numpy as np

from .models import ImportedReaderStudy
from .stats import Estimate, auc, binary_metrics, mean_t_interval, mrmc_from_long

COVARIANCES = ("jackknife", "delong")
DECISION_METRICS = ("accuracy", "sensitivity", "specificity", "ppv", "npv")
SHOWN = 10


class ReaderStudyResultsError(ValueError):
    """The study cannot be analysed as asked (incomplete design, too little data)."""


def _sort_key(name: str) -> tuple[int, float | str]:
    """Numbers in numeric order ("2" before "10"), then other names alphabetically."""
    try:
        return (0, float(name))
    except ValueError:
        return (1, name)


Cell = tuple[str, str, str]  # (modality, reader, case)


def _load(study: ImportedReaderStudy) -> tuple[dict[Cell, tuple], dict[str, int]]:
    cells: dict[Cell, tuple] = {}
    truth: dict[str, int] = {}
    for modality, reader, case, label, rating, decision, seconds in study.readings.values_list(
        "modality", "reader", "case", "truth", "rating", "decision", "seconds"
    ):
        cells[(modality, reader, case)] = (rating, decision, seconds)
        truth[case] = label
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


def study_design_gaps(study: ImportedReaderStudy) -> str | None:
    """What is missing for every reader to have read every case in every modality, or None."""
    cells, _ = _load(study)
    modalities, readers, cases = _axes(cells, study.reference_modality)
    gaps = design_gaps(cells, modalities, readers, cases)
    if not gaps:
        return None
    return (
        f"the design is incomplete: each of {len(readers)} readers should read "
        f"{len(cases)} cases in {len(modalities)} modalities "
        f"({len(cases) * len(modalities)} readings); " + "; ".join(gaps)
    )


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


def _pool(values: list[float | None]) -> dict[str, float | None] | None:
    defined = [value for value in values if value is not None]
    return mean_t_interval(defined).as_dict() if defined else None


def reader_study_results(
    study: ImportedReaderStudy, *, covariance: str = "jackknife", complete_only: bool = False
) -> dict[str, Any]:
    """The results document (JSON-able) of an imported study; see the module docs.

    `covariance` ("jackknife" or "delong") is the AUC error covariance of the MRMC analysis;
    sensitivity and specificity always use the jackknife. An incomplete design raises
    ReaderStudyResultsError saying what is missing unless `complete_only`, which analyses the
    largest complete part the greedy rule in `_complete_part` finds.
    """
    if covariance not in COVARIANCES:
        raise ReaderStudyResultsError(
            f"covariance must be one of {', '.join(COVARIANCES)}, not {covariance!r}"
        )
    cells, truth = _load(study)
    if not cells:
        raise ReaderStudyResultsError(f"reader study {study.name!r} has no readings")
    reference = study.reference_modality
    modalities, all_readers, all_cases = _axes(cells, reference)
    readers, cases = all_readers, all_cases
    gaps = design_gaps(cells, modalities, readers, cases)
    if gaps and not complete_only:
        raise ReaderStudyResultsError(
            study_design_gaps(study)  # type: ignore[arg-type]
            + ". Complete the file, or analyse the complete part only (--complete-only)."
        )
    if gaps:
        readers, cases = _complete_part(cells, modalities, readers, cases)
        if len(readers) < 2 or len(cases) < 4:
            raise ReaderStudyResultsError(
                f"the complete part of the design is too small to analyse ({len(readers)} "
                f"readers, {len(cases)} cases); " + "; ".join(gaps)
            )
    # The import stores a decision for every reading or for none.
    has_decisions = any(value[1] is not None for value in cells.values())
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
    mrmc = {
        metric: analysis[metric]
        for metric in ("auc", "sensitivity", "specificity")
        if metric in analysis
    }

    y = np.array([truth[c] for c in cases])
    reader_rows = []
    pooled_values: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for m in modalities:
        for r in readers:
            values = [cells[(m, r, c)] for c in cases]
            entry: dict[str, Any] = {
                "reader": r,
                "modality": m,
                "auc": auc(y, np.array([value[0] for value in values])),
            }
            if has_decisions:
                metrics = binary_metrics(y, np.array([value[1] for value in values]))
                for name in DECISION_METRICS:
                    entry[name] = _estimate(metrics[name])  # type: ignore[arg-type]
                entry["kappa"] = metrics["kappa"].estimate  # type: ignore[union-attr]
                entry["f1"] = metrics["f1"]
            else:
                entry.update(dict.fromkeys((*DECISION_METRICS, "kappa", "f1")))
            seconds = [value[2] for value in values if value[2] is not None]
            entry["median_seconds"] = statistics.median(seconds) if seconds else None
            reader_rows.append(entry)
            pooled_values[m]["auc"].append(entry["auc"])
            for name in (*DECISION_METRICS, "kappa", "f1"):
                value = entry[name]
                pooled_values[m][name].append(
                    value["estimate"] if isinstance(value, dict) else value
                )
            pooled_values[m]["median_seconds"].append(entry["median_seconds"])

    pooled = {}
    for m in modalities:
        pooled[m] = {"auc": _pool(pooled_values[m]["auc"])}
        for name in (*DECISION_METRICS, "kappa", "f1"):
            pooled[m][name] = _pool(pooled_values[m][name]) if has_decisions else None
        pooled[m]["median_seconds"] = (
            _pool(pooled_values[m]["median_seconds"]) if has_seconds else None
        )

    document: dict[str, Any] = {"readers": reader_rows, "pooled": pooled, "mrmc": mrmc}
    if complete_only:
        document["excluded"] = {
            "readers": [r for r in all_readers if r not in readers],
            "cases": [c for c in all_cases if c not in cases],
        }
    return document
