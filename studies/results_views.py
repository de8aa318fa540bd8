"""Reader-study results as pages, downloads and API endpoints; the planning page.

Coordinators and administrators only. Every page and download works from a `ResultSource`
(`studies.result_sources`), so imported and designed studies share them; the document is
`studies.results.source_results` (docs/reader_study_results.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes, renderer_classes
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from ovarian_web.roles import Role, role_required

from .api import IsStudyCoordinator
from .models import ImportedReaderStudy
from .planning import READERS, PlanningError, PlanningForm, pilot_from_form, plan
from .result_sources import ResultSource, imported_study_source
from .results import (
    COVARIANCES,
    DECISION_METRICS,
    ReaderStudyResultsError,
    readings_csv,
    results_table,
    results_table_csv,
    source_results,
)

COORDINATION = (Role.COORDINATOR, Role.ADMINISTRATOR)
DOWNLOADS = ("table", "document", "readings")
COLUMNS = (
    ("auc", "AUC"),
    ("accuracy", "Accuracy"),
    ("sensitivity", "Sensitivity"),
    ("specificity", "Specificity"),
    ("ppv", "PPV"),
    ("npv", "NPV"),
    ("kappa", "Cohen's κ"),
    ("f1", "F1"),
)
TESTS = (
    ("rrrc", "Random readers, random cases", "F"),
    ("frrc", "Fixed readers, random cases", "χ²"),
    ("rrfc", "Random readers, fixed cases", "F"),
)
METRIC_LABELS = {"auc": "AUC", "sensitivity": "Sensitivity", "specificity": "Specificity"}


# Options and the document ----------------------------------------------------------------


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
    from studies.designed import designed_study_source  # the design area's module

    return study, designed_study_source(study)


# Downloads --------------------------------------------------------------------------------


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
    @role_required(*COORDINATION)
    def view(request: HttpRequest, pk: int, what: str) -> HttpResponse:
        if what not in DOWNLOADS:
            raise Http404(f"one of {', '.join(DOWNLOADS)}")
        _, source = loader(pk)
        covariance, complete_only = _options(request.GET)
        try:
            return _download(source, what, covariance, complete_only)
        except ReaderStudyResultsError as error:
            return HttpResponse(str(error), status=400, content_type="text/plain")

    return view


imported_results_download = _download_view(_imported_source)
designed_results_download = _download_view(_designed_source)


# Pages ------------------------------------------------------------------------------------


@role_required(*COORDINATION)
def imported_list(request: HttpRequest) -> HttpResponse:
    studies = ImportedReaderStudy.objects.annotate(
        reading_count=Count("readings"),
        reader_count=Count("readings__reader", distinct=True),
        case_count=Count("readings__case", distinct=True),
        modality_count=Count("readings__modality", distinct=True),
    ).order_by("name")
    return render(request, "studies/imported_list.html", {"studies": studies})


def _cell(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {"estimate": value["estimate"], "low": value["ci_low"], "high": value["ci_high"]}
    return {"estimate": value, "low": None, "high": None}


def _table(document: dict[str, Any], columns: tuple[tuple[str, str], ...]) -> list[dict]:
    """Rows for the template, grouped: each modality's readers and pooled row, then the AI."""
    groups: dict[str, dict[str, Any]] = {
        modality: {"title": modality, "rows": []} for modality in document["study"]["modalities"]
    }
    ai_group = {"title": "AI alone", "rows": []}
    for row in results_table(document):
        cells = [
            _cell(
                {
                    "estimate": row.get(key),
                    "ci_low": row.get(f"{key}_ci_low"),
                    "ci_high": row.get(f"{key}_ci_high"),
                }
            )
            for key, _ in columns
        ]
        entry = {
            "kind": row["row"],
            "reader": row["reader"],
            "cells": cells,
            "median_seconds": row.get("median_seconds"),
            "counts": (
                f"TP {row['tp']} · FP {row['fp']} · TN {row['tn']} · FN {row['fn']}"
                if row.get("tp") is not None
                else ""
            ),
        }
        if row["row"] == "ai":
            ai_group["rows"].append(entry)
        elif row["row"] != "subgroup":  # their own table (_subgroup_table)
            groups[row["modality"]]["rows"].append(entry)
    return [*groups.values(), *([ai_group] if ai_group["rows"] else [])]


SUBGROUPINGS = {"specialty": "By specialty", "experience": "By years of experience"}


