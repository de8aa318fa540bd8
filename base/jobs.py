"""Sending, claiming, advancing and finishing background jobs, with live progress.

One way to run a job: each app's tasks.py registers its job models' tasks (`job_kind`),
and everything else (create, retry, the sweep, the Jobs page) finds the task here, so no
module imports a tasks module to enqueue. Every change is pushed to the "jobs" group,
which the jobs page listens to; `job_finished` tells higher layers (the demo) a job ended.
"""

import logging
import time
from datetime import timedelta

from celery import Task
from celery import current_app as app
from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from kombu.exceptions import OperationalError

from base.broadcast import broadcast
from base.models import Job, JobStatus

log = logging.getLogger(__name__)

JOBS_GROUP = "jobs"
PROGRESS_INTERVAL_SECONDS = 0.5
WAITING_FOR_BROKER = "Waiting: the job queue is unreachable; the job is sent when it is back"


# Sent after a job succeeded (job_finish), with sender = its model and job = the job; the
# demo's follow-ups listen, so production code never calls demo code.
job_finished = Signal()

_TASKS: dict[type[Job], Task] = {}


class JobKindUnknown(LookupError):
    """A job model without a registered task: it could be created but never run."""


def job_kind(model: type[Job]):
    """Register the decorated Celery task as the one that runs `model` jobs (in tasks.py,
    which the app's AppConfig.ready imports, so web processes know it too)."""

    def register(task: Task) -> Task:
        known = _TASKS.get(model)
        if known is not None and known.name != task.name:
            raise ValueError(f"{model.__name__} already runs as {known.name}, not {task.name}")
        _TASKS[model] = task
        return task

    return register


def job_kinds() -> dict[type[Job], Task]:
    """Every registered job model and its task."""
    return dict(_TASKS)


def job_task(model: type[Job]) -> Task:
    task = _TASKS.get(model)
    if task is None:
        raise JobKindUnknown(
            f"{model.__name__} has no task: decorate its Celery task with "
            f"@job_kind({model.__name__}) in {model._meta.app_label}/tasks.py"
        )
    return task


def job_enqueue(job: Job) -> None:
    """Send the job's task once the current transaction commits (at once outside one)."""
    task = job_task(type(job))
    transaction.on_commit(lambda: task.delay(job_id=job.pk))


class JobTask(Task):
    """The base of our Celery tasks (celery.py): sending a job never fails its request.

    Without the broker, publishing fails in milliseconds (one retry, no connection retries:
    CELERY_TASK_PUBLISH_RETRY_POLICY, CELERY_BROKER_TRANSPORT_OPTIONS) instead of blocking
    the request on retries; the job stays in the database, marked with send_failed_at, and
    jobs_unsent_send sends it when the broker is back.
    """

    def apply_async(self, args=None, kwargs=None, **options):
        try:
            return super().apply_async(args, kwargs, **options)
        except OperationalError as error:
            job_id = (kwargs or {}).get("job_id")
            model = next((m for m, task in _TASKS.items() if task.name == self.name), None)
            if model is None or job_id is None:
                raise
            log.warning(
                "job %s %s not sent, the broker is unreachable: %s", model.__name__, job_id, error
            )
            job_send_failed(model, job_id)
            return None


def job_send_failed(model: type[Job], job_id: int) -> None:
    jobs = model.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
    jobs.update(send_failed_at=timezone.now())
    jobs.filter(status=JobStatus.QUEUED).update(message=WAITING_FOR_BROKER)


def jobs_unsent_send() -> int:
    """Send the jobs whose message the broker refused (JobTask); how many went.

    Every worker runs this each heartbeat; the conditional update lets only one send a job.
    Stops at the first refusal: the broker is still away.
    """
    sent = 0
    for model, task in job_kinds().items():
        pending = model.objects.filter(
            send_failed_at__isnull=False, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
        )
        for job in pending.only("pk", "send_failed_at"):
            mine = model.objects.filter(pk=job.pk, send_failed_at=job.send_failed_at)
            if not mine.update(send_failed_at=None):
                continue
            try:
                app.send_task(task.name, kwargs={"job_id": job.pk})
            except OperationalError as error:
                model.objects.filter(pk=job.pk).update(send_failed_at=job.send_failed_at)
                log.warning("unsent jobs wait: the broker is still unreachable: %s", error)
                return sent
            model.objects.filter(pk=job.pk, message=WAITING_FOR_BROKER).update(message="Queued")
            sent += 1
    return sent


