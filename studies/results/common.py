"""What every part of the results document shares: the options, the metrics, the error."""

from __future__ import annotations

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
