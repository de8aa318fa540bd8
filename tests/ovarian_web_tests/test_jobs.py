"""Claiming jobs, their leases, and live progress over the jobs websocket."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from annotation.models import DemoDataJob
from base.consumers import JobConsumer
from base.jobs import ProgressReporter, job_claim, job_fail, job_retry, job_task_name
from base.models import JobStatus, job_models
from base.roles import Role
from ovarian_web.celery import app
from tests.factories import UserFactory


@pytest.mark.django_db
def test_a_job_is_claimed_once():
    job = DemoDataJob.objects.create(patients=1, seed=1)
    assert job_claim(DemoDataJob, job.pk) is not None
    assert job_claim(DemoDataJob, job.pk) is None
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)


@pytest.mark.django_db
def test_a_running_job_whose_worker_died_is_claimed_again_after_its_lease(settings):
    settings.JOB_LEASE_SECONDS = 60
    fresh = DemoDataJob.objects.create(
        patients=1, seed=1, status=JobStatus.RUNNING, leased_at=timezone.now()
    )
    stale = DemoDataJob.objects.create(
        patients=1,
        seed=2,
        status=JobStatus.RUNNING,
        leased_at=timezone.now() - timedelta(seconds=61),
    )
    assert job_claim(DemoDataJob, fresh.pk) is None
    claimed = job_claim(DemoDataJob, stale.pk)
    assert claimed is not None and claimed.attempts == 1


@pytest.mark.django_db
def test_a_job_whose_worker_died_at_every_attempt_is_failed_with_the_reason(settings):
    settings.JOB_LEASE_SECONDS = 60
    settings.JOB_MAX_ATTEMPTS = 2
    expired = timezone.now() - timedelta(seconds=61)
    job = DemoDataJob.objects.create(
        patients=1, seed=1, status=JobStatus.RUNNING, leased_at=expired, attempts=1
    )
    assert job_claim(DemoDataJob, job.pk) is not None  # the second attempt
    DemoDataJob.objects.filter(pk=job.pk).update(leased_at=expired)  # its worker died again
    assert job_claim(DemoDataJob, job.pk) is None
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.FAILED, 2)
    assert "WorkerLost" in job.error and "each of 2 attempts" in job.error
    job_retry(job)  # by hand: a fresh set of attempts
    claimed = job_claim(DemoDataJob, job.pk)
    assert claimed is not None and claimed.attempts == 1


def test_every_kind_of_job_names_its_task():
    import annotation.tasks  # noqa: F401  (registers the tasks)
    import inference.tasks  # noqa: F401

    names = [job_task_name(model) for model in job_models()]
    assert len(names) >= 5
    assert all(name in app.tasks for name in names)


@pytest.mark.django_db
def test_only_failed_jobs_are_retried():
    job = DemoDataJob.objects.create(patients=1, seed=1)
    with pytest.raises(ValueError):
        job_retry(job)
    job_fail(job, RuntimeError("disk full"))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "disk full" in job.error
    job_retry(job)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.error == ""


def _connect(user):
    communicator = WebsocketCommunicator(JobConsumer.as_asgi(), "/ws/jobs/")
    communicator.scope["user"] = user
    return communicator


@pytest.mark.django_db(transaction=True)
async def test_coordinators_see_job_progress_live():
    user = await database_sync_to_async(UserFactory)(role=Role.COORDINATOR)
    communicator = _connect(user)
    connected, _ = await communicator.connect()
    assert connected
    job = await database_sync_to_async(DemoDataJob.objects.create)(patients=3, seed=4)
    await database_sync_to_async(ProgressReporter(job, "Loading images"))(10, 10)
    message = await communicator.receive_json_from(timeout=10)
    assert message["type"] == "job.update"
    job_message = message["job"]
    assert (job_message["id"], job_message["done"], job_message["total"]) == (job.pk, 10, 10)
    assert job_message["message"] == "Loading images"
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", [Role.RADIOLOGIST, Role.CLINICIAN, None])
async def test_other_roles_cannot_listen_to_jobs(role):
    user = await database_sync_to_async(UserFactory)(role=role)
    connected, code = await _connect(user).connect()
    assert not connected and code == 4403


async def test_anonymous_sockets_are_refused():
    from django.contrib.auth.models import AnonymousUser

    connected, code = await _connect(AnonymousUser()).connect()
    assert not connected
