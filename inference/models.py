"""Trained models (the registry), training and scoring jobs, and what they produce.

A `ModelVersion` is one trained network with everything needed to reproduce and judge it.
An `Ensemble` pairs a ResNet and a Darknet version with the weights and operating threshold
of the method (Θ = w1·θ_ResNet + w2·θ_Darknet); exam results always name their ensemble, so
results of different model versions are never mixed.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation.models import Exam, Image
from base.models import Job, TimeStampedModel


class ModelTask(models.TextChoices):
    MALIGNANCY = "malignancy", "Malignancy (benign vs malignant)"
    TRIAGE = "triage", "Triage (image content)"


class Architecture(models.TextChoices):
    RESNET50 = "resnet50", "ResNet-50"
    RESNET18 = "resnet18", "ResNet-18"
    DARKNET19 = "darknet19", "Darknet-19"


class ModelSource(models.TextChoices):
    TRAINED = "trained", "Trained here"
    UPLOADED = "uploaded", "Uploaded checkpoint"


class ModelVersion(TimeStampedModel):
    task = models.CharField(max_length=16, choices=ModelTask.choices)
    architecture = models.CharField(max_length=16, choices=Architecture.choices)
    version = models.PositiveIntegerField(help_text="Counts up per task and architecture.")
    input_size = models.PositiveSmallIntegerField()
    outputs = models.JSONField(help_text="Names of the sigmoid outputs, in order.")
    weights = models.FileField(upload_to="models/")
    weights_sha256 = models.CharField(max_length=64)
    source = models.CharField(max_length=16, choices=ModelSource.choices)
    train_image_ids = models.JSONField(default=list, blank=True)
    validation_image_ids = models.JSONField(
        default=dict, blank=True, help_text="Image ids per validation set name."
    )
    hyperparameters = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(
        default=dict, blank=True, help_text="Per validation set: exam and image AUC and more."
    )
    history = models.JSONField(default=list, blank=True, help_text="Per epoch: loss, AUC.")
    thresholds = models.JSONField(
        default=dict, blank=True, help_text="Triage: per output, threshold, precision, recall."
    )
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    in_service = models.BooleanField(default=False)
    retired = models.BooleanField(default=False)

    class Meta:
        ordering = ["task", "architecture", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "architecture", "version"], name="model_version_unique"
            ),
            models.CheckConstraint(
                condition=~Q(in_service=True, retired=True), name="model_version_retired_not_used"
            ),
            models.CheckConstraint(condition=Q(input_size__gte=32), name="model_input_size_min"),
        ]

    def __str__(self) -> str:
        return f"{self.get_architecture_display()} {self.task} v{self.version}"

    @property
    def label(self) -> str:
        return str(self)


class ThresholdRule(models.TextChoices):
    YOUDEN = "youden", "Youden's J (sensitivity + specificity − 1) maximised"
    SENSITIVITY = "sensitivity", "Highest threshold reaching a target sensitivity"


class Ensemble(TimeStampedModel):
    resnet = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    darknet = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    weight_resnet = models.FloatField()
    weight_darknet = models.FloatField()
    threshold = models.FloatField(help_text="Θ at or above this means malignant.")
    threshold_rule = models.CharField(max_length=16, choices=ThresholdRule.choices)
    target_sensitivity = models.FloatField(null=True, blank=True)
    sensitivity = models.FloatField(null=True, blank=True, help_text="On internal validation.")
    specificity = models.FloatField(null=True, blank=True, help_text="On internal validation.")
    metrics = models.JSONField(default=dict, blank=True, help_text="Θ AUC per validation set.")
    in_service = models.BooleanField(default=False)
    retired = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    @property
    def weights(self) -> dict[str, float]:
        """Per network, its weight in Θ (inference.scoring.weighted_score)."""
        return {"resnet": self.weight_resnet, "darknet": self.weight_darknet}

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["in_service"], condition=Q(in_service=True), name="one_ensemble_in_service"
            ),
            models.CheckConstraint(
                condition=~Q(in_service=True, retired=True), name="ensemble_retired_not_used"
            ),
        ]

    def __str__(self) -> str:
        return f"Ensemble {self.pk} ({self.resnet.label} + {self.darknet.label})"


class Borderline(models.TextChoices):
    MALIGNANT = "malignant", "Borderline counts as malignant"
    EXCLUDE = "exclude", "Borderline left out"


class TrainingJob(Job):
    task = models.CharField(max_length=16, choices=ModelTask.choices)
    architecture = models.CharField(max_length=16, choices=Architecture.choices)
    input_size = models.PositiveSmallIntegerField(default=128)
    epochs = models.PositiveSmallIntegerField(default=8)
    batch_size = models.PositiveSmallIntegerField(default=32)
    learning_rate = models.FloatField(default=0.001)
    seed = models.PositiveIntegerField(default=1)
    borderline = models.CharField(
        max_length=16, choices=Borderline.choices, default=Borderline.MALIGNANT
    )
    stop_requested = models.BooleanField(default=False)
    demo = models.BooleanField(
        default=False, help_text="Started by the demo; puts its models in service."
    )
    history = models.JSONField(default=list, blank=True)
    result = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(Job.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(input_size__gte=128), name="training_input_min"),
            models.CheckConstraint(condition=Q(epochs__gte=1), name="training_epochs_min"),
        ]

    @property
    def description(self) -> str:
        return (
            f"Training #{self.pk}: {self.get_architecture_display()} {self.task} "
            f"at {self.input_size} px"
        )

    def payload_extra(self) -> dict:
        # Loss and validation AUC per epoch, for the live chart.
        return {"history": self.history}

    def retry_reset(self) -> list[str]:
        self.stop_requested = False
        self.history = []
        return ["stop_requested", "history"]


class TriagePrediction(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="triage_predictions")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    probabilities = models.JSONField(help_text="Output name -> probability.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "model_version"], name="triage_unique")
        ]

    def __str__(self) -> str:
        return f"Triage of image {self.image_id} by model {self.model_version_id}"


class ExclusionReason(models.TextChoices):
    NOT_ADNEXAL = "not_adnexal", "Not an adnexal image"
    NO_LESION = "no_lesion", "No lesion shown"
    MALIGNANT_NO_LESION = (
        "malignant_no_lesion",
        "Malignant pathology but the image shows no lesion",
    )


class ImageExclusion(TimeStampedModel):
    """An image left out of training and scoring, with its reason; a reviewer can restore it."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="exclusions")
    reason = models.CharField(max_length=24, choices=ExclusionReason.choices)
    triage_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    restored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    restored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "reason"], name="exclusion_unique")]


