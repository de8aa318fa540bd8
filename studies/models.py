"""Reading data imported from CSV (studies read on paper or in other tools).

`ImportedReaderStudy` is one imported file; `ImportedReading` one row of it: a reader's
confidence rating (and optional yes/no decision and reading time) for one case in one
modality, the long format the MRMC packages (iMRMC, RJafroc, MRMCaov) use. The reader-study
design of issue 7 (arms, sessions, timed reading) comes later and may reuse these.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ImportedReaderStudy(models.Model):
    """A reader study whose readings were imported from a CSV, analysed as it stands."""

    name = models.CharField(max_length=200, unique=True)
    # The modality the others are compared against (the difference is other minus this).
    reference_modality = models.CharField(max_length=100)
    source_filename = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "imported reader study"
        verbose_name_plural = "imported reader studies"

    def __str__(self) -> str:
        return self.name


class ImportedReading(models.Model):
    """One reading: reader, case and modality exactly as written in the file."""

    study = models.ForeignKey(
        ImportedReaderStudy, on_delete=models.CASCADE, related_name="readings"
    )
    reader = models.CharField(max_length=100)
    case = models.CharField(max_length=100)
    modality = models.CharField(max_length=100)
    truth = models.PositiveSmallIntegerField(help_text="1 = diseased (malignant), 0 = not")
    rating = models.FloatField(help_text="confidence of disease; higher = more confident")
    decision = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 = positive")
    seconds = models.FloatField(null=True, blank=True, help_text="reading time in seconds")

    class Meta:
        ordering = ["study", "modality", "reader", "case"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "reader", "case", "modality"], name="imported_reading_unique"
            ),
            models.CheckConstraint(condition=Q(truth__in=(0, 1)), name="imported_reading_truth"),
            models.CheckConstraint(
                condition=Q(decision__isnull=True) | Q(decision__in=(0, 1)),
                name="imported_reading_decision",
            ),
            models.CheckConstraint(
                condition=Q(seconds__isnull=True) | Q(seconds__gte=0),
                name="imported_reading_seconds",
            ),
        ]
        indexes = [
            models.Index(fields=["study", "modality", "reader"], name="imported_reading_mr"),
            models.Index(fields=["study", "case"], name="imported_reading_case"),
        ]

    def __str__(self) -> str:
        return f"{self.study}: reader {self.reader}, case {self.case}, modality {self.modality}"
