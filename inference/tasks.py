"""Celery tasks of the models area; all routed to the `gpu` queue (CELERY_TASK_ROUTES)."""

from celery import shared_task

from .cleaning import triage_job_execute
from .inference_jobs import inference_job_execute
from .training import training_job_execute
from .workers import _start_heartbeat  # noqa: F401  (connects the worker heartbeat)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def training_job_run(*, job_id: int) -> None:
    training_job_execute(job_id=job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def inference_job_run(*, job_id: int) -> None:
    inference_job_execute(job_id=job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def triage_job_run(*, job_id: int) -> None:
    triage_job_execute(job_id=job_id)