def _subgroup_table(document: dict[str, Any], columns: tuple[tuple[str, str], ...]) -> list[dict]:
    """Rows for the subgroup table: per grouping, per subgroup one row per modality."""
    order = document["study"]["modalities"]
    return [
        {
            "title": SUBGROUPINGS.get(grouping, grouping),
            "grouping": grouping,
            "subgroups": [
                {
                    "key": subgroup["key"],
                    "label": subgroup["label"],
                    "readers": subgroup["readers"],
                    "note": subgroup["note"],
                    "rows": [
                        {
                            "modality": modality,
                            "cells": [
                                _cell(subgroup["pooled"][modality][key]) for key, _ in columns
                            ],
                            "median_seconds": (
                                subgroup["pooled"][modality]["median_seconds"] or {}
                            ).get("estimate"),
                        }
                        for modality in order
                    ],
                }
                for subgroup in subgroups
            ],
        }
        for grouping, subgroups in document.get("subgroups", {}).items()
    ]


def _p_value(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"


def _number(value: float | None, decimals: int) -> str:
    """Fixed decimals for ordinary sizes; a degenerate design's huge F or df in short form."""
    if value is None:
        return "—"
    return f"{value:.{decimals}f}" if abs(value) < 1e5 else f"{value:.3g}"


def _mrmc(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The MRMC tables: per metric, each test (pairwise against the reference)."""
    order = document["study"]["modalities"]
    sections = []
    for metric, analysis in document["mrmc"].items():
        reference = analysis["reference"]
        comparisons = analysis.get("comparisons") or {
            next(m for m in order if m != reference): {name: analysis[name] for name, *_ in TESTS}
        }
        tests = []
        for modality, result in comparisons.items():
            for name, label, statistic in TESTS:
                test = result[name]
                df = str(test["df_numerator"])
                if test.get("df_denominator") is not None:
                    df += f", {_number(test['df_denominator'], 2)}"
                tests.append(
                    {
                        "modality": modality,
                        "name": name,
                        "label": label,
                        "difference": _number(test["difference"], 4),
                        "ci": (
                            f"{_number(test['ci_low'], 4)} to {_number(test['ci_high'], 4)}"
                            if test["ci_low"] is not None
                            else "—"
                        ),
                        "statistic": f"{statistic} = {_number(test['statistic'], 3)}",
                        "df": df,
                        "p": _p_value(test["p_value"]),
                    }
                )
        sections.append(
            {
                "metric": metric,
                "label": METRIC_LABELS.get(metric, metric),
                "covariance": analysis["covariance"],
                "reference": reference,
                "many": len(comparisons) > 1,
                "reader_means": [(m, analysis["reader_means"][m]) for m in order],
                "components": [
                    (name, f"{analysis[name]:.3g}")
                    for name in ("var", "cov1", "cov2", "cov3", "ms_tr")
                ],
                "tests": tests,
            }
        )
    return sections


def _results_page(
    request: HttpRequest,
    *,
    source: ResultSource,
    download_name: str,
    pk: int,
    back: tuple[str, str],
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


@role_required(*COORDINATION)
def imported_results(request: HttpRequest, pk: int) -> HttpResponse:
    _, source = _imported_source(pk)
    return _results_page(
        request,
        source=source,
        download_name="studies:imported_results_download",
        pk=pk,
        back=(reverse("studies:imported_list"), "Imported reader studies"),
    )


@role_required(*COORDINATION)
def designed_results(request: HttpRequest, pk: int) -> HttpResponse:
    study, source = _designed_source(pk)
    try:  # the design area's page of the study
        back = (reverse("studies:study_detail", kwargs={"pk": pk}), study.name)
    except NoReverseMatch:
        back = ("", "")
    return _results_page(
        request,
        source=source,
        download_name="studies:designed_results_download",
        pk=pk,
        back=back,
    )


@role_required(*COORDINATION)
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


# API ----------------------------------------------------------------------------------------


class CsvRenderer(BaseRenderer):
    """text/csv for clients that ask for it; the CSV views return finished responses."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict):  # an error: one line per key
            return "\n".join(f"{key},{value}" for key, value in data.items())
        return data


OPTIONS = [
    OpenApiParameter(
        "covariance",
        str,
        enum=list(COVARIANCES),
        description="AUC error covariance of the MRMC analysis (default jackknife)",
    ),
    OpenApiParameter(
        "complete_only", bool, description="analyse only the complete part of an incomplete design"
    ),
]
ERROR = inline_serializer("ResultsError", {"detail": serializers.CharField()})


@extend_schema(
    responses=inline_serializer(
        "ImportedReaderStudy",
        {
            "id": serializers.IntegerField(),
            "name": serializers.CharField(),
            "reference_modality": serializers.CharField(),
            "readings": serializers.IntegerField(),
            "created_at": serializers.DateTimeField(),
            "results": serializers.CharField(),
        },
        many=True,
    ),
    description="The imported reader studies, each with the address of its results document.",
)
@api_view(["GET"])
@permission_classes([IsStudyCoordinator])
def imported_study_list_api(request):
    studies = ImportedReaderStudy.objects.annotate(reading_count=Count("readings")).order_by("name")
    return Response(
        [
            {
                "id": study.pk,
                "name": study.name,
                "reference_modality": study.reference_modality,
                "readings": study.reading_count,
                "created_at": study.created_at,
                "results": reverse("imported-study-results", kwargs={"pk": study.pk}),
            }
            for study in studies
        ]
    )


def _api_document(loader, request, pk: int):
    _, source = loader(pk)
    covariance, complete_only = _options(request.query_params)
    try:
        return Response(source_results(source, covariance=covariance, complete_only=complete_only))
    except ReaderStudyResultsError as error:
        return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)


def _api_csv(loader, request, pk: int, what: str):
    _, source = loader(pk)
    covariance, complete_only = _options(request.query_params)
    try:
        return _download(source, what, covariance, complete_only)
    except ReaderStudyResultsError as error:
        return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)


