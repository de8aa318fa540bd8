"""Celery tasks of the annotation layer, each registered as the runner of its job model."""

from celery import shared_task

from annotation.demo import demo_data_job_execute
from annotation.importing.jobs import import_job_execute
from annotation.models import DemoDataJob, ImportJob
from base.jobs import job_kind, job_task_run


@job_kind(DemoDataJob)
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def demo_data_job_run(self, *, job_id: int) -> None:
    job_task_run(self, DemoDataJob, job_id, demo_data_job_execute)


@job_kind(ImportJob)
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def import_job_run(self, *, job_id: int) -> None:
    job_task_run(self, ImportJob, job_id, import_job_execute)
