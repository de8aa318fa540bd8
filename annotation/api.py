from pathlib import Path

from django.conf import settings
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework import serializers as drf_serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from annotation import selectors, serializers
from annotation.demo import demo_data_job_create
from annotation.importing.jobs import (
    UploadError,
    import_job_create,
    import_job_receive,
    import_job_start,
)
from annotation.models import Center, DemoDataJob, Image, ImportJob, ImportSource, PathologyOutcome
from base.api_responses import DetailSerializer
from base.query_params import query_params
from base.roles import (
    ADMINISTRATION,
    CLINICAL_DATA,
    COORDINATION,
    RESOURCE_REFUSAL,
    SIGNED_IN,
)

# The API's refusal keeps the wording its clients have always read.
CLINICAL_DATA_API = CLINICAL_DATA.worded(RESOURCE_REFUSAL)
COORDINATION_API = COORDINATION.worded(RESOURCE_REFUSAL)


def _received_bytes(job: ImportJob) -> int:
    folder = Path(job.upload_dir)
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _upload_too_large(job: ImportJob, batch: dict) -> str:
    """Why this batch would pass IMPORT_MAX_FILE_BYTES or IMPORT_MAX_IMPORT_BYTES, or ''."""
    file_cap, import_cap = settings.IMPORT_MAX_FILE_BYTES, settings.IMPORT_MAX_IMPORT_BYTES
    for name, upload in zip(batch["names"], batch["files"], strict=True):
        if upload.size > file_cap:
            return f"{name} is {upload.size} bytes; the limit is {file_cap} bytes per file"
    total = _received_bytes(job) + sum(upload.size for upload in batch["files"])
    if total > import_cap:
        return (
            f"this import would hold {total} bytes; the limit is {import_cap} bytes per "
            "import: start another import for the rest"
        )
    return ""


def _import_source(request) -> str:
    """UPLOAD for the import page (a signed-in browser session), API for token clients."""
    if isinstance(request.successful_authenticator, SessionAuthentication):
        return ImportSource.UPLOAD
    return ImportSource.API


class CenterViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Center.objects.all()
    serializer_class = serializers.CenterSerializer
    permission_classes = [IsAuthenticated, CLINICAL_DATA_API.permission]


class CenterQuery(drf_serializers.Serializer):
    center = drf_serializers.SlugField(
        max_length=16, required=False, allow_blank=True, help_text="Centre code."
    )


class ExamQuery(CenterQuery):
    outcome = drf_serializers.ChoiceField(
        choices=["none", *PathologyOutcome.values],
        required=False,
        allow_blank=True,
        help_text="The pathology outcome; `none`: exams without pathology.",
    )


@extend_schema_view(list=extend_schema(parameters=[ExamQuery]))
class ExamViewSet(viewsets.ReadOnlyModelViewSet):
    """Exams with report, pathology and lesion features: the clinical roles only."""

    serializer_class = serializers.ExamSerializer
    permission_classes = [IsAuthenticated, CLINICAL_DATA_API.permission]

    def get_queryset(self):
        query = query_params(self.request, ExamQuery)
        exams = selectors.exam_list(
            center=query.get("center", ""), outcome=query.get("outcome", "")
        )
        return exams.prefetch_related(Prefetch("images", queryset=Image.objects.only("id", "exam")))


@extend_schema_view(list=extend_schema(parameters=[CenterQuery]))
class ImageViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.ImageSerializer
    permission_classes = [IsAuthenticated, SIGNED_IN.worded(RESOURCE_REFUSAL).permission]

    def get_queryset(self):
        return selectors.image_list(
            user=self.request.user,
            center=query_params(self.request, CenterQuery).get("center", ""),
            first_frames=False,
        )


class DemoDataJobViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Demo data jobs: coordinators and administrators follow them, administrators start them."""

    queryset = DemoDataJob.objects.order_by("-created_at")
    serializer_class = serializers.DemoDataJobSerializer
    permission_classes = [IsAuthenticated, COORDINATION_API.permission]

    def get_permissions(self):
        if self.action == "create":
            return [IsAuthenticated(), ADMINISTRATION.worded(RESOURCE_REFUSAL).permission()]
        return super().get_permissions()

    def perform_create(self, serializer) -> None:
        serializer.instance = demo_data_job_create(
            patients=serializer.validated_data["patients"],
            seed=serializer.validated_data["seed"],
            user=self.request.user,
        )


class ImportJobViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Image imports: create one, send its files (as many requests as you like), start it.

    The report lists imported and already-present images and each refused file with why.
    """

    queryset = ImportJob.objects.select_related("center").order_by("-created_at")
    serializer_class = serializers.ImportJobSerializer
    permission_classes = [IsAuthenticated, COORDINATION_API.permission]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def perform_create(self, serializer) -> None:
        serializer.instance = import_job_create(
            source=_import_source(self.request),
            center=serializer.validated_data.get("center"),
            receiving=True,
            user=self.request.user,
        )

    @extend_schema(
        request=serializers.ImportFilesSerializer,
        responses={
            201: serializers.ImportFilesReceivedSerializer,
            400: DetailSerializer,
            413: DetailSerializer,
        },
    )
    @action(detail=True, methods=["post"])
    def files(self, request, pk=None):
        job = self.get_object()
        incoming = serializers.ImportFilesSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        # Locked: two batches of one import at once must not both pass the import's cap.
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        too_large = _upload_too_large(job, incoming.validated_data)
        if too_large:  # nothing of the batch is kept: the client may resend it in parts
            return Response({"detail": too_large}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        try:
            for name, upload in zip(
                incoming.validated_data["names"], incoming.validated_data["files"], strict=True
            ):
                import_job_receive(job=job, name=name, chunks=upload.chunks())
        except UploadError as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {"received": len(incoming.validated_data["files"])}, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=None, responses={202: serializers.ImportJobSerializer, 409: DetailSerializer}
    )
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        job = self.get_object()
        try:
            import_job_start(job=job)
        except UploadError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)
