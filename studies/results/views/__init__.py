"""Reader-study results as pages, downloads and API endpoints; the planning page.

Coordinators and administrators only. Every page and download works from a `ResultSource`
(`studies.results.sources`), so imported and designed studies share them; the document is
`studies.results.source_results` (docs/reader_study_results.md).
"""

from studies.results.views.api import (
    ERROR,
    OPTIONS,
    CsvRenderer,
    designed_study_readings_api,
    designed_study_results_api,
    designed_study_results_table_api,
    imported_study_list_api,
    imported_study_readings_api,
    imported_study_results_api,
    imported_study_results_table_api,
    reader_study_results_api,
)
from studies.results.views.common import DOWNLOADS
from studies.results.views.downloads import designed_results_download, imported_results_download
from studies.results.views.pages import designed_results, imported_list, imported_results, planning
from studies.results.views.tables import COLUMNS, METRIC_LABELS, SUBGROUPINGS, TESTS

__all__ = [
    "COLUMNS",
    "DOWNLOADS",
    "ERROR",
    "METRIC_LABELS",
    "OPTIONS",
    "SUBGROUPINGS",
    "TESTS",
    "CsvRenderer",
    "designed_results",
    "designed_results_download",
    "designed_study_readings_api",
    "designed_study_results_api",
    "designed_study_results_table_api",
    "imported_list",
    "imported_results",
    "imported_results_download",
    "imported_study_list_api",
    "imported_study_readings_api",
    "imported_study_results_api",
    "imported_study_results_table_api",
    "planning",
    "reader_study_results_api",
]
