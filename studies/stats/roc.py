"""Empirical ROC analysis: AUC, DeLong (co)variance, ROC curve points.

Definitions
-----------
- Empirical AUC = Mann-Whitney statistic: A = (1/(m n)) sum_i sum_j psi(X_i, Y_j), with X the
  m diseased and Y the n non-diseased scores, psi = 1 if X > Y, 1/2 if X = Y, 0 otherwise.
  It equals the trapezoidal area under the empirical ROC curve.
- DeLong, DeLong & Clarke-Pearson (1988) structural components:
  V10_i = (1/n) sum_j psi(X_i, Y_j) and V01_j = (1/m) sum_i psi(X_i, Y_j); for score vectors
  r, s on the same cases, Cov(A_r, A_s) = S10_rs / m + S01_rs / n where S10, S01 are the
  sample covariances (divisor m - 1, n - 1) of the components.
  The components come from mid-ranks (Sun & Xu 2014): V10_i = (rank of X_i among all cases -
  rank of X_i among the diseased) / n, and likewise for V01; O(N log N) per score vector.
- AUC confidence interval: by default on the logit scale, logit(A) +- z SE / (A (1 - A)),
  which keeps it inside (0, 1) (Pepe 2003, sec. 4.3); "plain" gives A +- z SE clipped to
  [0, 1]. When A is 0 or 1 the logit is undefined and the plain interval is returned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from studies.stats.errors import StatsInputError
from studies.stats.estimate import Estimate, check_level
from studies.stats.proportions import _binary

FloatArray = npt.NDArray[np.float64]


def _scores(scores: npt.ArrayLike, n_cases: int) -> FloatArray:
    try:
        array = np.asarray(scores, dtype=float)
    except (TypeError, ValueError) as error:
        raise StatsInputError("scores must be numbers") from error
    if array.shape[-1:] != (n_cases,):
        raise StatsInputError(f"scores must have {n_cases} values per row, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise StatsInputError("scores must be finite numbers")
    return array


def _split(truth: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    diseased = _binary(truth, "truth") == 1
    if diseased.all() or not diseased.any():
        raise StatsInputError("an AUC needs both diseased (1) and non-diseased (0) cases")
    return diseased


@dataclass(frozen=True)
class StructuralComponents:
    """AUCs [K] and DeLong components V10 [K, m] (diseased) and V01 [K, n] (non-diseased)."""

    auc: FloatArray
    v10: FloatArray
    v01: FloatArray


def structural_components(truth: npt.ArrayLike, scores: npt.ArrayLike) -> StructuralComponents:
    """DeLong structural components of K score vectors ([K, cases] or [cases]) on one truth."""
    diseased = _split(truth)
    matrix = np.atleast_2d(_scores(scores, diseased.size))
    x, y = matrix[:, diseased], matrix[:, ~diseased]
    m, n = x.shape[1], y.shape[1]
    ranks_all = stats.rankdata(np.concatenate([x, y], axis=1), axis=1)
    v10 = (ranks_all[:, :m] - stats.rankdata(x, axis=1)) / n
    v01 = 1.0 - (ranks_all[:, m:] - stats.rankdata(y, axis=1)) / m
    return StructuralComponents(v10.mean(axis=1), v10, v01)


def auc(truth: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """Empirical (Mann-Whitney, ties 1/2) AUC of one score vector; higher = more diseased."""
    diseased = _split(truth)
    values = _scores(scores, diseased.size)
    if values.ndim != 1:
        raise StatsInputError("auc takes one score vector; use structural_components for many")
    m = int(diseased.sum())
    ranks = stats.rankdata(values)
    # Rank-sum form of Mann-Whitney U: U = R_diseased - m (m + 1) / 2.
    return float((ranks[diseased].sum() - m * (m + 1) / 2) / (m * (diseased.size - m)))


def delong_covariance(truth: npt.ArrayLike, scores: npt.ArrayLike) -> FloatArray:
    """DeLong covariance matrix [K, K] of the AUCs of K score vectors on the same cases."""
    components = structural_components(truth, scores)
    m, n = components.v10.shape[1], components.v01.shape[1]
    if m < 2 or n < 2:
        raise StatsInputError("DeLong covariance needs at least 2 diseased and 2 non-diseased")
    s10 = np.atleast_2d(np.cov(components.v10, ddof=1))
    s01 = np.atleast_2d(np.cov(components.v01, ddof=1))
    return s10 / m + s01 / n


def delong_variance(truth: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """DeLong variance of the empirical AUC of one score vector."""
    return float(delong_covariance(truth, np.asarray(scores, dtype=float)[None, :])[0, 0])


def auc_ci(
    truth: npt.ArrayLike, scores: npt.ArrayLike, level: float = 0.95, method: str = "logit"
) -> Estimate:
    """Empirical AUC with a DeLong-based Wald interval, "logit" (default) or "plain"."""
    check_level(level)
    if method not in ("logit", "plain"):
        raise StatsInputError(f'method must be "logit" or "plain", got {method!r}')
    area = auc(truth, scores)
    se = math.sqrt(delong_variance(truth, scores))
    z = float(stats.norm.ppf(0.5 + level / 2))
    if method == "logit" and 0.0 < area < 1.0:
        centre = math.log(area / (1 - area))
        half = z * se / (area * (1 - area))
        return Estimate(
            area, 1 / (1 + math.exp(-(centre - half))), 1 / (1 + math.exp(-(centre + half)))
        )
    return Estimate(area, max(0.0, area - z * se), min(1.0, area + z * se))


def roc_curve(
    truth: npt.ArrayLike, scores: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Empirical ROC points (fpr, tpr, thresholds), from (0, 0) to (1, 1).

    A case is called positive when its score >= threshold; thresholds run over the distinct
    scores in decreasing order, preceded by +inf (nothing positive). Joining the points with
    straight lines gives the curve whose area is `auc`.
    """
    diseased = _split(truth)
    values = _scores(scores, diseased.size)
    order = np.argsort(-values, kind="mergesort")
    sorted_scores, sorted_truth = values[order], diseased[order]
    # The last index of each run of equal scores: tied cases move together (a diagonal step).
    last = np.r_[np.flatnonzero(np.diff(sorted_scores)), sorted_scores.size - 1]
    tps = np.cumsum(sorted_truth)[last]
    fps = (last + 1) - tps
    tpr = np.r_[0.0, tps / diseased.sum()]
    fpr = np.r_[0.0, fps / (~diseased).sum()]
    thresholds = np.r_[np.inf, sorted_scores[last]]
    return fpr, tpr, thresholds
