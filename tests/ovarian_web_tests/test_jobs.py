"""Claiming jobs, their leases, and live progress over the jobs websocket."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from annotation.models import DemoDataJob
from base import jobs
from base.consumers import JobConsumer
from base.jobs import (
    JobKindUnknown,
    ProgressReporter,
    job_claim,
    job_enqueue,
    job_fail,
    job_kinds,
    job_payload,
    job_retry,
)
from base.models import JobStatus, job_models
from base.roles import Role
from inference.models import TrainingJob
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


def test_every_kind_of_job_has_its_registered_task():
    # The apps register their tasks when Django starts (AppConfig.ready imports tasks.py).
    kinds = job_kinds()
    assert set(kinds) == set(job_models())
    names = {model.__name__: task.name for model, task in kinds.items()}
    assert names == {
        "DemoDataJob": "annotation.tasks.demo_data_job_run",
        "ImportJob": "annotation.tasks.import_job_run",
        "TrainingJob": "inference.tasks.training_job_run",
        "InferenceJob": "inference.tasks.inference_job_run",
        "TriageJob": "inference.tasks.triage_job_run",
    }
    assert all(name in app.tasks for name in names.values())


class _SentTask:
    name = "annotation.tasks.demo_data_job_run"

    def __init__(self) -> None:
        self.sent: list[int] = []

    def delay(self, *, job_id: int) -> None:
        self.sent.append(job_id)


@pytest.mark.django_db
def test_enqueue_and_retry_send_the_registered_task_on_commit(
    monkeypatch, django_capture_on_commit_callbacks
):
    task = _SentTask()
    monkeypatch.setitem(jobs._TASKS, DemoDataJob, task)
    job = DemoDataJob.objects.create(patients=1, seed=1)
    with django_capture_on_commit_callbacks(execute=True):
        job_enqueue(job)
        assert task.sent == []  # not before the commit
    job_fail(job, RuntimeError("disk full"))
    with django_capture_on_commit_callbacks(execute=True):
        job_retry(job)
    assert task.sent == [job.pk, job.pk]


@pytest.mark.django_db
def test_a_job_model_without_a_task_is_refused_with_a_clear_error(monkeypatch):
    monkeypatch.delitem(jobs._TASKS, DemoDataJob)
    job = DemoDataJob.objects.create(patients=1, seed=1)
    with pytest.raises(JobKindUnknown, match=r"DemoDataJob has no task.*annotation/tasks.py"):
        job_enqueue(job)
    job_fail(job, RuntimeError("disk full"))
    with pytest.raises(JobKindUnknown):
        job_retry(job)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED  # untouched: it could not have run


@pytest.mark.django_db
def test_a_training_jobs_retry_and_payload_carry_its_own_fields():
    job = TrainingJob.objects.create(
        task="triage", architecture="resnet18", stop_requested=True, history=[{"epoch": 1}]
    )
    assert job_payload(job)["history"] == [{"epoch": 1}]
    assert "history" not in job_payload(DemoDataJob.objects.create(patients=1, seed=1))
    job_fail(job, RuntimeError("out of memory"))
    job_retry(job)
    job.refresh_from_db()
    assert (job.status, job.stop_requested, job.history) == (JobStatus.QUEUED, False, [])


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
