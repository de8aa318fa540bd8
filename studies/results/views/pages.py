"""The HTML pages: imported studies, a study's results and the planning page."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from base.roles import COORDINATION
from studies.models import ImportedReaderStudy
from studies.reading.progress import study_revisions
from studies.results import COVARIANCES, DECISION_METRICS, ReaderStudyResultsError, source_results
from studies.results.planning import READERS, PlanningError, PlanningForm, pilot_from_form, plan
from studies.results.sources import ResultSource
from studies.results.views.common import (
    DOWNLOADS,
    _designed_source,
    _imported_source,
    _options,
)
from studies.results.views.tables import COLUMNS, _mrmc, _subgroup_table, _table


@COORDINATION.required
def imported_list(request: HttpRequest) -> HttpResponse:
    studies = ImportedReaderStudy.objects.annotate(
        reading_count=Count("readings"),
        reader_count=Count("readings__reader", distinct=True),
        case_count=Count("readings__case", distinct=True),
        modality_count=Count("readings__modality", distinct=True),
    ).order_by("name")
    return render(request, "studies/imported_list.html", {"studies": studies})


def _results_page(
    request: HttpRequest,
    *,
    source: ResultSource,
    download_name: str,
    pk: int,
    back: tuple[str, str],
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    covariance, complete_only = _options(request.GET)
    query = urlencode(
        {"covariance": covariance, **({"complete_only": "1"} if complete_only else {})}
    )
    downloads = {
        what: f"{reverse(download_name, kwargs={'pk': pk, 'what': what})}?{query}"
        for what in DOWNLOADS
    }
    context: dict[str, Any] = {
        "source": source,
        "covariance": covariance,
        "covariances": COVARIANCES,
        "complete_only": complete_only,
        "downloads": downloads,
        "back": back,
        **(extra or {}),
    }
    try:
        document = source_results(source, covariance=covariance, complete_only=complete_only)
    except ReaderStudyResultsError as error:
        context["error"] = str(error)
        context["incomplete"] = "design is incomplete" in str(error) and not complete_only
        return render(request, "studies/results.html", context)
    has_decisions = document["study"]["has_decisions"]
    columns = COLUMNS if has_decisions else (COLUMNS[0],)
    context.update(
        {
            "document": document,
            "study": document["study"],
            "columns": [label for _, label in columns],
            "groups": _table(document, columns),
            "subgroups": _subgroup_table(document, columns),
            "mrmc": _mrmc(document),
            "decision_metrics": DECISION_METRICS,
            "plot_data": {
                "study": document["study"],
                "roc": document["roc"],
            },
        }
    )
    return render(request, "studies/results.html", context)


@COORDINATION.required
def imported_results(request: HttpRequest, pk: int) -> HttpResponse:
    _, source = _imported_source(pk)
    return _results_page(
        request,
        source=source,
        download_name="studies:imported_results_download",
        pk=pk,
        back=(reverse("studies:imported_list"), "Imported reader studies"),
    )


@COORDINATION.required
def designed_results(request: HttpRequest, pk: int) -> HttpResponse:
    study, source = _designed_source(pk)
    try:  # the design area's page of the study
        back = (reverse("studies:study_detail", kwargs={"pk": pk}), study.name)
    except NoReverseMatch:
        back = ("", "")
    revisions_url = reverse(
        "studies:designed_results_download", kwargs={"pk": pk, "what": "revisions"}
    )
    return _results_page(
        request,
        source=source,
        download_name="studies:designed_results_download",
        pk=pk,
        back=back,
        extra={"revisions": study_revisions(study), "revisions_url": revisions_url},
    )


@COORDINATION.required
def planning(request: HttpRequest) -> HttpResponse:
    """Readers and cases for a given power, from a pilot study (a GET form: bookmarkable)."""
    form = PlanningForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "readers": READERS}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            pilot = pilot_from_form(data)
            context["pilot"] = pilot
            context["plan"] = plan(
                pilot=pilot,
                effect=data.get("effect"),
                cases=data["cases"],
                power=data["power"],
                alpha=data["alpha"],
                analysis=data["analysis"],
            )
        except PlanningError as error:
            form.add_error(None, str(error))
    return render(request, "studies/planning.html", context)
