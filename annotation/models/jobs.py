"""Background jobs of the acquisition: image imports and the demo data set."""

from django.db import models
from django.db.models import Q

from annotation.models.imaging import Center
from base.models import Job


class ImportSource(models.TextChoices):
    UPLOAD = "upload", "Browser upload"
    API = "api", "API"
    COMMAND = "command", "Command line"
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
    paths_purged_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the file paths (which may name patients) left the report and paths.",
    )

    class Meta(Job.Meta):
        pass

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.get_source_display()}) — {self.status}"

    def report_for(self, user) -> dict:
        """The report as `user` may see it: the client's file paths (folder names are often
        patient IDs and accession numbers) only for the uploader; a placeholder for others."""
        if user is not None and self.created_by_id is not None and user.pk == self.created_by_id:
            return self.report
        failed = self.report.get("failed") or []
        return {
            **self.report,
            "failed": [
                file_hidden(failure, f"file {number} (shown to the uploader only)")
                for number, failure in enumerate(failed, start=1)
            ],
        }

    @property
    def description(self) -> str:
        where = f", new exams under {self.center.code}" if self.center_id else ""
        return f"Import #{self.pk} ({self.get_source_display().lower()}{where})"


def file_hidden(failure: dict, placeholder: str) -> dict:
    """A refused file's report entry with its path, also where the reason quotes it, replaced."""
    name = str(failure.get("file", ""))
    error = str(failure.get("error", ""))
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    for shown in (name, base if len(base) > 3 else ""):  # "1" would mangle the reason
        if shown:
            error = error.replace(shown, placeholder)
    return {**failure, "file": placeholder, "error": error}


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
