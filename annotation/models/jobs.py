"""Background jobs of the acquisition: image imports and the demo data set."""

from django.db import models
from django.db.models import Q

from ovarian_web.models import Job

from .imaging import Center


class ImportSource(models.TextChoices):
    UPLOAD = "upload", "Browser upload"
    API = "api", "API"
    COMMAND = "command", "Command line"
    PACS = "pacs", "DICOM receiver"
    DEMO = "demo", "Demo data"


class ImportJob(Job):
    """Importing image files (DICOM, PNG, JPEG, zip archives, folders) into exams.

    Files arrive first (an upload keeps `receiving` true until the client says it is done),
    then the job is queued; its report lists what was imported, skipped and refused.
    """

    source = models.CharField(max_length=16, choices=ImportSource.choices)
    center = models.ForeignKey(
        Center,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Centre for exams that do not exist yet.",
    )
    receiving = models.BooleanField(default=False)
    upload_dir = models.CharField(max_length=500, blank=True)
    paths = models.JSONField(default=list, blank=True)
    report = models.JSONField(default=dict, blank=True)

    class Meta(Job.Meta):
        pass

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.get_source_display()}) — {self.status}"

    @property
    def description(self) -> str:
        where = f", new exams under {self.center.code}" if self.center_id else ""
        return f"Import #{self.pk} ({self.get_source_display().lower()}{where})"


class DemoDataJob(Job):
    """Generating the synthetic demo data set and loading it, as a background job."""

    patients = models.PositiveIntegerField()
    seed = models.PositiveIntegerField()
    result = models.JSONField(default=dict, blank=True)

    class Meta(Job.Meta):
        constraints = [
            models.CheckConstraint(
                condition=Q(patients__gte=1, patients__lte=20000), name="demo_job_patients_range"
            ),
        ]

    def __str__(self) -> str:
        return f"Demo data ({self.patients} patients, seed {self.seed}) — {self.status}"

    @property
    def description(self) -> str:
        return f"Demo data #{self.pk} ({self.patients} patients, seed {self.seed})"
