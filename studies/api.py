"""Reader-study results over the API (coordinators and administrators only)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from ovarian_web.roles import Role, has_role

from .models import ImportedReaderStudy
from .results import COVARIANCES, ReaderStudyResultsError, reader_study_results


class IsStudyCoordinator(BasePermission):
    message = "Reader-study results are for study coordinators and administrators."

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, Role.COORDINATOR, Role.ADMINISTRATOR)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "covariance",
            str,
            enum=list(COVARIANCES),
            description="AUC error covariance of the MRMC analysis (default jackknife)",
        ),
        OpenApiParameter(
            "complete_only",
            bool,
            description="analyse only the complete part of an incomplete design",
        ),
    ],
    responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
    description=(
        "The results document of an imported reader study (the same JSON as "
        "`manage.py reader_study_results NAME --json`): `readers`, `pooled` and `mrmc`."
    ),
)
@api_view(["GET"])
@permission_classes([IsStudyCoordinator])
def reader_study_results_api(request, name: str):
    study = get_object_or_404(ImportedReaderStudy, name=name)
    covariance = request.query_params.get("covariance", "jackknife")
    complete_only = request.query_params.get("complete_only", "").lower() in ("1", "true", "yes")
    try:
        document = reader_study_results(study, covariance=covariance, complete_only=complete_only)
    except ReaderStudyResultsError as error:
        return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
    return Response(document)
