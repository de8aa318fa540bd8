"""The `pooled` metrics: each metric's mean across readers with a t interval."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from studies.results.common import DECISION_METRICS
from studies.stats import mean_t_interval

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
