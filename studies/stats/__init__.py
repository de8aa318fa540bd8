"""Django-free statistics for validation sets, agreement and reader studies.

Imports only the standard library, numpy and scipy, so every app may use it. Modules:
`proportions` (Clopper-Pearson, binary metrics, t-interval), `agreement` (Cohen, Fleiss,
Krippendorff), `roc` (AUC, DeLong, ROC curve), `mrmc` (Obuchowski-Rockette with Hillis df),
`power` (Hillis-Obuchowski power and sample size) and `long` (long-format MRMC entry point).
"""

from studies.stats.agreement import (
    FleissKappa,
    Kappa,
    category_counts,
    cohen_kappa,
    cohen_kappa_table,
    fleiss_kappa,
    krippendorff_alpha_nominal,
)
from studies.stats.errors import StatsInputError
from studies.stats.estimate import Estimate
from studies.stats.long import mrmc_from_long
from studies.stats.mrmc import MrmcResult, OrTest, mrmc_analysis
from studies.stats.power import (
    PilotComponents,
    or_power,
    power_table,
    sample_size_table,
    var_tr_from_ms,
)
from studies.stats.proportions import binary_metrics, mean_t_interval, proportion_ci
from studies.stats.roc import (
    StructuralComponents,
    auc,
    auc_ci,
    delong_covariance,
    delong_variance,
    roc_curve,
    structural_components,
)

__all__ = [
    "Estimate",
    "FleissKappa",
    "Kappa",
    "MrmcResult",
    "OrTest",
    "PilotComponents",
    "StatsInputError",
    "StructuralComponents",
    "auc",
    "auc_ci",
    "binary_metrics",
    "category_counts",
    "cohen_kappa",
    "cohen_kappa_table",
    "delong_covariance",
    "delong_variance",
    "fleiss_kappa",
    "krippendorff_alpha_nominal",
    "mean_t_interval",
    "mrmc_analysis",
    "mrmc_from_long",
    "or_power",
    "power_table",
    "proportion_ci",
    "roc_curve",
    "sample_size_table",
    "structural_components",
    "var_tr_from_ms",
]