def jobs_sweep() -> None:
    """What every worker does each heartbeat, whichever queues it serves."""
    jobs_abandoned_fail()
    jobs_unsent_send()


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
        **job.payload_extra(),
    }


def job_claim(model: type[Job], job_id: int) -> Job | None:
    """Mark the job RUNNING if it is queued or its lease expired; None if someone else has it.

    A job claimed JOB_MAX_ATTEMPTS times already (each time its worker died: killed for
    memory, or the task crashes it) is failed instead, with the reason, and None returned.
    """
    now = timezone.now()
    with transaction.atomic():
        claimed = model.objects.filter(model.claimable(), pk=job_id).update(
            status=JobStatus.RUNNING, leased_at=now, started_at=now, error=""
        )
        if not claimed:
            return None
        job = model.objects.get(pk=job_id)
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            job_fail(
                job,
                WorkerLost(
                    f"its worker stopped during each of {job.attempts} attempts"
                    " (killed, out of memory?); it is not tried again by itself"
                ),
            )
            return None
        job.attempts += 1
        job.save(update_fields=["attempts", "updated_at"])
        broadcast(JOBS_GROUP, "job.update", job_payload(job))
    return job


def job_lease_left(model: type[Job], job_id: int) -> float | None:
    """Seconds until a RUNNING job's lease expires (0 once it has); None when it is not running."""
    row = model.objects.filter(pk=job_id, status=JobStatus.RUNNING).values("leased_at").first()
    if row is None:
        return None
    if row["leased_at"] is None:
        return 0.0
    expires = row["leased_at"] + timedelta(seconds=settings.JOB_LEASE_SECONDS)
    return max(0.0, (expires - timezone.now()).total_seconds())


def job_task_run(task, model: type[Job], job_id: int, execute) -> None:
    """The body of a job's Celery task: run it, or wait for the worker that holds it.

    A worker killed mid-job (the kernel's OOM killer, a restart) has its message delivered
    again at once, while the job's lease is still fresh. Dropping that message would leave the
    job "running" forever; instead the task comes back when the lease has expired and then
    claims the job again, unless its first worker finished it meanwhile.
    """
    execute(job_id=job_id)
    left = job_lease_left(model, job_id)
    if left is not None and not task.request.is_eager:
        raise task.retry(countdown=left + 1, max_retries=None)


def jobs_abandoned_fail() -> int:
    """Fail every RUNNING job that nobody has renewed for two lease periods (its worker died
    and its message with it); each can be retried from its page. How many were failed."""
    cutoff = timezone.now() - timedelta(seconds=2 * settings.JOB_LEASE_SECONDS)
    failed = 0
    for model in job_kinds():
        for job in model.objects.filter(status=JobStatus.RUNNING, leased_at__lt=cutoff):
            claimed = model.objects.filter(
                pk=job.pk, status=JobStatus.RUNNING, leased_at=job.leased_at
            ).update(status=JobStatus.FAILED)
            if claimed:  # this sweep, not another worker's, ends it
                job_fail(job, WorkerLost("no worker has renewed this job's lease; it stopped"))
                failed += 1
    return failed


class WorkerLost(RuntimeError):
    pass


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
    job_finished.send(sender=type(job), job=job)


def job_fail(job: Job, error: BaseException) -> None:
    job.status = JobStatus.FAILED
    job.error = f"{type(error).__name__}: {error}"
    job.message = "Failed; it can be retried."
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "message", "finished_at", "updated_at"])
    broadcast(JOBS_GROUP, "job.update", job_payload(job))


def job_retry(job: Job) -> None:
    """Put a failed job back in the queue, with what its kind resets, and send its task."""
    if job.status != JobStatus.FAILED:
        raise ValueError("only a failed job can be retried")
    task = job_task(type(job))  # before any change: a kind without a task is not touched
    job.status = JobStatus.QUEUED
    job.error = ""
    job.message = "Queued again"
    job.attempts = 0  # a fresh JOB_MAX_ATTEMPTS
    reset = job.retry_reset()
    job.save(update_fields=["status", "error", "message", "attempts", "updated_at", *reset])
    broadcast(JOBS_GROUP, "job.update", job_payload(job))
    transaction.on_commit(lambda: task.delay(job_id=job.pk))
