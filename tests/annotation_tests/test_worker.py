"""A real Celery worker runs the demo data job; a second delivery changes nothing."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from annotation.demo import demo_data_job_create, demo_data_job_execute
from annotation.models import DemoDataJob, Image
from base.models import JobStatus
from ovarian_web.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(job: DemoDataJob, polls: int = 600) -> DemoDataJob:
    for _ in range(polls):
        job.refresh_from_db()
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job still {job.status}")


def test_the_worker_runs_the_job_and_a_redelivery_is_harmless(settings, tmp_path):
    settings.DEMO_DATA_DIR = tmp_path / "demo"
    with start_worker(
        app, pool="solo", perform_ping_check=False, queues=["default"], shutdown_timeout=30
    ):
        job = _wait_for(demo_data_job_create(patients=2, seed=5))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["images_imported"] == Image.objects.count() > 0
    assert job.progress_done == job.progress_total > 0
    images = Image.objects.count()
    demo_data_job_execute(job_id=job.pk)  # the same message delivered again
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 1
    assert Image.objects.count() == images
