"""The one API router."""

from django.urls import include, path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from annotation import api as annotation_api
from annotation.labelling import api as labelling_api
from base import api_tokens
from base.roles import ROLE_LABELS, Role, user_roles
from inference import report_urls, training_urls
from studies.reading import urls as reading_urls
from studies.results import urls as results_urls
from studies.results import views as results_views

router = DefaultRouter()
router.register("centers", annotation_api.CenterViewSet, basename="center")
router.register("exams", annotation_api.ExamViewSet, basename="exam")
router.register("images", annotation_api.ImageViewSet, basename="image")
router.register("jobs/demo-data", annotation_api.DemoDataJobViewSet, basename="demo-data-job")
router.register("imports", annotation_api.ImportJobViewSet, basename="import")


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.ChoiceField(choices=[r.value for r in Role]))
    role_labels = serializers.ListField(child=serializers.CharField())


@extend_schema(responses=MeSerializer)
@api_view(["GET"])
def me(request):
    """The signed-in user and their roles."""
    roles = sorted(user_roles(request.user))
    return Response(
        {
            "username": request.user.get_username(),
            "roles": [role.value for role in roles],
            "role_labels": [ROLE_LABELS[role] for role in roles],
        }
    )


urlpatterns = [
    path("me/", me, name="api-me"),
    path("auth/token/", api_tokens.token_create, name="api-token-create"),
    path("auth/token/revoke/", api_tokens.token_revoke, name="api-token-revoke"),
    path("labelling/sets/", labelling_api.labelling_sets, name="labelling-sets"),
    path(
        "reader-studies/<str:name>/results/",
        results_views.reader_study_results_api,
        name="reader-study-results",
    ),
    path(
        "annotation-sets/<int:set_id>/progress/",
        labelling_api.annotation_set_progress,
        name="annotation-set-progress",
    ),
    path(
        "annotation-sets/<int:set_id>/<str:what>/",
        labelling_api.annotation_set_export,
        name="annotation-set-export",
    ),
    path("labelling/sets/<int:set_id>/next/", labelling_api.labelling_next, name="labelling-next"),
    path(
        "labelling/sets/<int:set_id>/history/",
        labelling_api.labelling_history,
        name="labelling-history",
    ),
    path("labelling/labels/<int:pk>/", labelling_api.labelling_label, name="labelling-label"),
    path(
        "labelling/labels/<int:pk>/submit/", labelling_api.labelling_submit, name="labelling-submit"
    ),
    path(
        "labelling/images/<int:image_id>/flag/", labelling_api.labelling_flag, name="labelling-flag"
    ),
    *reading_urls.api_urlpatterns,
    *results_urls.api_urlpatterns,
    *training_urls.api_urlpatterns,
    *report_urls.api_urlpatterns,
    path("", include(router.urls)),
]
