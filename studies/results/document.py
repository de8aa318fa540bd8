"""The results document: the analysis of a `ResultSource` (see the package docs)."""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np

from studies.models import ImportedReaderStudy
from studies.results.cells import _axes, _cells, _complete_part, _gap_message, design_gaps
from studies.results.common import (
    COVARIANCES,
    DECISION_METRICS,
    LEVEL,
    MRMC_METRICS,
    ReaderStudyResultsError,
)
from studies.results.metrics import (
    _ai_alone,
    _auc_with_ci,
    _decision_part,
    _operating_point,
    _roc_points,
)
from studies.results.pooled import _pooled
from studies.results.sources import ResultSource, imported_study_source
from studies.results.subgroups import _subgroups
from studies.stats import auc, mrmc_from_long


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
