"""Celery tasks of the models area, each registered as the runner of its job model; all
routed to the `gpu` queue (CELERY_TASK_ROUTES)."""

from celery import shared_task

from base.jobs import job_kind, job_task_run
from inference.cleaning import triage_job_execute
from inference.inference_jobs import inference_job_execute
from inference.models import InferenceJob, TrainingJob, TriageJob
from inference.training import training_job_execute
from inference.workers import _start_heartbeat  # noqa: F401  (connects the worker heartbeat)


@job_kind(TrainingJob)
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def training_job_run(self, *, job_id: int) -> None:
    job_task_run(self, TrainingJob, job_id, training_job_execute)


@job_kind(InferenceJob)
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def inference_job_run(self, *, job_id: int) -> None:
    job_task_run(self, InferenceJob, job_id, inference_job_execute)


@job_kind(TriageJob)
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def triage_job_run(self, *, job_id: int) -> None:
    job_task_run(self, TriageJob, job_id, triage_job_execute)
