"""The API endpoints: the imported studies, and each study's document, table and readings."""

from __future__ import annotations

import io

from django.db.models import Count
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes, renderer_classes
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from base.api_responses import DetailSerializer
from base.csv_cells import csv_writer
from base.query_params import query_params
from base.roles import COORDINATION
from studies.models import ImportedReaderStudy, ReaderStudy
from studies.reading.progress import study_revisions
from studies.results import (
    COVARIANCES,
    ReaderStudyResultsError,
    reader_study_results,
    source_results,
)
from studies.results.serializers import (
    ImportedReaderStudySerializer,
    ReaderStudyResultsSerializer,
    StudyResultsSerializer,
)
from studies.results.views.common import _designed_source, _imported_source
from studies.results.views.downloads import _download

# The refusal its clients read.
RESULTS_READING = COORDINATION.worded(
    "Reader-study results are for study coordinators and administrators."
)


class ResultOptionsQuery(serializers.Serializer):
    covariance = serializers.ChoiceField(
        choices=list(COVARIANCES),
        default="jackknife",
        help_text="AUC error covariance of the MRMC analysis (default jackknife)",
    )
    complete_only = serializers.BooleanField(
        default=False, help_text="analyse only the complete part of an incomplete design"
    )


@extend_schema(
    parameters=[ResultOptionsQuery],
    responses={200: ReaderStudyResultsSerializer, 400: DetailSerializer},
    description=(
        "The results document of an imported reader study (the same JSON as "
        "`manage.py reader_study_results NAME --json`): `readers`, `pooled` and `mrmc`."
    ),
)
@api_view(["GET"])
@permission_classes([RESULTS_READING.permission])
def reader_study_results_api(request, name: str):
    options = query_params(request, ResultOptionsQuery)
    study = get_object_or_404(ImportedReaderStudy, name=name)
    try:
        document = reader_study_results(study, **options)
    except ReaderStudyResultsError as error:
        return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
    return Response(document)


class CsvRenderer(BaseRenderer):
    """text/csv for clients that ask for it; the CSV views return finished responses."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict):  # an error: one line per key
            out = io.StringIO()
            csv_writer(out, lineterminator="\n").writerows(data.items())
            return out.getvalue()
        return data


OPTIONS = [ResultOptionsQuery]
ERROR = DetailSerializer


@extend_schema(
    responses=ImportedReaderStudySerializer(many=True),
    description="The imported reader studies, each with the address of its results document.",
)
@api_view(["GET"])
@permission_classes([RESULTS_READING.permission])
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
    options = query_params(request, ResultOptionsQuery)
    _, source = loader(pk)
    try:
        return Response(source_results(source, **options))
    except ReaderStudyResultsError as error:
        return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)


def _api_csv(loader, request, pk: int, what: str):
    options = query_params(request, ResultOptionsQuery)
    _, source = loader(pk)
    try:
        return _download(source, what, options["covariance"], options["complete_only"])
    except ReaderStudyResultsError as error:
        return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)


def _document_schema(operation_id: str):
    return extend_schema(
        operation_id=operation_id,
        parameters=OPTIONS,
        responses={200: StudyResultsSerializer, 400: ERROR},
        description=(
            "The full results document (docs/reader_study_results.md): `study`, `readers` "
            "(with intervals and counts), `pooled`, `ai` (the AI alone, or null), `roc`, "
            "`mrmc` and, for a designed study only, `subgroups` (the pooled metrics per arm "
            "within each subgroup of readers by specialty and by years of experience) and "
            "`revisions` (each answer changed by going back: reader, case, modality, "
            "`answered_at`, `revised_at`, `old` and `new` answers; the results count the new)."
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
@permission_classes([RESULTS_READING.permission])
def imported_study_results_api(request, pk: int):
    return _api_document(_imported_source, request, pk)


@_table_schema("imported_study_results_table")
@api_view(["GET"])
@permission_classes([RESULTS_READING.permission])
@renderer_classes([JSONRenderer, CsvRenderer])
def imported_study_results_table_api(request, pk: int):
    return _api_csv(_imported_source, request, pk, "table")


@_readings_schema("imported_study_readings")
@api_view(["GET"])
@permission_classes([RESULTS_READING.permission])
@renderer_classes([JSONRenderer, CsvRenderer])
def imported_study_readings_api(request, pk: int):
    return _api_csv(_imported_source, request, pk, "readings")


@_document_schema("designed_study_results")
@api_view(["GET"])
@permission_classes([RESULTS_READING.permission])
def designed_study_results_api(request, pk: int):
    response = _api_document(_designed_source, request, pk)
    if response.status_code == 200:
        response.data["revisions"] = study_revisions(get_object_or_404(ReaderStudy, pk=pk))
    return response


@_table_schema("designed_study_results_table")
@api_view(["GET"])
@permission_classes([RESULTS_READING.permission])
@renderer_classes([JSONRenderer, CsvRenderer])
def designed_study_results_table_api(request, pk: int):
    return _api_csv(_designed_source, request, pk, "table")


@_readings_schema("designed_study_readings")
@api_view(["GET"])
@permission_classes([RESULTS_READING.permission])
@renderer_classes([JSONRenderer, CsvRenderer])
def designed_study_readings_api(request, pk: int):
    return _api_csv(_designed_source, request, pk, "readings")
