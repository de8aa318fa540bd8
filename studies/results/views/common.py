"""What the pages, downloads and API share: who may see them, the options, the sources."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404

from studies.models import ImportedReaderStudy
from studies.results import COVARIANCES
from studies.results.sources import ResultSource, imported_study_source

DOWNLOADS = ("table", "document", "readings")


def _options(query) -> tuple[str, bool]:
    covariance = query.get("covariance", "jackknife")
    if covariance not in COVARIANCES:
        covariance = "jackknife"
    complete_only = query.get("complete_only", "").lower() in ("1", "true", "yes", "on")
    return covariance, complete_only


def _imported_source(pk: int) -> tuple[ImportedReaderStudy, ResultSource]:
    study = get_object_or_404(ImportedReaderStudy, pk=pk)
    return study, imported_study_source(study)


def _designed_source(pk: int) -> tuple[Any, ResultSource]:
    from studies.models import ReaderStudy

    study = get_object_or_404(ReaderStudy, pk=pk)
    from studies.results.designed_reads import designed_study_source  # the design area's module

    return study, designed_study_source(study)
