"""Claiming, advancing and finishing background jobs, with live progress.

Every change is pushed to the "jobs" group, which the jobs page listens to.
"""

import time

from django.db import transaction
from django.utils import timezone

from .broadcast import broadcast
from .models import Job, JobStatus

JOBS_GROUP = "jobs"
PROGRESS_INTERVAL_SECONDS = 0.5


def job_payload(job: Job) -> dict:
    return {
        "id": job.pk,
        "kind": job._meta.model_name,
        "label": job.description,
        "status": job.status,
        "done": job.progress_done,
        "total": job.progress_total,
        "percent": job.percent,
        "message": job.message,
        "error": job.error,
        # Training jobs: loss and validation AUC per epoch, for the live chart.
        **({"history": job.history} if hasattr(job, "history") else {}),
    }


def job_claim(model: type[Job], job_id: int) -> Job | None:
    """Mark the job RUNNING if it is queued or its lease expired; None if someone else has it."""
    now = timezone.now()
    with transaction.atomic():
        claimed = model.objects.filter(model.claimable(), pk=job_id).update(
            status=JobStatus.RUNNING, leased_at=now, started_at=now, error=""
        )
        if not claimed:
            return None
        job = model.objects.get(pk=job_id)
        job.attempts += 1
        job.save(update_fields=["attempts", "updated_at"])
        broadcast(JOBS_GROUP, "job.update", job_payload(job))
    return job


class ProgressReporter:
    """Writes progress to the job row and the page, at most every PROGRESS_INTERVAL_SECONDS."""

    def __init__(self, job: Job, message: str = "") -> None:
        self.job = job
        self.message = message
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < PROGRESS_INTERVAL_SECONDS:
            return
        self._last = now
        job = self.job
        job.progress_done, job.progress_total, job.message = done, total, self.message
        job.leased_at = timezone.now()  # renewing the lease: this worker is alive
        job.save(
            update_fields=["progress_done", "progress_total", "message", "leased_at", "updated_at"]
        )
        broadcast(JOBS_GROUP, "job.update", job_payload(job))


def job_finish(job: Job, *, message: str, **fields) -> None:
    job.status = JobStatus.SUCCEEDED
    job.message = message
    job.finished_at = timezone.now()
    job.progress_done = job.progress_total
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(
        update_fields=["status", "message", "finished_at", "progress_done", "updated_at", *fields]
    )
    broadcast(JOBS_GROUP, "job.update", job_payload(job))


def job_fail(job: Job, error: BaseException) -> None:
    job.status = JobStatus.FAILED
    job.error = f"{type(error).__name__}: {error}"
    job.message = "Failed; it can be retried."
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "message", "finished_at", "updated_at"])
    broadcast(JOBS_GROUP, "job.update", job_payload(job))


def job_retry(job: Job) -> None:
    """Put a failed job back in the queue; the caller enqueues its task."""
    if job.status != JobStatus.FAILED:
        raise ValueError("only a failed job can be retried")
    job.status = JobStatus.QUEUED
    job.error = ""
    job.message = "Queued again"
    job.save(update_fields=["status", "error", "message", "updated_at"])
    broadcast(JOBS_GROUP, "job.update", job_payload(job))
