from django.db.models import Prefetch
from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAuthenticated

from ovarian_web.roles import CLINICAL_DATA_ROLES, IMAGE_ROLES, JOB_ROLES, HasRole, Role

from . import selectors, serializers
from .demo import demo_data_job_create
from .models import Center, DemoDataJob, Image


class CenterViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Center.objects.all()
    serializer_class = serializers.CenterSerializer
    permission_classes = [IsAuthenticated, HasRole]
    allowed_roles = CLINICAL_DATA_ROLES


class ExamViewSet(viewsets.ReadOnlyModelViewSet):
    """Exams with report, pathology and lesion features: the clinical roles only."""

    serializer_class = serializers.ExamSerializer
    permission_classes = [IsAuthenticated, HasRole]
    allowed_roles = CLINICAL_DATA_ROLES

    def get_queryset(self):
        exams = selectors.exam_list(
            center=self.request.query_params.get("center", ""),
            outcome=self.request.query_params.get("outcome", ""),
        )
        return exams.prefetch_related(Prefetch("images", queryset=Image.objects.only("id", "exam")))


class ImageViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.ImageSerializer
    permission_classes = [IsAuthenticated, HasRole]
    allowed_roles = IMAGE_ROLES

    def get_queryset(self):
        return selectors.image_list(
            center=self.request.query_params.get("center", ""), first_frames=False
        )


class DemoDataJobViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Demo data jobs: coordinators and administrators follow them, administrators start them."""

    queryset = DemoDataJob.objects.order_by("-created_at")
    serializer_class = serializers.DemoDataJobSerializer
    permission_classes = [IsAuthenticated, HasRole]
    allowed_roles = JOB_ROLES
    action_roles = {"create": (Role.ADMINISTRATOR,)}

    def perform_create(self, serializer) -> None:
        serializer.instance = demo_data_job_create(
            patients=serializer.validated_data["patients"],
            seed=serializer.validated_data["seed"],
            user=self.request.user,
        )
