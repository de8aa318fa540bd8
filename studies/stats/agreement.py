"""Agreement between raters over nominal categories.

- Cohen's (1960) kappa for two raters, kappa = (p_o - p_e) / (1 - p_e), with the
  large-sample (non-null) standard error of Fleiss, Cohen & Everitt (1969):
      Var = { sum_i p_ii [1 - (p_i. + p_.i)(1 - k)]^2
              + (1 - k)^2 sum_{i != j} p_ij (p_.i + p_j.)^2
              - [k - p_e (1 - k)]^2 } / (n (1 - p_e)^2)
  and the Wald interval kappa +- z * SE (not clipped; kappa lies in [-1, 1]).
- Fleiss' (1971) kappa for many raters. With n_i ratings of item i, n_ij of them in
  category j: P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1)), P_bar = mean_i P_i,
  p_j = sum_i n_ij / sum_i n_i, P_e = sum_j p_j^2, kappa = (P_bar - P_e) / (1 - P_e).
  A varying number of raters per item is allowed through this generalisation (each item's
  P_i is its own pairwise agreement; p_j pools all ratings); items with fewer than two ratings
  carry no agreement information and are dropped. The null standard error of Fleiss, Nee &
  Landis (1979) is given only when every item has the same number of raters.
- Krippendorff's alpha, nominal metric (Krippendorff 2011, "Computing Krippendorff's
  alpha-reliability"): from the coincidence matrix o_ck = sum_u (pairs c-k in unit u)/(m_u - 1)
  over units with m_u >= 2 pairable values, alpha = 1 - (n - 1) sum_{c!=k} o_ck /
  sum_{c!=k} n_c n_k. Missing ratings (None or NaN) are simply absent from their unit.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from studies.stats.errors import StatsInputError
from studies.stats.estimate import Estimate, check_level


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa with its Fleiss-Cohen-Everitt standard error and Wald interval."""

    kappa: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    observed_agreement: float
    expected_agreement: float
    n: int

    def as_estimate(self) -> Estimate:
        return Estimate(self.kappa, self.ci_low, self.ci_high)

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "kappa": self.kappa,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "observed_agreement": self.observed_agreement,
            "expected_agreement": self.expected_agreement,
            "n": self.n,
        }


