"""A worker killed mid-job: the job is taken up again, never left "running" forever, and
a job that kills its worker every time is failed after JOB_MAX_ATTEMPTS, not retried forever.

A real Celery worker (prefork, one child) on the gpu queue over Redis trains a model; the
test kills the child with SIGKILL, as the kernel's OOM killer would, and follows the job.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.utils import timezone

from annotation.demo import demo_data_generate
from base.jobs import jobs_abandoned_fail
from base.models import JobStatus
from inference.models import TrainingJob
from inference.training import training_job_create, training_job_stop

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 10  # the shortest the settings allow
MAX_ATTEMPTS = 2


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _wait(job: TrainingJob, condition, what: str, seconds: float = 240) -> TrainingJob:
    deadline = time.monotonic() + seconds  # a hung worker fails the test, it does not hang it
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if condition(job):
            return job
        time.sleep(0.2)
    raise AssertionError(f"{what}: job still {job.status}, attempts {job.attempts}")


@pytest.fixture
def gpu_worker(server_env):
    env = {
        **server_env,
        "JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "JOB_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "INFERENCE_DEVICE": "cpu",
    }
    command = [sys.executable, "-m", "celery", "-A", "ovarian_web", "worker", "-Q", "gpu"]
    command += ["--pool", "prefork", "--concurrency", "1", "--without-mingle", "--without-gossip"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_worker_killed_mid_training_has_its_job_taken_up_again(
    settings, demo_data_files, redis_url, gpu_worker
):
    settings.DEMO_DATA_DIR = demo_data_files(24, 5)
    demo_data_generate(patients=24, seed=5)
    TrainingJob.objects.all().delete()  # the demo's own jobs; this test makes its own
    job = training_job_create(
        task="malignancy", architecture="darknet19", epochs=200, batch_size=16, enqueue=False
    )
    Celery(broker=redis_url, set_as_current=False).send_task(
        "inference.tasks.training_job_run", kwargs={"job_id": job.pk}, queue="gpu"
    )
    _wait(job, lambda j: len(j.history) >= 1, "the first epoch")
    children = _children(gpu_worker.pid)
    assert len(children) == 1
    os.kill(children[0], signal.SIGKILL)

    # The message comes back at once; the task waits for the dead child's lease, then claims.
    job = _wait(job, lambda j: j.attempts == 2 and j.status == JobStatus.RUNNING, "reclaim")
    _wait(job, lambda j: len(j.history) >= 1, "an epoch after the reclaim")
    training_job_stop(job=job)
    job = _wait(job, lambda j: j.status != JobStatus.RUNNING, "the stop")
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2 and job.result is not None
    assert job.result.metrics["stopped_early"] is True


def test_a_job_that_kills_its_worker_every_time_is_failed_after_the_last_attempt(
    settings, demo_data_files, redis_url, gpu_worker
):
    settings.DEMO_DATA_DIR = demo_data_files(24, 5)
    demo_data_generate(patients=24, seed=5)
    TrainingJob.objects.all().delete()
    job = training_job_create(
        task="malignancy", architecture="darknet19", epochs=200, batch_size=16, enqueue=False
    )
    Celery(broker=redis_url, set_as_current=False).send_task(
        "inference.tasks.training_job_run", kwargs={"job_id": job.pk}, queue="gpu"
    )
    for attempt in range(1, MAX_ATTEMPTS + 1):
        # As soon as a child claims the job it dies, as one running out of memory would.
        _wait(job, lambda j, n=attempt: j.attempts == n, f"attempt {attempt}")
        (child,) = _children(gpu_worker.pid)
        os.kill(child, signal.SIGKILL)

    job = _wait(job, lambda j: j.status == JobStatus.FAILED, "the failure")
    assert job.attempts == MAX_ATTEMPTS
    assert "WorkerLost" in job.error and f"each of {MAX_ATTEMPTS} attempts" in job.error
    time.sleep(LEASE_SECONDS + 2)  # longer than a lease: nothing claims it again
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.FAILED, MAX_ATTEMPTS)


def test_a_job_nobody_renews_for_two_leases_is_failed_and_can_be_retried(settings):
    stale = timezone.now() - timedelta(seconds=2 * settings.JOB_LEASE_SECONDS + 5)
    lost = TrainingJob.objects.create(
        task="malignancy", architecture="resnet18", status=JobStatus.RUNNING, leased_at=stale
    )
    alive = TrainingJob.objects.create(
        task="malignancy",
        architecture="resnet18",
        status=JobStatus.RUNNING,
        leased_at=timezone.now(),
    )
    assert jobs_abandoned_fail() == 1
    assert jobs_abandoned_fail() == 0  # once
    lost.refresh_from_db()
    alive.refresh_from_db()
    assert lost.status == JobStatus.FAILED and "WorkerLost" in lost.error
    assert "retried" in lost.message
    assert alive.status == JobStatus.RUNNING
