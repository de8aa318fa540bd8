"""The shapes of the labelling API's requests and responses, for the OpenAPI document.

The views build their bodies with annotation.labelling.payloads (plain dicts, no per-field
serializer cost on every labelled image); these serializers describe those bodies.
"""

from rest_framework import serializers

from annotation.labelling.stats import QUESTIONS

YES_NO = {"allow_null": True}  # yes, no, or not answered yet


class LabellingImageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    pixel_spacing_mm = serializers.FloatField(allow_null=True)
    thumbnail_url = serializers.CharField(help_text="a signed link, or the session-checked page")
    frames = serializers.ListField(child=serializers.CharField(), help_text="signed links")


class LabellingImagePayloadSerializer(LabellingImageSerializer):
    """The image read, its cine frames, and its exam's other visible images."""

    exam_images = LabellingImageSerializer(many=True)


class LabelSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    set = serializers.IntegerField()
    image = serializers.IntegerField()
    adnexal = serializers.BooleanField(**YES_NO)
    lesion = serializers.BooleanField(**YES_NO)
    ascites = serializers.BooleanField(**YES_NO)
    blood_flow = serializers.BooleanField(**YES_NO)
    cannot_determine = serializers.BooleanField()
    cannot_determine_reason = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    dimension = serializers.CharField(allow_null=True, help_text="2d or 3d")
    shown_at = serializers.DateTimeField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    active_seconds = serializers.FloatField()


class ReaderProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    quota = serializers.IntegerField()


class LabelCaseSerializer(serializers.Serializer):
    label = LabelSerializer()
    image = LabellingImagePayloadSerializer()


class LabelScreenSerializer(LabelCaseSerializer):
    """A label on the screen: the label, its image, the reader's progress."""

    progress = ReaderProgressSerializer()


class LabelSubmittedSerializer(LabelScreenSerializer):
    next = LabelCaseSerializer(
        required=False,
        allow_null=True,
        help_text='only when asked with "next": the next image (null when the share is done)',
    )


class AnswersRequestSerializer(serializers.Serializer):
    adnexal = serializers.BooleanField(required=False, allow_null=True)
    lesion = serializers.BooleanField(required=False, allow_null=True)
    ascites = serializers.BooleanField(required=False, allow_null=True)
    blood_flow = serializers.BooleanField(required=False, allow_null=True)
    dimension = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="2d or 3d"
    )
    cannot_determine = serializers.BooleanField(required=False)
    cannot_determine_reason = serializers.CharField(
        required=False, allow_blank=True, max_length=500
    )


class AutosaveRequestSerializer(AnswersRequestSerializer):
    active_seconds_delta = serializers.FloatField(
        required=False, help_text="focused seconds since the last report (clamped to 0-600)"
    )


class SubmitRequestSerializer(AnswersRequestSerializer):
    next = serializers.BooleanField(required=False, help_text="also send the next image")
    exclude = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="label ids already held"
    )


class NextRequestSerializer(serializers.Serializer):
    exclude = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="label ids already held"
    )


class RefusedAnswersSerializer(serializers.Serializer):
    detail = serializers.CharField()
    missing = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="the unanswered questions"
    )


class LabellingSetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    done = serializers.IntegerField()
    quota = serializers.IntegerField()
    remaining = serializers.IntegerField()


class FlagRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class FlagSerializer(serializers.Serializer):
    flag = serializers.IntegerField()


def _answers() -> dict:
    fields = {name: serializers.BooleanField(allow_null=True) for name in QUESTIONS}
    fields["dimension"] = serializers.CharField(allow_null=True)
    fields["cannot_determine"] = serializers.BooleanField(allow_null=True)
    return fields


class LabelExportRowSerializer(serializers.Serializer):
    """One answer of one reader (docs/labels_export.md)."""

    set = serializers.IntegerField()
    position = serializers.IntegerField()
    image_id = serializers.IntegerField()
    exam_id = serializers.IntegerField()
    center = serializers.CharField()
    reader = serializers.CharField()
    cannot_determine_reason = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    shown_at = serializers.DateTimeField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    active_seconds = serializers.FloatField()

    def get_fields(self) -> dict:
        return {**super().get_fields(), **_answers()}


class ConsensusRowSerializer(serializers.Serializer):
    """The consensus of one image and the rule that gave it (docs/labels_export.md)."""

    set = serializers.IntegerField()
    position = serializers.IntegerField()
    item_id = serializers.IntegerField()
    image_id = serializers.IntegerField()
    exam_id = serializers.IntegerField()
    center = serializers.CharField()
    rule = serializers.CharField()
    readers = serializers.IntegerField()

    def get_fields(self) -> dict:
        return {**super().get_fields(), **_answers()}


class ReaderSetProgressSerializer(serializers.Serializer):
    reader = serializers.CharField()
    reader_id = serializers.IntegerField()
    active = serializers.BooleanField()
    done = serializers.IntegerField()
    quota = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    last_hour = serializers.IntegerField()
    median_seconds = serializers.FloatField(allow_null=True)


class AgreementSerializer(serializers.Serializer):
    """Krippendorff's alpha per question (null until two readers share an image)."""

    def get_fields(self) -> dict:
        return {name: serializers.FloatField(allow_null=True) for name in QUESTIONS}


class SetProgressSerializer(serializers.Serializer):
    set = serializers.IntegerField()
    name = serializers.CharField()
    readings_done = serializers.IntegerField()
    readings_planned = serializers.IntegerField()
    labels_submitted = serializers.IntegerField()
    images_per_hour = serializers.IntegerField()
    median_seconds = serializers.FloatField(allow_null=True)
    open_disagreements = serializers.IntegerField()
    agreement = AgreementSerializer()
    readers = ReaderSetProgressSerializer(many=True)
