from celery import shared_task

from .demo import demo_data_job_execute
from .import_jobs import import_job_execute


@shared_task(acks_late=True, reject_on_worker_lost=True)
def demo_data_job_run(*, job_id: int) -> None:
    demo_data_job_execute(job_id=job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_job_run(*, job_id: int) -> None:
    import_job_execute(job_id=job_id)
