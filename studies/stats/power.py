"""Power and sample size for a two-modality OR MRMC study (Hillis, Obuchowski & Berbaum 2011).

A pilot study gives the OR components Var, Cov1, Cov2, Cov3 (estimated on `pilot_cases`
cases) and the treatment-by-reader variance
    var_TR = MS(TR) - Var + Cov1 + max(Cov2 - Cov3, 0)       (`var_tr_from_ms`).
For a planned study with r readers and c cases the case-dependent components scale by
c* / c (c* = pilot cases). With C = max(Cov2 - Cov3, 0) and effect d (difference of the
reader-averaged AUCs), for the test of no modality effect at level alpha:
- RRRC: D = max(var_TR, 0) + c*/c (Var - Cov1 + (r - 1) C),
        ddf_H = D^2 / ((max(var_TR, 0) + c*/c (Var - Cov1 - C))^2 / (r - 1)),
        noncentrality lambda = r d^2 / 2 / D,
        power = P(F'(1, ddf_H; lambda) > F_{1-alpha}(1, ddf_H));
- FRRC: D = c*/c (Var - Cov1 + (r - 1) C), ddf = c - 1;
- RRFC: D = max(var_TR, 0) + c*/c (Var - Cov1 - C), ddf = r - 1.
These are the formulas of Hillis et al. (2011) as implemented in RJafroc's
SsPowerGivenJKOrVarComp (including ddf = c - 1 for FRRC, where our FRRC test itself is a
chi-square; the difference is negligible at useful sample sizes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from scipy import stats

from studies.stats.errors import StatsInputError
from studies.stats.mrmc import MrmcResult

ANALYSES = ("rrrc", "frrc", "rrfc")


@dataclass(frozen=True)
class PilotComponents:
    """OR variance components of a pilot study and the number of cases they came from."""

    var: float
    cov1: float
    cov2: float
    cov3: float
    var_tr: float
    cases: int

    @classmethod
    def from_result(cls, result: MrmcResult) -> PilotComponents:
        """From a pilot study's analysis (its Var, Cov1-3, MS(TR) and number of cases)."""
        var_tr = var_tr_from_ms(result.ms_tr, result.var, result.cov1, result.cov2, result.cov3)
        return cls(result.var, result.cov1, result.cov2, result.cov3, var_tr, result.cases)


def var_tr_from_ms(ms_tr: float, var: float, cov1: float, cov2: float, cov3: float) -> float:
    """OR treatment-by-reader variance estimate; may be negative (then treated as 0)."""
    return ms_tr - var + cov1 + max(cov2 - cov3, 0.0)


def or_power(
    *,
    effect: float,
    readers: int,
    cases: int,
    pilot: PilotComponents,
    alpha: float = 0.05,
    analysis: str = "rrrc",
) -> dict[str, float]:
    """Power of the two-modality OR test (module docs): power, ncp, df_denominator, f_critical."""
    if analysis not in ANALYSES:
        raise StatsInputError(f"analysis must be one of {ANALYSES}, got {analysis!r}")
    if readers < 2 or cases < 2 or pilot.cases < 2:
        raise StatsInputError("need at least 2 readers and 2 cases (planned and pilot)")
    if not 0.0 < alpha < 1.0:
        raise StatsInputError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    scale = pilot.cases / cases
    c_term = max(pilot.cov2 - pilot.cov3, 0.0)
    var_tr = max(pilot.var_tr, 0.0)
    if analysis == "rrrc":
        denominator = var_tr + scale * (pilot.var - pilot.cov1 + (readers - 1) * c_term)
        within = var_tr + scale * (pilot.var - pilot.cov1 - c_term)
        ddf = denominator**2 / (within**2 / (readers - 1)) if within > 0 else math.inf
    elif analysis == "frrc":
        denominator = scale * (pilot.var - pilot.cov1 + (readers - 1) * c_term)
        ddf = float(cases - 1)
    else:
        denominator = var_tr + scale * (pilot.var - pilot.cov1 - c_term)
        ddf = float(readers - 1)
    if denominator <= 0:
        raise StatsInputError("the pilot components give a non-positive error variance")
    ncp = readers * effect**2 / 2 / denominator
    if math.isinf(ddf):  # F(1, inf) is chi-square(1)
        critical = float(stats.chi2.isf(alpha, 1))
        power = float(stats.ncx2.sf(critical, 1, ncp)) if ncp > 0 else alpha
    else:
        critical = float(stats.f.isf(alpha, 1, ddf))
        # The noncentral F with lambda = 0 is the central F: power is alpha exactly.
        power = float(stats.ncf.sf(critical, 1, ddf, ncp)) if ncp > 0 else alpha
    return {"power": power, "ncp": ncp, "df_denominator": ddf, "f_critical": critical}


def power_table(
    *,
    effect: float,
    pilot: PilotComponents,
    readers: Iterable[int],
    cases: Iterable[int],
    alpha: float = 0.05,
    target_power: float = 0.8,
    analysis: str = "rrrc",
) -> list[dict[str, float | int | bool]]:
    """Power for every (readers, cases) of the grid, one row each, readers then cases."""
    case_list = list(cases)
    rows: list[dict[str, float | int | bool]] = []
    for r in readers:
        for c in case_list:
            result = or_power(
                effect=effect, readers=r, cases=c, pilot=pilot, alpha=alpha, analysis=analysis
            )
            rows.append(
                {
                    "readers": r,
                    "cases": c,
                    "power": result["power"],
                    "df_denominator": result["df_denominator"],
                    "reaches_target": result["power"] >= target_power,
                }
            )
    return rows


def sample_size_table(
    *,
    effect: float,
    pilot: PilotComponents,
    readers: Iterable[int],
    alpha: float = 0.05,
    target_power: float = 0.8,
    analysis: str = "rrrc",
    max_cases: int = 100_000,
) -> list[dict[str, float | int | None]]:
    """For each number of readers, the fewest cases whose power reaches `target_power`.

    `cases` and `power` are None when even `max_cases` cases fall short (with random readers,
    power is capped by the reader variability, whatever the number of cases). The search
    assumes power increases with the number of cases, as it does for these formulas.
    """
    rows: list[dict[str, float | int | None]] = []
    for r in readers:

        def power_at(c: int, r: int = r) -> float:
            return or_power(
                effect=effect, readers=r, cases=c, pilot=pilot, alpha=alpha, analysis=analysis
            )["power"]

        if power_at(max_cases) < target_power:
            rows.append({"readers": r, "cases": None, "power": None})
            continue
        low, high = 2, max_cases  # power(low) may already suffice; bisection keeps high valid
        if power_at(low) >= target_power:
            high = low
        while high - low > 1:
            middle = (low + high) // 2
            if power_at(middle) >= target_power:
                high = middle
            else:
                low = middle
        rows.append({"readers": r, "cases": high, "power": power_at(high)})
    return rows