class TriageJob(Job):
    """Running a triage model over every image in the pool, storing its predictions."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    report = models.JSONField(default=dict, blank=True)

    class Meta(Job.Meta):
        pass

    @property
    def description(self) -> str:
        return f"Triage #{self.pk} of the image pool with {self.model_version.label}"


class InferenceJob(Job):
    ensemble = models.ForeignKey(Ensemble, on_delete=models.PROTECT, related_name="jobs")
    exam_ids = models.JSONField(default=list)
    scope = models.CharField(max_length=200, blank=True, help_text="What was asked for.")
    automatic = models.BooleanField(default=False, help_text="Started by a completed exam.")
    report = models.JSONField(default=dict, blank=True)

    class Meta(Job.Meta):
        pass

    @property
    def description(self) -> str:
        count = len(self.exam_ids)
        return f"Scoring #{self.pk}: {count} exam{'s' if count != 1 else ''} ({self.scope})"


class ImagePrediction(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField()
    heatmap = models.FileField(upload_to="heatmaps/%Y/%m/", blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "model_version"], name="prediction_unique"),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=1), name="prediction_range"
            ),
        ]

    def __str__(self) -> str:
        return f"Image {self.image_id}: p = {self.probability:.3f} (model {self.model_version_id})"


class ResultStatus(models.TextChoices):
    SCORED = "scored", "Scored"
    NOT_SCORABLE = "not_scorable", "Not scorable"


class ExamResult(TimeStampedModel):
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="ai_results")
    ensemble = models.ForeignKey(Ensemble, on_delete=models.PROTECT, related_name="results")
    status = models.CharField(max_length=16, choices=ResultStatus.choices)
    theta_resnet = models.FloatField(null=True, blank=True)
    theta_darknet = models.FloatField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True, help_text="Θ, the combined exam score.")
    malignant = models.BooleanField(null=True, blank=True, help_text="Θ ≥ the threshold.")
    used_image_ids = models.JSONField(default=list, blank=True)
    left_out = models.JSONField(default=list, blank=True, help_text="[{image_id, reason}]")
    reason = models.CharField(max_length=300, blank=True, help_text="Why not scorable.")
    job = models.ForeignKey(
        InferenceJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="results"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "ensemble"], name="exam_result_unique"),
            models.CheckConstraint(
                condition=Q(status="not_scorable") | Q(score__isnull=False),
                name="exam_result_scored_has_score",
            ),
        ]


class Agreement(models.TextChoices):
    AGREE = "agree", "Agrees with the AI"
    DISAGREE = "disagree", "Disagrees with the AI"


class ClinicianReview(TimeStampedModel):
    """A clinician's sign-off on an exam result, and later the final diagnosis."""

    result = models.ForeignKey(ExamResult, on_delete=models.CASCADE, related_name="reviews")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    agreement = models.CharField(max_length=16, choices=Agreement.choices)
    comment = models.TextField(blank=True)
    final_diagnosis = models.CharField(
        max_length=16,
        blank=True,
        choices=[("benign", "Benign"), ("borderline", "Borderline"), ("malignant", "Malignant")],
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["result", "clinician"], name="one_review_per_clinician")
        ]
