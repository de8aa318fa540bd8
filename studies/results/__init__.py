"""The results document of a reader study: per reader, pooled, the AI alone, ROC and MRMC.

The statistics come from `studies.stats` (no formulas here). Two documents share one
computation (`docs/reader_study_results.md` describes both):

`reader_study_results(study)` — an imported study, the document of
`manage.py reader_study_results NAME --json` and of /api/reader-studies/<name>/results/:
- `readers`: one object per modality and reader with `reader`, `modality`, `auc`,
  `accuracy`, `sensitivity`, `specificity`, `ppv`, `npv` (each {estimate, ci_low, ci_high},
  exact Clopper-Pearson), `kappa`, `f1` (numbers) and `median_seconds`; the decision metrics
  are null when the file had no `decision` column, `median_seconds` without `seconds`.
- `pooled`: keyed by modality, the same metrics as the mean across readers with a Student t
  interval (readers as a random sample); a reader whose metric is undefined (for example PPV
  of a reader who never called a case positive) is left out of that metric's mean.
- `mrmc`: keyed by metric (`auc`; `sensitivity`, `specificity` with decisions), each the
  Obuchowski-Rockette analysis with Hillis df of `mrmc_from_long` (difference = other
  modality minus the reference).
- `excluded` (only with complete_only): the readers and cases left out to make the design
  complete.

`source_results(source)` — any study, from a `ResultSource` (imported or designed): the same
keys, with more in each reader row (`auc_ci`, `kappa_ci`, `counts`, `cases`), and `study`
(title, modalities, readers, case counts), `ai` (the AI alone on the same cases, or null),
`roc` (empirical ROC points and decision operating points per reader and modality, and the
AI's) and, only for a source with reader profiles (a designed study), `subgroups`: the
`pooled` metrics within each subgroup of readers by specialty and by experience band
(`studies.results.reader_groups`).
"""

from studies.results.cells import Cell, design_gaps, study_design_gaps
from studies.results.common import (
    COVARIANCES,
    DECISION_METRICS,
    LEVEL,
    MRMC_METRICS,
    SHOWN,
    ReaderStudyResultsError,
)
from studies.results.document import reader_study_results, source_results
from studies.results.downloads import (
    ESTIMATE_METRICS,
    LONG_COLUMNS,
    TABLE_COLUMNS,
    readings_csv,
    results_table,
    results_table_csv,
)
from studies.results.pooled import METRIC_RANGES

__all__ = [
    "COVARIANCES",
    "Cell",
    "DECISION_METRICS",
    "ESTIMATE_METRICS",
    "LEVEL",
    "LONG_COLUMNS",
    "METRIC_RANGES",
    "MRMC_METRICS",
    "SHOWN",
    "TABLE_COLUMNS",
    "ReaderStudyResultsError",
    "design_gaps",
    "reader_study_results",
    "readings_csv",
    "results_table",
    "results_table_csv",
    "source_results",
    "study_design_gaps",
]
