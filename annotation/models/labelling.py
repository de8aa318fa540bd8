"""Annotation sets, the work of labelling them, and what readers answered.

A set is a stored random draw of images. Each image needs a planned number of readings;
each planned reading is a slot that one radiologist at a time can lease, so an image is
never served to more readers than planned. A radiologist's answers for an image are one
Label, saved as they are made and submitted once; every change is kept in LabelChange.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation.models.imaging import Image
from base.models import TimeStampedModel

ANSWER_FIELDS = ("adnexal", "lesion", "ascites", "blood_flow", "dimension")


class AnnotationSet(TimeStampedModel):
    name = models.CharField(max_length=200, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    size = models.PositiveIntegerField(help_text="Images asked for; fewer if the pool is smaller.")
    seed = models.PositiveIntegerField()
    filters = models.JSONField(default=dict, blank=True, help_text="The pool the draw came from.")
    stratify_by_center = models.BooleanField(default=False)
    max_per_patient = models.PositiveIntegerField(null=True, blank=True)
    max_per_exam = models.PositiveIntegerField(null=True, blank=True)
    readers_per_image = models.PositiveSmallIntegerField(default=1)
    calibration_size = models.PositiveIntegerField(
        default=0, help_text="Images read by every radiologist of the set."
    )
    adjudicator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The senior radiologist who settles disagreements.",
    )
    lease_seconds = models.PositiveIntegerField(default=300)
    # Kept up to date by the services: the quota query must not count thousands of slots.
    planned_readings = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(readers_per_image__gte=1), name="set_readers_per_image_positive"
            ),
            models.CheckConstraint(condition=Q(size__gte=1), name="set_size_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class AnnotationSetReader(TimeStampedModel):
    annotation_set = models.ForeignKey(
        AnnotationSet, on_delete=models.CASCADE, related_name="readers"
    )
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotation_sets"
    )
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotation_set", "reader"], name="set_reader_once")
        ]

    def __str__(self) -> str:
        return f"{self.reader_id} on {self.annotation_set_id}"


class AnnotationItem(models.Model):
    annotation_set = models.ForeignKey(
        AnnotationSet, on_delete=models.CASCADE, related_name="items"
    )
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="annotation_items")
    position = models.PositiveIntegerField(help_text="Order of the draw.")
    planned_readers = models.PositiveSmallIntegerField()
    is_calibration = models.BooleanField(default=False)

    class Meta:
        ordering = ["annotation_set", "position"]
        constraints = [
            models.UniqueConstraint(fields=["annotation_set", "image"], name="item_image_once"),
            models.UniqueConstraint(
                fields=["annotation_set", "position"], name="item_position_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.annotation_set} #{self.position}"


class LabelSlot(models.Model):
    """One planned reading of an item; leased by one radiologist at a time."""

    # Each labelled image rewrites its slot twice, and each index costs on every rewrite:
    # the foreign keys use the indexes in Meta (they start with the key) instead of their own.
    item = models.ForeignKey(
        AnnotationItem, on_delete=models.CASCADE, related_name="slots", db_index=False
    )
    # Copied from the item so that finding the next free slot reads one index.
    annotation_set = models.ForeignKey(
        AnnotationSet, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    position = models.PositiveIntegerField()
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    leased_until = models.DateTimeField(null=True, blank=True)
    done = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["annotation_set", "done", "position"]),
            models.Index(fields=["item", "done"]),
            models.Index(fields=["reader", "done"]),
        ]

    def __str__(self) -> str:
        return f"Slot {self.pk} of item {self.item_id}"


class Label(models.Model):
    """One radiologist's answers about one image of a set."""

    DRAFT, SUBMITTED = "draft", "submitted"

    # As for slots: the unique constraint and the index in Meta serve these two keys.
    item = models.ForeignKey(
        AnnotationItem, on_delete=models.CASCADE, related_name="labels", db_index=False
    )
    annotation_set = models.ForeignKey(
        AnnotationSet, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="labels"
    )
    adnexal = models.BooleanField(null=True, blank=True)
    lesion = models.BooleanField(null=True, blank=True)
    ascites = models.BooleanField(null=True, blank=True)
    blood_flow = models.BooleanField(null=True, blank=True)
    dimension = models.CharField(max_length=2, blank=True, choices=[("2d", "2D"), ("3d", "3D")])
    cannot_determine = models.BooleanField(default=False)
    cannot_determine_reason = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=10, default=DRAFT, choices=[(DRAFT, "Draft"), (SUBMITTED, "Submitted")]
    )
    shown_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    active_seconds = models.FloatField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "reader"], name="label_once_per_reader"),
            models.CheckConstraint(
                condition=Q(active_seconds__gte=0), name="label_active_seconds_nonnegative"
            ),
        ]
        indexes = [models.Index(fields=["annotation_set", "reader", "status", "submitted_at"])]

    def __str__(self) -> str:
        return f"Label {self.pk} by {self.reader_id} ({self.status})"

    def answers(self) -> dict:
        return {name: getattr(self, name) for name in (*ANSWER_FIELDS, "cannot_determine")}


class Adjudication(models.Model):
    """The senior radiologist's final answers for an item the readers disagreed on."""

    item = models.OneToOneField(
        AnnotationItem, on_delete=models.CASCADE, related_name="adjudication"
    )
    adjudicator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    adnexal = models.BooleanField(null=True, blank=True)
    lesion = models.BooleanField(null=True, blank=True)
    ascites = models.BooleanField(null=True, blank=True)
    blood_flow = models.BooleanField(null=True, blank=True)
    dimension = models.CharField(max_length=2, blank=True)
    cannot_determine = models.BooleanField(default=False)
    decided_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Adjudication of item {self.item_id}"

    def answers(self) -> dict:
        return {name: getattr(self, name) for name in (*ANSWER_FIELDS, "cannot_determine")}


class LabelChange(models.Model):
    """Audit: who changed which answers of a label (or adjudication), when, from what to what."""

    label = models.ForeignKey(
        Label, null=True, blank=True, on_delete=models.CASCADE, related_name="changes"
    )
    adjudication = models.ForeignKey(
        Adjudication, null=True, blank=True, on_delete=models.CASCADE, related_name="changes"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)
    old = models.JSONField()
    new = models.JSONField()

    class Meta:
        ordering = ["changed_at", "pk"]

    def __str__(self) -> str:
        return f"Change {self.pk} by {self.user_id} at {self.changed_at}"


class ImageFlag(TimeStampedModel):
    """A radiologist saw identifying text on an image: hidden until an administrator decides."""

    # Kept when the image is removed: the decision stays on record.
    image = models.ForeignKey(Image, null=True, on_delete=models.SET_NULL, related_name="flags")
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.CharField(
        max_length=16,
        blank=True,
        choices=[("restored", "Checked: no identifying text"), ("removed", "Image removed")],
    )

    def __str__(self) -> str:
        return f"Flag on image {self.image_id}"
