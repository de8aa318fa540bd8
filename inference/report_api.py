"""Exam results over the API: ask for scores, read results with per-image probabilities and
signed heatmap addresses. For clinicians, coordinators and administrators; never for
radiologists, who read exams without the AI; and, for a user who also reads in a reader study,
never the exams they read without AI there (`selectors.ai_release`)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Exam
from base.api_responses import DetailSerializer
from base.query_params import IdField, query_params
from base.roles import RESOURCE_REFUSAL, RESULTS
from inference import reports, selectors
from inference.inference_jobs import NoModelInService
from inference.models import Ensemble, ExamResult, InferenceJob, ResultStatus


class EnsembleSerializer(serializers.ModelSerializer):
    resnet = serializers.CharField(source="resnet.label")
    darknet = serializers.CharField(source="darknet.label")

    class Meta:
        model = Ensemble
        fields = [
            "id",
            "resnet",
            "darknet",
            "weight_resnet",
            "weight_darknet",
            "threshold",
            "threshold_rule",
            "sensitivity",
            "specificity",
            "in_service",
            "retired",
        ]


class ImageScoreSerializer(serializers.Serializer):
    image_id = serializers.IntegerField()
    probability = serializers.FloatField(help_text="The ensemble's weighted mean probability.")
    resnet_probability = serializers.FloatField(required=False)
    darknet_probability = serializers.FloatField(required=False)
    share = serializers.FloatField(help_text="This image's part of Θ (the parts add up to 1).")
    heatmap_url = serializers.CharField(
        help_text="Signed address of the ResNet CAM (RGBA PNG to lay over the image); "
        "valid for 12 hours. Empty when there is none."
    )
    darknet_heatmap_url = serializers.CharField(required=False)


class LeftOutSerializer(serializers.Serializer):
    image_id = serializers.IntegerField()
    reason = serializers.CharField()
    reason_label = serializers.CharField()


class ExamResultSerializer(serializers.ModelSerializer):
    exam_id = serializers.IntegerField()
    exam_date = serializers.DateField(source="exam.exam_date")
    center = serializers.CharField(source="exam.center.code")
    patient = serializers.CharField(source="exam.patient.short_pseudonym")
    status = serializers.CharField(help_text="scored or not_scorable (see `reason`).")
    ensemble = EnsembleSerializer()
    threshold = serializers.FloatField(source="ensemble.threshold")
    decision = serializers.SerializerMethodField(
        help_text='"malignant" (Θ ≥ threshold), "benign", or "" when not scored.'
    )

    class Meta:
        model = ExamResult
        fields = [
            "id",
            "exam_id",
            "exam_date",
            "center",
            "patient",
            "status",
            "ensemble",
            "theta_resnet",
            "theta_darknet",
            "score",
            "threshold",
            "decision",
            "reason",
            "created_at",
        ]

    def get_decision(self, result: ExamResult) -> str:
        return reports.decision_of(result)


class ExamAIStatusSerializer(serializers.Serializer):
    exam_id = serializers.IntegerField()
    # Plain strings, not enums: a second "status" choice set would collide in the schema's
    # enum names with the jobs' one.
    status = serializers.CharField(
        help_text="arriving (images still coming), waiting (complete, not scored yet), "
        "scoring (a scoring job is at work), scored, not_scorable."
    )
    job_id = serializers.IntegerField(allow_null=True, help_text="The scoring job at work.")
    result = ExamResultSerializer(allow_null=True)
    images = ImageScoreSerializer(many=True, help_text="Scored images, largest share first.")
    left_out = LeftOutSerializer(many=True)
    notice = serializers.CharField()


class ScoringRequestSerializer(serializers.Serializer):
    exam_ids = serializers.ListField(child=IdField(), min_length=1, max_length=10000)


class ScoringAcceptedSerializer(serializers.Serializer):
    job_id = serializers.IntegerField()
    exam_ids = serializers.ListField(child=serializers.IntegerField())


class ScoringJobSerializer(serializers.ModelSerializer):
    ensemble_id = serializers.IntegerField()
    percent = serializers.IntegerField()

    class Meta:
        model = InferenceJob
        fields = [
            "id",
            "status",
            "ensemble_id",
            "exam_ids",
            "scope",
            "automatic",
            "progress_done",
            "progress_total",
            "percent",
            "message",
            "error",
            "created_at",
            "finished_at",
        ]


class EnsembleQuery(serializers.Serializer):
    ensemble = IdField(
        required=False,
        allow_null=True,
        help_text="Results of this ensemble instead of the one in service (never mixed).",
    )


class ResultListQuery(EnsembleQuery):
    center = serializers.SlugField(max_length=16, required=False, help_text="Centre code.")
    date_from = serializers.DateField(required=False, help_text="Exams on or after.")
    date_to = serializers.DateField(required=False, help_text="Exams on or before.")
    status = serializers.ChoiceField(choices=ResultStatus.values, required=False)


# The API's refusal keeps the wording its clients have always read.
RESULTS_API = RESULTS.worded(RESOURCE_REFUSAL)


class _ResultRoles:
    permission_classes = [IsAuthenticated, RESULTS_API.permission]


def _ensemble(request) -> Ensemble | None:
    ensemble_id = query_params(request, EnsembleQuery).get("ensemble")
    try:
        return reports.ensemble_for_report(ensemble_id)
    except Ensemble.DoesNotExist:
        raise serializers.ValidationError({"ensemble": "no such ensemble"}) from None


@extend_schema(
    parameters=[ResultListQuery],
    description="Stored results of one ensemble (by default the one in service), newest exams "
    "first. Per-image probabilities and heatmaps are in each exam's result.",
)
class ExamResultList(_ResultRoles, generics.ListAPIView):
    serializer_class = ExamResultSerializer

    def get_queryset(self):
        params = query_params(self.request, ResultListQuery)
        ensemble = _ensemble(self.request)
        if ensemble is None:
            return ExamResult.objects.none()
        results = ExamResult.objects.filter(ensemble=ensemble).select_related(
            "exam__patient", "exam__center", "ensemble__resnet", "ensemble__darknet"
        )
        if params.get("center"):
            results = results.filter(exam__center__code=params["center"])
        if params.get("date_from"):
            results = results.filter(exam__exam_date__gte=params["date_from"])
        if params.get("date_to"):
            results = results.filter(exam__exam_date__lte=params["date_to"])
        if params.get("status"):
            results = results.filter(status=params["status"])
        withheld = selectors.ai_withheld(self.request.user)
        return results.exclude(exam_id__in=list(withheld)).order_by("-exam__exam_date", "-exam_id")

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        rows = response.data.get("results", []) if isinstance(response.data, dict) else []
        selectors.ai_release(request.user, [row["exam_id"] for row in rows])
        return response


class ExamResultDetail(_ResultRoles, APIView):
    @extend_schema(
        parameters=[EnsembleQuery],
        responses={200: ExamAIStatusSerializer, 403: DetailSerializer},
        description="An exam's AI status and result: θ per model, Θ, the decision at the "
        "ensemble's threshold, each scored image's probabilities with a signed heatmap "
        "address, and the images left out with the reason. Without a result yet, `status` "
        "says why (arriving, scoring, waiting) and `result` is null. 403 with the reason for "
        "a user who reads the exam without AI in a reader study, until that reading is in.",
    )
    def get(self, request, exam_id: int):
        get_object_or_404(Exam, pk=exam_id)
        ensemble = _ensemble(request)
        try:
            report = reports.exam_report(
                exam_id=exam_id, ensemble_id=ensemble.pk if ensemble else None, user=request.user
            )
        except reports.AIWithheldError as error:
            return Response({"detail": str(error)}, status=status.HTTP_403_FORBIDDEN)
        images = []
        for entry in report.images:
            row = {k: v for k, v in entry.items() if k not in ("image", "hidden", "drove")}
            for key in ("heatmap_url", "darknet_heatmap_url", "resnet_heatmap_url"):
                if row.get(key):
                    row[key] = request.build_absolute_uri(row[key])
            images.append(row)
        data = {
            "exam_id": exam_id,
            "status": report.status,
            "job_id": report.job_id,
            "result": report.result,
            "images": images,
            "left_out": report.left_out,
            "notice": report.notice,
        }
        return Response(ExamAIStatusSerializer(data).data)


class ScoringSubmit(_ResultRoles, APIView):
    @extend_schema(
        request=ScoringRequestSerializer,
        responses={
            202: ScoringAcceptedSerializer,
            400: DetailSerializer,
            409: DetailSerializer,
        },
        description="Score one or more exams with the ensemble in service. Answers 202 with "
        "the scoring job (a job already at work on all of them is reused); 409 when no "
        "ensemble is in service.",
    )
    def post(self, request):
        serializer = ScoringRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        exam_ids = serializer.validated_data["exam_ids"]
        try:
            job = reports.score_request(
                exam_ids=exam_ids, user=request.user, scope=f"API: {len(set(exam_ids))} exams"
            )
        except reports.ScoreRequestError as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        except NoModelInService as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(
            {"job_id": job.pk, "exam_ids": job.exam_ids}, status=status.HTTP_202_ACCEPTED
        )


@extend_schema(description="A scoring job's progress; its results appear per exam once done.")
class ScoringJobDetail(_ResultRoles, generics.RetrieveAPIView):
    serializer_class = ScoringJobSerializer
    queryset = InferenceJob.objects.all()


exam_result_list = ExamResultList.as_view()
exam_result_detail = ExamResultDetail.as_view()
scoring_submit = ScoringSubmit.as_view()
scoring_job = ScoringJobDetail.as_view()
