"""One reader's (or the AI's) metrics: AUC with its interval, decisions, ROC points."""

from __future__ import annotations

from typing import Any

import numpy as np

from studies.results.common import DECISION_METRICS, LEVEL
from studies.stats import Estimate, StatsInputError, auc, auc_ci, binary_metrics, roc_curve


def _estimate(value: Estimate) -> dict[str, float | None]:
    return value.as_dict()


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
