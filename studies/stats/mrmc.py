"""Multi-reader multi-case (MRMC) analysis: Obuchowski-Rockette with Hillis (2007) df.

Design: every reader reads every case in every modality (full factorial). Input is the truth
per case and ratings [modality, reader, case].

Figures of merit (FOM) theta_ij, modality i = 1..t, reader j = 1..r:
- "auc": empirical AUC (Mann-Whitney, ties 1/2) of the ratings;
- "sensitivity" / "specificity": proportion of 1-decisions among diseased / of 0-decisions
  among non-diseased cases (ratings are then 0/1 decisions).

Covariance of the FOM estimates over cases (the OR error covariance):
- "jackknife" (default): Cov = (c-1)/c sum_k (theta_(k) - mean)(theta'_(k) - mean), leaving out
  each of the c cases in turn (diseased and non-diseased alike, as OR-DBM MRMC does). For AUC
  the leave-one-out values come in closed form from the DeLong components:
  A_(i) = (m A - V10_i)/(m - 1), A_(j) = (n A - V01_j)/(n - 1).
- "delong": DeLong et al. (1988) S10/m + S01/n. For sensitivity and specificity, the same
  U-statistic estimate of degree one, i.e. the sample covariance of the decisions / m (or n).

OR quantities: Var = mean of the variances; Cov1 = mean covariance, same reader, different
modality; Cov2 = different reader, same modality; Cov3 = different reader and modality.
MS(T) = r/(t-1) sum_i (theta_i. - theta_..)^2,
MS(TR) = 1/((t-1)(r-1)) sum_ij (theta_ij - theta_i. - theta_.j + theta_..)^2.

Tests (Hillis 2007; Hillis, Berbaum & Metz 2008), with C = max(Cov2 - Cov3, 0):
- RRRC: F = MS(T) / (MS(TR) + r C), df (t-1, ddf_H),
  ddf_H = (MS(TR) + r C)^2 / (MS(TR)^2 / ((t-1)(r-1))); CI: d +- t_{ddf_H} sqrt(2/r (MS(TR) + r C)).
- FRRC: X^2 = (t-1) MS(T) / (Var - Cov1 + (r-1) C), chi-square with t-1 df;
  CI: d +- z sqrt(2/r (Var - Cov1 + (r-1) C)).
- RRFC: F = MS(T) / MS(TR), df (t-1, (t-1)(r-1)); CI: d +- t_{(r-1)} sqrt(2/r MS(TR)).
The difference d is the reader-averaged FOM of the other modality minus the reference one.
With more than two modalities the tests above are the overall F / chi-square tests (no single
difference), and each other modality gets a pairwise comparison against the reference: the
same two-modality analysis on that pair's FOMs and covariance sub-matrix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import stats

from studies.stats.errors import StatsInputError
from studies.stats.estimate import check_level
from studies.stats.roc import structural_components

FloatArray = npt.NDArray[np.float64]
METRICS = ("auc", "sensitivity", "specificity")
COVARIANCES = ("jackknife", "delong")


def _number(value: float) -> float | None:
    """A JSON-able float: None for NaN or infinity (an undefined quantity)."""
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class OrTest:
    """One OR analysis: the test statistic, its df and p, and the difference with its CI."""

    statistic: float | None
    df_numerator: int
    df_denominator: float | None  # None for FRRC (chi-square) and where infinite/undefined
    p_value: float | None
    difference: float | None = None  # None with more than two modalities
    ci_low: float | None = None
    ci_high: float | None = None
    error_term: float | None = None  # the denominator mean square of the statistic
    distribution: str = "F"  # or "chi-square" (FRRC)

    def as_dict(self) -> dict[str, float | int | None]:
        result = {
            "difference": self.difference,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "statistic": self.statistic,
            "df_numerator": self.df_numerator,
            "df_denominator": self.df_denominator,
            "p_value": self.p_value,
            "error_term": self.error_term,
        }
        if self.distribution == "chi-square":
            del result["df_denominator"]
        return result


@dataclass(frozen=True)
class MrmcResult:
    """Obuchowski-Rockette analysis of one figure of merit (see module docs)."""

    metric: str
    covariance: str
    modalities: list[str]
    readers: list[str]
    reference: str
    figures_of_merit: FloatArray  # [modality, reader]
    cases: int
    diseased: int
    var: float
    cov1: float
    cov2: float
    cov3: float
    ms_t: float
    ms_tr: float
    rrrc: OrTest
    frrc: OrTest
    rrfc: OrTest
    comparisons: dict[str, dict[str, OrTest]] = field(default_factory=dict)

    @property
    def reader_means(self) -> dict[str, float]:
        means = self.figures_of_merit.mean(axis=1)
        return {name: float(v) for name, v in zip(self.modalities, means, strict=True)}

    def as_dict(self) -> dict[str, object]:
        result: dict[str, object] = {
            "metric": self.metric,
            "covariance": self.covariance,
            "reference": self.reference,
            "cases": self.cases,
            "diseased": self.diseased,
            "reader_means": self.reader_means,
            "per_reader": {
                modality: {
                    reader: float(self.figures_of_merit[i, j])
                    for j, reader in enumerate(self.readers)
                }
                for i, modality in enumerate(self.modalities)
            },
            "var": self.var,
            "cov1": self.cov1,
            "cov2": self.cov2,
            "cov3": self.cov3,
            "ms_t": self.ms_t,
            "ms_tr": self.ms_tr,
            "rrrc": self.rrrc.as_dict(),
            "frrc": self.frrc.as_dict(),
            "rrfc": self.rrfc.as_dict(),
        }
        if self.comparisons:
            result["comparisons"] = {
                modality: {name: test.as_dict() for name, test in tests.items()}
                for modality, tests in self.comparisons.items()
            }
        return result


def fom_covariance(
    truth: npt.ArrayLike, ratings: FloatArray, metric: str, covariance: str
) -> tuple[FloatArray, FloatArray]:
    """FOMs [K] and their covariance [K, K] for K = rows of `ratings` [K, cases]."""
    diseased = np.asarray(truth) == 1
    m, n = int(diseased.sum()), int((~diseased).sum())
    c = m + n
    if metric == "auc":
        components = structural_components(truth, ratings)
        fom, inner, outer = components.auc, components.v10, components.v01
    else:
        # A proportion is the mean of per-case indicators over one class; the other class
        # does not move it, so its leave-one-out values equal the full estimate.
        if metric == "sensitivity":
            inner = ratings[:, diseased]
        else:
            inner = 1.0 - ratings[:, ~diseased]
        fom, outer = inner.mean(axis=1), None
    if covariance == "delong":
        cov = np.atleast_2d(np.cov(inner, ddof=1)) / inner.shape[1]
        if outer is not None:
            cov = cov + np.atleast_2d(np.cov(outer, ddof=1)) / outer.shape[1]
        return fom, cov
    size = inner.shape[1]
    leave_out = [(size * fom[:, None] - inner) / (size - 1)]
    if outer is not None:
        leave_out.append((outer.shape[1] * fom[:, None] - outer) / (outer.shape[1] - 1))
    else:
        leave_out.append(np.repeat(fom[:, None], c - size, axis=1))
    pseudo = np.concatenate(leave_out, axis=1)
    deviation = pseudo - pseudo.mean(axis=1, keepdims=True)
    return fom, (c - 1) / c * (deviation @ deviation.T)


def or_components(fom: FloatArray, cov: FloatArray) -> tuple[float, ...]:
    """Var, Cov1, Cov2, Cov3, MS(T), MS(TR) from FOMs [t, r] and their covariance [tr, tr]."""
    t, r = fom.shape
    modality = np.repeat(np.arange(t), r)
    reader = np.tile(np.arange(r), t)
    same_m = modality[:, None] == modality[None, :]
    same_r = reader[:, None] == reader[None, :]
    var = float(np.mean(np.diag(cov)))
    cov1 = float(cov[~same_m & same_r].mean())
    cov2 = float(cov[same_m & ~same_r].mean())
    cov3 = float(cov[~same_m & ~same_r].mean())
    modality_means, reader_means, grand = fom.mean(axis=1), fom.mean(axis=0), fom.mean()
    ms_t = r * float(((modality_means - grand) ** 2).sum()) / (t - 1)
    residual = fom - modality_means[:, None] - reader_means[None, :] + grand
    ms_tr = float((residual**2).sum()) / ((t - 1) * (r - 1))
    return var, cov1, cov2, cov3, ms_t, ms_tr


def or_tests(
    fom: FloatArray, cov: FloatArray, level: float, difference: float | None
) -> tuple[OrTest, OrTest, OrTest, tuple[float, ...]]:
    """RRRC, FRRC and RRFC tests (module docs) and the OR components they use."""
    t, r = fom.shape
    var, cov1, cov2, cov3, ms_t, ms_tr = parts = or_components(fom, cov)
    df1 = t - 1
    c_term = max(cov2 - cov3, 0.0)
    tail = 0.5 + level / 2

    def interval(quantile: float, variance: float) -> tuple[float | None, float | None]:
        # A zero error variance gives no usable interval (and an undefined statistic).
        if difference is None or not variance > 0 or not math.isfinite(quantile):
            return None, None
        half_width = quantile * math.sqrt(2 / r * variance)
        return _number(difference - half_width), _number(difference + half_width)

    with np.errstate(divide="ignore", invalid="ignore"):
        # RRRC. MS(TR) = 0 makes ddf_H infinite: the F(df1, inf) limit is chi-square/df1.
        error = ms_tr + r * c_term
        ddf = error**2 / (ms_tr**2 / (df1 * (r - 1))) if ms_tr > 0 else math.inf
        f_rrrc = ms_t / error if error > 0 else math.nan
        if math.isinf(ddf):
            p_rrrc = stats.chi2.sf(df1 * f_rrrc, df1)
            quantile = stats.norm.ppf(tail)
        else:
            p_rrrc = stats.f.sf(f_rrrc, df1, ddf)
            quantile = stats.t.ppf(tail, ddf)
        rrrc = OrTest(
            _number(f_rrrc),
            df1,
            _number(ddf),
            _number(p_rrrc),
            difference,
            *interval(float(quantile), error),
            _number(error),
        )
        # FRRC
        error_fr = var - cov1 + (r - 1) * c_term
        chi = df1 * ms_t / error_fr if error_fr > 0 else math.nan
        frrc = OrTest(
            _number(chi),
            df1,
            None,
            _number(stats.chi2.sf(chi, df1)),
            difference,
            *interval(float(stats.norm.ppf(tail)), error_fr),
            _number(error_fr),
            "chi-square",
        )
        # RRFC
        ddf_rf = df1 * (r - 1)
        f_rrfc = ms_t / ms_tr if ms_tr > 0 else math.nan
        rrfc = OrTest(
            _number(f_rrfc),
            df1,
            float(ddf_rf),
            _number(stats.f.sf(f_rrfc, df1, ddf_rf)),
            difference,
            *interval(float(stats.t.ppf(tail, r - 1)), ms_tr),
            _number(ms_tr),
        )
    return rrrc, frrc, rrfc, parts


def _validate(
    truth: npt.ArrayLike, ratings: npt.ArrayLike, metric: str, covariance: str
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    if metric not in METRICS:
        raise StatsInputError(f"metric must be one of {METRICS}, got {metric!r}")
    if covariance not in COVARIANCES:
        raise StatsInputError(f"covariance must be one of {COVARIANCES}, got {covariance!r}")
    try:
        y = np.asarray(truth, dtype=float)
        x = np.asarray(ratings, dtype=float)
    except (TypeError, ValueError) as error:
        raise StatsInputError("truth and ratings must be numbers") from error
    if y.ndim != 1 or not np.isin(y, (0.0, 1.0)).all():
        raise StatsInputError("truth must be a one-dimensional array of 0 and 1")
    if x.ndim != 3 or x.shape[2] != y.size:
        raise StatsInputError(
            f"ratings must be [modality, reader, case] with {y.size} cases, got shape {x.shape}"
        )
    if not np.isfinite(x).all():
        raise StatsInputError("ratings must be finite numbers (a full factorial design)")
    t, r, _ = x.shape
    if t < 2 or r < 2:
        raise StatsInputError(f"need at least 2 modalities and 2 readers, got {t} and {r}")
    m = int(y.sum())
    if min(m, y.size - m) < 2:
        raise StatsInputError("need at least 2 diseased and 2 non-diseased cases")
    if metric != "auc" and not np.isin(x, (0.0, 1.0)).all():
        raise StatsInputError(f"{metric} needs 0/1 decisions as ratings")
    return y.astype(np.int64), x


def mrmc_analysis(
    truth: npt.ArrayLike,
    ratings: npt.ArrayLike,
    modalities: Sequence[str] | None = None,
    readers: Sequence[str] | None = None,
    *,
    metric: str = "auc",
    covariance: str = "jackknife",
    reference: str | None = None,
    level: float = 0.95,
) -> MrmcResult:
    """Obuchowski-Rockette MRMC analysis with Hillis df of ratings [modality, reader, case].

    `modalities` / `readers` name the first two axes (default "1", "2", ...); `reference` is
    the modality the others are compared against (default: the first).
    """
    check_level(level)
    y, x = _validate(truth, ratings, metric, covariance)
    t, r, c = x.shape
    modality_names = [str(name) for name in (modalities or range(1, t + 1))]
    reader_names = [str(name) for name in (readers or range(1, r + 1))]
    if len(modality_names) != t or len(reader_names) != r:
        raise StatsInputError(f"expected {t} modality and {r} reader names")
    reference = modality_names[0] if reference is None else str(reference)
    if reference not in modality_names:
        raise StatsInputError(f"reference {reference!r} is not one of {modality_names}")
    ref = modality_names.index(reference)
    fom_flat, cov = fom_covariance(y, x.reshape(t * r, c), metric, covariance)
    fom = fom_flat.reshape(t, r)
    means = fom.mean(axis=1)
    difference = float(means[1 - ref] - means[ref]) if t == 2 else None
    rrrc, frrc, rrfc, parts = or_tests(fom, cov, level, difference)
    comparisons: dict[str, dict[str, OrTest]] = {}
    if t > 2:
        for other in range(t):
            if other == ref:
                continue
            pair = np.array([ref, other])
            rows = (pair[:, None] * r + np.arange(r)[None, :]).ravel()
            tests = or_tests(
                fom[pair], cov[np.ix_(rows, rows)], level, float(means[other] - means[ref])
            )
            comparisons[modality_names[other]] = dict(
                zip(("rrrc", "frrc", "rrfc"), tests[:3], strict=True)
            )
    var, cov1, cov2, cov3, ms_t, ms_tr = parts
    return MrmcResult(
        metric,
        covariance,
        modality_names,
        reader_names,
        reference,
        fom,
        c,
        int(y.sum()),
        var,
        cov1,
        cov2,
        cov3,
        ms_t,
        ms_tr,
        rrrc,
        frrc,
        rrfc,
        comparisons,
    )