def cohen_kappa_table(table: npt.ArrayLike, level: float = 0.95) -> Kappa:
    """Cohen's kappa from a square table of counts (rows: rater A, columns: rater B).

    kappa is None when p_e = 1 (both raters used one and the same category throughout):
    chance agreement is then perfect and kappa is 0/0.
    """
    check_level(level)
    counts = np.asarray(table, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise StatsInputError(f"the kappa table must be square, got shape {counts.shape}")
    if (counts < 0).any():
        raise StatsInputError("the kappa table must hold non-negative counts")
    n = float(counts.sum())
    if n == 0:
        raise StatsInputError("the kappa table is empty")
    p = counts / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    p_o = float(np.trace(p))
    p_e = float(rows @ cols)
    if math.isclose(p_e, 1.0):
        return Kappa(None, None, None, None, p_o, p_e, int(n))
    kappa = (p_o - p_e) / (1 - p_e)
    # Fleiss, Cohen & Everitt (1969); weight (p_.i + p_j.) for cell (i, j).
    weight = cols[:, None] + rows[None, :]
    diagonal = np.diag(p) * (1 - (rows + cols) * (1 - kappa)) ** 2
    off = p * weight**2
    np.fill_diagonal(off, 0.0)
    variance = (
        diagonal.sum() + (1 - kappa) ** 2 * off.sum() - (kappa - p_e * (1 - kappa)) ** 2
    ) / (n * (1 - p_e) ** 2)
    se = math.sqrt(max(float(variance), 0.0))  # rounding can push an exact 0 below zero
    z = float(stats.norm.ppf(0.5 + level / 2))
    return Kappa(kappa, se, kappa - z * se, kappa + z * se, p_o, p_e, int(n))


def cohen_kappa(
    rater_a: Sequence[Hashable],
    rater_b: Sequence[Hashable],
    categories: Sequence[Hashable] | None = None,
    level: float = 0.95,
) -> Kappa:
    """Cohen's kappa of two raters' labels of the same items (paired by position)."""
    if len(rater_a) != len(rater_b):
        raise StatsInputError(f"rater A gave {len(rater_a)} labels, rater B {len(rater_b)}")
    if not rater_a:
        raise StatsInputError("no items to compare")
    if categories is None:
        categories = sorted(set(rater_a) | set(rater_b), key=str)
    index = {category: i for i, category in enumerate(categories)}
    unknown = [label for label in (*rater_a, *rater_b) if label not in index]
    if unknown:
        raise StatsInputError(f"labels outside the categories: {unknown[:3]}")
    table = np.zeros((len(categories), len(categories)))
    np.add.at(table, ([index[a] for a in rater_a], [index[b] for b in rater_b]), 1)
    return cohen_kappa_table(table, level)


@dataclass(frozen=True)
class FleissKappa:
    """Fleiss' kappa; `se_null` (and `z`, `p_value`) only with a constant number of raters."""

    kappa: float | None
    observed_agreement: float
    expected_agreement: float
    items: int
    se_null: float | None
    z: float | None
    p_value: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return dict(self.__dict__)


def fleiss_kappa(counts: npt.ArrayLike) -> FleissKappa:
    """Fleiss' kappa from an [items, categories] array of rating counts (see module docs)."""
    table = np.asarray(counts, dtype=float)
    if table.ndim != 2:
        raise StatsInputError(f"counts must be [items, categories], got shape {table.shape}")
    if (table < 0).any() or not np.allclose(table, np.round(table)):
        raise StatsInputError("counts must be non-negative integers")
    raters = table.sum(axis=1)
    table, raters = table[raters >= 2], raters[raters >= 2]
    if table.shape[0] == 0:
        raise StatsInputError("no item has two or more ratings")
    agreement = ((table**2).sum(axis=1) - raters) / (raters * (raters - 1))
    p_bar = float(agreement.mean())
    p_j = table.sum(axis=0) / raters.sum()
    p_e = float((p_j**2).sum())
    if math.isclose(p_e, 1.0):
        return FleissKappa(None, p_bar, p_e, table.shape[0], None, None, None)
    kappa = (p_bar - p_e) / (1 - p_e)
    se = z = p_value = None
    if np.all(raters == raters[0]):
        # Fleiss, Nee & Landis (1979): standard error under kappa = 0.
        m, items = float(raters[0]), table.shape[0]
        pq = p_j * (1 - p_j)
        spq = float(pq.sum())
        se = (
            math.sqrt(2 / (items * m * (m - 1)))
            * math.sqrt(spq**2 - float((pq * (1 - 2 * p_j)).sum()))
            / spq
        )
        z = kappa / se
        p_value = float(2 * stats.norm.sf(abs(z)))
    return FleissKappa(kappa, p_bar, p_e, table.shape[0], se, z, p_value)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def category_counts(
    ratings: Sequence[Sequence[Hashable | None]],
) -> tuple[npt.NDArray[np.float64], list[Hashable]]:
    """[items, categories] counts from per-item lists of labels (None/NaN = not rated)."""
    categories = sorted({r for item in ratings for r in item if not _missing(r)}, key=str)
    index = {category: i for i, category in enumerate(categories)}
    counts = np.zeros((len(ratings), len(categories)))
    for row, item in enumerate(ratings):
        for label in item:
            if not _missing(label):
                counts[row, index[label]] += 1
    return counts, categories


def krippendorff_alpha_nominal(
    reliability_data: Sequence[Sequence[Hashable | None]],
) -> float | None:
    """Krippendorff's alpha (nominal) from a [raters][units] table; None/NaN = missing.

    Returns None when alpha is undefined: fewer than two pairable values, or all pairable
    values in one category (no expected disagreement).
    """
    lengths = {len(row) for row in reliability_data}
    if len(lengths) > 1:
        raise StatsInputError(f"every rater row must cover the same units, got lengths {lengths}")
    units = list(zip(*reliability_data, strict=True))
    counts, _ = category_counts(units)
    m_u = counts.sum(axis=1)
    counts, m_u = counts[m_u >= 2], m_u[m_u >= 2]  # a lone value has no one to agree with
    if counts.size == 0:
        return None
    disagreeing = float(((m_u**2 - (counts**2).sum(axis=1)) / (m_u - 1)).sum())
    n_c = counts.sum(axis=0)
    n = float(n_c.sum())
    expected = n**2 - float((n_c**2).sum())
    if expected == 0:
        return None
    return 1.0 - (n - 1) * disagreeing / expected
