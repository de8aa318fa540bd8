"""Shared model bases."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Job(TimeStampedModel):
    """A unit of background work with progress; concrete jobs add their own inputs.

    Claimed with a conditional update so two workers never run one job; a RUNNING job
    whose lease has expired (its worker died) can be claimed again.
    """

    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    leased_at = models.DateTimeField(null=True, blank=True)
    # Set when the broker refused this job's message; the workers' sweep sends it again.
    send_failed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 100 if self.status == JobStatus.SUCCEEDED else 0
        return min(100, round(100 * self.progress_done / self.progress_total))

    def payload_extra(self) -> dict:
        """What this kind adds to its live payload (base.jobs.job_payload)."""
        return {}

    def retry_reset(self) -> list[str]:
        """Reset this kind's own fields for a retry; the names of the fields changed."""
        return []

    @classmethod
    def claimable(cls) -> Q:
        expired = timezone.now() - timedelta(seconds=settings.JOB_LEASE_SECONDS)
        return Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, leased_at__lt=expired)


def job_models() -> list[type[Job]]:
    """Every installed concrete kind of job, whichever app defines it; each has its task
    registered in base.jobs (a test checks it)."""
    from django.apps import apps

    return [model for model in apps.get_models() if issubclass(model, Job)]


class AccessLogError(RuntimeError):
    """Someone tried to change or remove an access log entry; it is append-only."""


class AccessAction(models.TextChoices):
    IDENTIFIERS_VIEWED = "identifiers_viewed", "Opened a patient's identified data"
    HOSPITAL_ID_SEARCHED = "hospital_id_searched", "Searched by hospital ID"
    DICOM_EXPORTED_IDENTIFIED = "dicom_exported_identified", "Exported DICOM with real identifiers"
    EXPORT_DOWNLOADED = "export_downloaded", "Downloaded an export"
    ACCESS_LOG_EXPORTED = "access_log_exported", "Exported the access log"


class AccessLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AccessLogError("The access log is append-only: entries cannot be changed.")

    def delete(self):
        raise AccessLogError("The access log is append-only: entries cannot be removed.")


class AccessLogEntry(models.Model):
    """Who opened identified data, searched by hospital ID or downloaded an export; written
    by base.access_log, never changed or removed (PostgreSQL refuses it too).

    The username is copied so that the entry reads the same after a rename; the patient is
    a plain row id (no foreign key), so that removing a patient keeps the record of who saw
    them. Users with entries cannot be deleted, only deactivated.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(max_length=150)
    action = models.CharField(max_length=32, choices=AccessAction.choices)
    patient_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    target = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=500, blank=True)

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "access log entry"
        verbose_name_plural = "access log"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AccessLogError("The access log is append-only: entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AccessLogError("The access log is append-only: entries cannot be removed.")
