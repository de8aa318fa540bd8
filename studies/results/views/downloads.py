"""Downloads: the per-reader table, the results document and the readings, as files."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.text import slugify

from base.access_log import access_log_record
from base.models import AccessAction
from base.roles import COORDINATION
from studies.models import ReaderStudy
from studies.reading.progress import study_revisions
from studies.results import ReaderStudyResultsError, readings_csv, results_table_csv, source_results
from studies.results.revisions import revisions_csv
from studies.results.sources import ResultSource
from studies.results.views.common import (
    DOWNLOADS,
    _designed_source,
    _imported_source,
    _options,
)


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _download(source: ResultSource, what: str, covariance: str, complete_only: bool):
    """The file of one download, or a ReaderStudyResultsError for the results ones."""
    stem = slugify(source.title) or "reader-study"
    if what == "readings":
        response = HttpResponse(readings_csv(source.readings), content_type="text/csv")
        return _attachment(response, f"{stem}-readings.csv")
    document = source_results(source, covariance=covariance, complete_only=complete_only)
    if what == "table":
        response = HttpResponse(results_table_csv(document), content_type="text/csv")
        return _attachment(response, f"{stem}-results.csv")
    response = JsonResponse(document, json_dumps_params={"ensure_ascii": False})
    return _attachment(response, f"{stem}-results.json")


def _download_view(loader: Callable[[int], tuple[Any, ResultSource]]):
    @COORDINATION.required
    def view(request: HttpRequest, pk: int, what: str) -> HttpResponse:
        if what not in DOWNLOADS:
            raise Http404(f"one of {', '.join(DOWNLOADS)}")
        _, source = loader(pk)
        covariance, complete_only = _options(request.GET)
        try:
            response = _download(source, what, covariance, complete_only)
        except ReaderStudyResultsError as error:
            return HttpResponse(str(error), status=400, content_type="text/plain")
        access_log_record(
            request=request,
            action=AccessAction.EXPORT_DOWNLOADED,
            target=f"reader study {pk} {what}",
        )
        return response

    return view


imported_results_download = _download_view(_imported_source)
_designed_download = _download_view(_designed_source)


@COORDINATION.required
def designed_results_download(request: HttpRequest, pk: int, what: str) -> HttpResponse:
    """The downloads of any study, and for a designed one `revisions`: the answers changed
    by going back (CSV)."""
    if what != "revisions":
        return _designed_download(request, pk, what)
    study = get_object_or_404(ReaderStudy, pk=pk)
    response = HttpResponse(revisions_csv(study_revisions(study)), content_type="text/csv")
    return _attachment(response, f"{slugify(study.name) or 'reader-study'}-revisions.csv")
