"""Reader-study results over the API (coordinators and administrators only)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from base.query_params import query_params
from base.roles import Role, has_role
from studies.models import ImportedReaderStudy
from studies.results import COVARIANCES, ReaderStudyResultsError, reader_study_results


class IsStudyCoordinator(BasePermission):
    message = "Reader-study results are for study coordinators and administrators."

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, Role.COORDINATOR, Role.ADMINISTRATOR)


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
    responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
    description=(
        "The results document of an imported reader study (the same JSON as "
        "`manage.py reader_study_results NAME --json`): `readers`, `pooled` and `mrmc`."
    ),
)
@api_view(["GET"])
@permission_classes([IsStudyCoordinator])
def reader_study_results_api(request, name: str):
    options = query_params(request, ResultOptionsQuery)
    study = get_object_or_404(ImportedReaderStudy, name=name)
    try:
        document = reader_study_results(study, **options)
    except ReaderStudyResultsError as error:
        return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
    return Response(document)
