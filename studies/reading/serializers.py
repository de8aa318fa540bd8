"""The shapes of the reading API's requests and responses, for the OpenAPI document.

The views build their bodies as plain dicts (studies.reading.cases, .progress); these
serializers describe them. A case's images are labelling's image payload.
"""

from rest_framework import serializers

from annotation.labelling.serializers import LabellingImagePayloadSerializer
from base.reading_flow import MAX_ACTIVE_DELTA
from studies.reading.flow import MAX_COMMENT


class AnswersSerializer(serializers.Serializer):
    malignant = serializers.BooleanField(required=False, allow_null=True)
    confidence = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=100
    )
    orads = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=5)
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_COMMENT, trim_whitespace=False
    )
    active_seconds_delta = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=MAX_ACTIVE_DELTA,
        help_text="Focused seconds since last report",
    )


class ReadingSerializer(serializers.Serializer):
    """The reader's own answers; the times are the server's."""

    id = serializers.IntegerField()
    position = serializers.IntegerField()
    practice = serializers.BooleanField()
    shown_at = serializers.DateTimeField(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    malignant = serializers.BooleanField(allow_null=True)
    confidence = serializers.IntegerField(allow_null=True)
    orads = serializers.IntegerField(allow_null=True)
    comment = serializers.CharField(allow_blank=True)


class SessionProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    practice_total = serializers.IntegerField()
    practice_done = serializers.IntegerField()


class CA125Serializer(serializers.Serializer):
    value_u_per_ml = serializers.FloatField()
    measured_on = serializers.DateField()


class ExamReportSerializer(serializers.Serializer):
    lesion_size_mm = serializers.FloatField(allow_null=True)
    mass_type = serializers.CharField(allow_blank=True)
    text = serializers.CharField(allow_blank=True)


class ClinicalSerializer(serializers.Serializer):
    """Only the clinical data the session's arm shows: the other keys are absent."""

    age = serializers.IntegerField(required=False, allow_null=True)
    ca125 = CA125Serializer(required=False, allow_null=True)
    report = ExamReportSerializer(required=False)


class AIModelSerializer(serializers.Serializer):
    name = serializers.CharField()
    theta = serializers.FloatField(allow_null=True)


class AIImageSerializer(serializers.Serializer):
    image_id = serializers.IntegerField()
    probability = serializers.FloatField(allow_null=True)
    heatmap_url = serializers.CharField(allow_blank=True)


class AIOutputSerializer(serializers.Serializer):
    """Status `withheld` carries only the `reason`."""

    status = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    theta = serializers.FloatField(required=False, allow_null=True)
    decision = serializers.CharField(required=False, allow_null=True)
    threshold = serializers.FloatField(required=False, allow_null=True)
    sensitivity = serializers.FloatField(required=False, allow_null=True)
    specificity = serializers.FloatField(required=False, allow_null=True)
    models = AIModelSerializer(many=True, required=False)
    images = AIImageSerializer(many=True, required=False)


class CaseSerializer(serializers.Serializer):
    images = LabellingImagePayloadSerializer(allow_null=True)
    clinical = ClinicalSerializer()
    ai = AIOutputSerializer(
        required=False, allow_null=True, help_text="with AI only: absent in the other arm"
    )


class CasePayloadSerializer(serializers.Serializer):
    reading = ReadingSerializer()
    case = CaseSerializer()
    progress = SessionProgressSerializer()
    upcoming = serializers.ListField(
        child=serializers.CharField(), help_text="the next case's frames, to preload"
    )


class AutosavedSerializer(serializers.Serializer):
    reading = ReadingSerializer()


class SubmittedSerializer(serializers.Serializer):
    reading = ReadingSerializer()
    changed = serializers.BooleanField(help_text="false for a repeated submit")
    progress = SessionProgressSerializer()
    next = CasePayloadSerializer(allow_null=True, help_text="null when the session is done")


class RefusedSerializer(serializers.Serializer):
    detail = serializers.JSONField(help_text="why; for a malformed answer, the errors per field")
    missing = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="the unanswered questions"
    )


class SessionRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    study = serializers.CharField()
    arm = serializers.CharField()
    period = serializers.IntegerField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    available = serializers.BooleanField()
    finished = serializers.BooleanField()
    waiting = serializers.CharField(allow_null=True, help_text="why it cannot be read now")
    available_from = serializers.DateTimeField(allow_null=True)


class PeriodProgressSerializer(serializers.Serializer):
    period = serializers.IntegerField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    finished = serializers.BooleanField()
    available_from = serializers.DateTimeField(allow_null=True)


class ReaderArmProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    practice_done = serializers.IntegerField()
    practice_total = serializers.IntegerField()
    median_seconds = serializers.FloatField(allow_null=True)
    last_answered_at = serializers.DateTimeField(allow_null=True)
    sessions = PeriodProgressSerializer(many=True)


class ReaderArmsSerializer(serializers.Serializer):
    """Per arm the reader reads in (absent where they have no session)."""

    without_ai = ReaderArmProgressSerializer(required=False)
    with_ai = ReaderArmProgressSerializer(required=False)


class StudyReaderProgressSerializer(serializers.Serializer):
    reader_id = serializers.IntegerField()
    reader = serializers.CharField()
    arms = ReaderArmsSerializer()


class ArmTotalSerializer(serializers.Serializer):
    label = serializers.CharField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    median_seconds = serializers.FloatField(allow_null=True)


class ArmTotalsSerializer(serializers.Serializer):
    without_ai = ArmTotalSerializer()
    with_ai = ArmTotalSerializer()


class StudyProgressSerializer(serializers.Serializer):
    study = serializers.IntegerField()
    state = serializers.CharField()
    reading_started_at = serializers.DateTimeField(allow_null=True)
    arms = ArmTotalsSerializer()
    readers = StudyReaderProgressSerializer(many=True)