def _document_schema(operation_id: str):
    return extend_schema(
        operation_id=operation_id,
        parameters=OPTIONS,
        responses={200: OpenApiTypes.OBJECT, 400: ERROR},
        description=(
            "The full results document (docs/reader_study_results.md): `study`, `readers` "
            "(with intervals and counts), `pooled`, `ai` (the AI alone, or null), `roc`, "
            "`mrmc` and, for a designed study only, `subgroups` (the pooled metrics per arm "
            "within each subgroup of readers by specialty and by years of experience)."
        ),
    )


def _table_schema(operation_id: str):
    return extend_schema(
        operation_id=operation_id,
        parameters=OPTIONS,
        responses={(200, "text/csv"): OpenApiTypes.STR, (400, "application/json"): ERROR},
        description=(
            "The per-reader table as CSV: one row per reader and modality, the pooled rows, "
            "for a designed study the subgroup rows, and the AI alone "
            "(docs/reader_study_results.md)."
        ),
    )


def _readings_schema(operation_id: str):
    return extend_schema(
        operation_id=operation_id,
        responses={(200, "text/csv"): OpenApiTypes.STR},
        description=(
            "The readings in the long format `reader_study_import` reads and iMRMC / RJafroc "
            "take: reader,case,modality,truth,rating[,decision][,seconds]."
        ),
    )


@_document_schema("imported_study_results")
@api_view(["GET"])
@permission_classes([IsStudyCoordinator])
def imported_study_results_api(request, pk: int):
    return _api_document(_imported_source, request, pk)


@_table_schema("imported_study_results_table")
@api_view(["GET"])
@permission_classes([IsStudyCoordinator])
@renderer_classes([JSONRenderer, CsvRenderer])
def imported_study_results_table_api(request, pk: int):
    return _api_csv(_imported_source, request, pk, "table")


@_readings_schema("imported_study_readings")
@api_view(["GET"])
@permission_classes([IsStudyCoordinator])
@renderer_classes([JSONRenderer, CsvRenderer])
def imported_study_readings_api(request, pk: int):
    return _api_csv(_imported_source, request, pk, "readings")


@_document_schema("designed_study_results")
@api_view(["GET"])
@permission_classes([IsStudyCoordinator])
def designed_study_results_api(request, pk: int):
    return _api_document(_designed_source, request, pk)


@_table_schema("designed_study_results_table")
@api_view(["GET"])
@permission_classes([IsStudyCoordinator])
@renderer_classes([JSONRenderer, CsvRenderer])
def designed_study_results_table_api(request, pk: int):
    return _api_csv(_designed_source, request, pk, "table")


@_readings_schema("designed_study_readings")
@api_view(["GET"])
@permission_classes([IsStudyCoordinator])
@renderer_classes([JSONRenderer, CsvRenderer])
def designed_study_readings_api(request, pk: int):
    return _api_csv(_designed_source, request, pk, "readings")
