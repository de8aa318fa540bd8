from rest_framework import serializers

from annotation.models import (
    CA125Measurement,
    Center,
    DemoDataJob,
    Exam,
    Image,
    ImportJob,
    LesionFeatures,
    PathologyResult,
)


class CenterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Center
        fields = ["id", "code", "name", "is_internal", "is_oncology_center"]


class ImageSerializer(serializers.ModelSerializer):
    """What any role may see of an image: pixels and acquisition facts, no clinical truth."""

    center = serializers.CharField(source="exam.center.code", read_only=True)
    file_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Image
        fields = [
            "id",
            "exam",
            "center",
            "source",
            "width",
            "height",
            "color_model",
            "dimension",
            "doppler",
            "frame_index",
            "frame_count",
            "pixel_spacing_mm",
            "sop_instance_uid",
            "sha256",
            "file_url",
            "thumbnail_url",
        ]

    def get_file_url(self, image: Image) -> str:
        return f"/images/{image.pk}/file"

    def get_thumbnail_url(self, image: Image) -> str:
        return f"/images/{image.pk}/thumbnail"


class PathologySerializer(serializers.ModelSerializer):
    class Meta:
        model = PathologyResult
        fields = ["outcome", "histological_type", "figo_stage", "grade", "operation_date"]


class FeaturesSerializer(serializers.ModelSerializer):
    class Meta:
        model = LesionFeatures
        exclude = ["id", "exam", "created_at", "updated_at"]


class CA125Serializer(serializers.ModelSerializer):
    class Meta:
        model = CA125Measurement
        fields = ["value_u_per_ml", "measured_on"]


class ExamSerializer(serializers.ModelSerializer):
    patient = serializers.CharField(source="patient.short_pseudonym", read_only=True)
    patient_id = serializers.IntegerField(source="patient.pk", read_only=True)
    center = serializers.CharField(source="center.code", read_only=True)
    age_at_exam = serializers.IntegerField(read_only=True)
    pathology = PathologySerializer(read_only=True, allow_null=True, default=None)
    features = FeaturesSerializer(read_only=True, allow_null=True, default=None)
    image_ids = serializers.PrimaryKeyRelatedField(source="images", many=True, read_only=True)

    class Meta:
        model = Exam
        fields = [
            "id",
            "patient",
            "patient_id",
            "center",
            "exam_date",
            "age_at_exam",
            "report_lesion_size_mm",
            "report_mass_type",
            "report_text",
            "pathology",
            "features",
            "image_ids",
        ]


class DemoDataJobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)
    patients = serializers.IntegerField(min_value=1, max_value=20000)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1)

    class Meta:
        model = DemoDataJob
        fields = [
            "id",
            "status",
            "patients",
            "seed",
            "progress_done",
            "progress_total",
            "percent",
            "message",
            "error",
            "result",
            "created_at",
            "finished_at",
        ]
        read_only_fields = [
            "status",
            "progress_done",
            "progress_total",
            "message",
            "error",
            "result",
            "created_at",
            "finished_at",
        ]


class ImportJobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)
    center = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Center.objects.all(),
        required=False,
        allow_null=True,
        help_text="Centre code for exams that do not exist yet.",
    )

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "source",
            "center",
            "receiving",
            "status",
            "progress_done",
            "progress_total",
            "percent",
            "message",
            "error",
            "report",
            "created_at",
            "finished_at",
        ]
        read_only_fields = [
            "source",
            "receiving",
            "status",
            "progress_done",
            "progress_total",
            "message",
            "error",
            "report",
            "created_at",
            "finished_at",
        ]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        # The refused files' paths (often patient IDs) for the uploader only.
        data["report"] = instance.report_for(getattr(request, "user", None))
        return data


class ImportFilesReceivedSerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="How many files of this batch were kept.")


class ImportFilesSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(), allow_empty=False)
    names = serializers.ListField(
        child=serializers.CharField(max_length=1000),
        required=False,
        help_text="Relative path of each file (a dropped folder keeps its layout).",
    )

    def validate(self, data):
        names = data.get("names") or [upload.name for upload in data["files"]]
        if len(names) != len(data["files"]):
            raise serializers.ValidationError("give one name per file, or none")
        data["names"] = names
        return data
