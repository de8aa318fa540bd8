"""Proportions with exact confidence intervals, binary decision metrics, pooled means.

Definitions
-----------
- Clopper-Pearson (1934) "exact" interval for x successes out of n: the lower bound is the
  alpha/2 quantile of Beta(x, n - x + 1) (0 when x = 0), the upper bound the 1 - alpha/2
  quantile of Beta(x + 1, n - x) (1 when x = n).
- Sensitivity TP/(TP+FN), specificity TN/(TN+FP), PPV TP/(TP+FP), NPV TN/(TN+FN),
  accuracy (TP+TN)/n; each with its Clopper-Pearson interval on its own denominator.
- F1 = 2 TP / (2 TP + FP + FN) (harmonic mean of PPV and sensitivity).
- Cohen's kappa of the decision against the truth, with the Fleiss-Cohen-Everitt (1969)
  large-sample standard error (see `agreement.cohen_kappa_table`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import stats

from studies.stats.agreement import cohen_kappa_table
from studies.stats.errors import StatsInputError
from studies.stats.estimate import Estimate, check_level


def proportion_ci(successes: int, n: int, level: float = 0.95) -> Estimate:
    """Proportion successes/n with its exact Clopper-Pearson interval.

    n = 0 gives Estimate(None, None, None): there is nothing to estimate.
    """
    check_level(level)
    if n < 0 or successes < 0 or successes > n:
        raise StatsInputError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return Estimate(None, None, None)
    alpha = 1.0 - level
    # The edge cases are defined, not computed: Beta(0, .) does not exist.
    low = 0.0 if successes == 0 else float(stats.beta.ppf(alpha / 2, successes, n - successes + 1))
    high = (
        1.0
        if successes == n
        else float(stats.beta.ppf(1 - alpha / 2, successes + 1, n - successes))
    )
    return Estimate(successes / n, low, high)


def _binary(values: npt.ArrayLike, name: str) -> npt.NDArray[np.int64]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise StatsInputError(f"{name} must be one-dimensional, got shape {array.shape}")
    try:
        as_float = array.astype(float)
    except (TypeError, ValueError) as error:
        raise StatsInputError(f"{name} must contain only 0 and 1") from error
    bad = ~np.isin(as_float, (0.0, 1.0))
    if bad.any():
        examples = array[bad][:3].tolist()
        raise StatsInputError(f"{name} must contain only 0 and 1; found e.g. {examples}")
    return as_float.astype(np.int64)


def binary_metrics(
    truth: npt.ArrayLike, decision: npt.ArrayLike, level: float = 0.95
) -> dict[str, Estimate | float | int | None]:
    """Accuracy, sensitivity, specificity, PPV, NPV, kappa (Estimates), F1 and the counts.

    `truth` and `decision` are 0/1 arrays of the same length (1 = disease / positive call).
    A metric whose denominator is zero is Estimate(None, None, None); F1 is None when there
    are no positives at all (TP + FP + FN = 0).
    """
    y = _binary(truth, "truth")
    d = _binary(decision, "decision")
    if y.shape != d.shape:
        raise StatsInputError(f"truth has {y.size} values but decision has {d.size}")
    tp = int(np.sum((y == 1) & (d == 1)))
    fn = int(np.sum((y == 1) & (d == 0)))
    tn = int(np.sum((y == 0) & (d == 0)))
    fp = int(np.sum((y == 0) & (d == 1)))
    n = tp + fn + tn + fp
    f1_denominator = 2 * tp + fp + fn
    kappa = cohen_kappa_table([[tn, fp], [fn, tp]], level=level) if n else None
    return {
        "n": n,
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "accuracy": proportion_ci(tp + tn, n, level),
        "sensitivity": proportion_ci(tp, tp + fn, level),
        "specificity": proportion_ci(tn, tn + fp, level),
        "ppv": proportion_ci(tp, tp + fp, level),
        "npv": proportion_ci(tn, tn + fn, level),
        "kappa": kappa.as_estimate() if kappa is not None else Estimate(None),
        "f1": 2 * tp / f1_denominator if f1_denominator else None,
    }


def mean_t_interval(values: Sequence[float] | npt.ArrayLike, level: float = 0.95) -> Estimate:
    """Mean with the Student t interval mean +- t_{1-alpha/2, n-1} * s / sqrt(n).

    Used to pool per-reader metrics (readers treated as a random sample). One value gives the
    mean without an interval; none gives Estimate(None).
    """
    check_level(level)
    array = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(array)):
        raise StatsInputError("values must be finite numbers")
    if array.size == 0:
        return Estimate(None)
    mean = float(array.mean())
    if array.size == 1:
        return Estimate(mean)
    half = float(stats.t.ppf(0.5 + level / 2, array.size - 1)) * float(
        array.std(ddof=1) / math.sqrt(array.size)
    )
    return Estimate(mean, mean - half, mean + half)
