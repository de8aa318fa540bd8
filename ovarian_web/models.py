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

    @classmethod
    def claimable(cls) -> Q:
        expired = timezone.now() - timedelta(seconds=settings.JOB_LEASE_SECONDS)
        return Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, leased_at__lt=expired)


def job_models() -> list[type[Job]]:
    """Every installed kind of job, whichever app defines it."""
    from django.apps import apps

    return [model for model in apps.get_models() if issubclass(model, Job)]
