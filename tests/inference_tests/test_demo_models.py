"""The demo's models: queued once when the demo data is in, then put in service as they finish.

The triage job trains for real, one epoch on a small demo data set; the ensemble step is
given registered models with set internal-validation figures, because the exam AUCs of
one-epoch models on a few held-out exams are noise (an AUC of 0 is refused by the weights).
"""

import pytest
from celery.signals import before_task_publish

from annotation.demo import demo_data_generate
from base.jobs import job_finish
from base.models import JobStatus
from inference.demo import DEMO_JOBS, demo_models_finish, demo_models_start
from inference.models import (
    Architecture,
    Ensemble,
    InferenceJob,
    ModelTask,
    ModelVersion,
    TrainingJob,
)
from inference.training import training_job_execute
from tests.factories import ExamFactory
from tests.inference_tests.factories import model_version_make
from tests.inference_tests.test_report import exam_images


def _demo_jobs() -> list[tuple[str, str, str]]:
    return list(
        TrainingJob.objects.filter(demo=True)
        .order_by("pk")
        .values_list("task", "architecture", "status")
    )


@pytest.mark.django_db
def test_demo_jobs_are_queued_once_and_again_only_after_a_failure(
    settings, django_capture_on_commit_callbacks
):
    settings.DEMO_TRAINING_EPOCHS = 3
    with django_capture_on_commit_callbacks() as enqueued:
        started = demo_models_start()
    assert [(job.task, job.architecture) for job in started] == list(DEMO_JOBS)
    assert len(enqueued) == 3  # one task per job, sent on commit
    for job in started:
        job.refresh_from_db()
        assert job.demo and job.status == JobStatus.QUEUED
        assert (job.input_size, job.epochs, job.seed) == (128, 3, 1)

    with django_capture_on_commit_callbacks() as enqueued:
        assert demo_models_start() == []
    assert enqueued == [] and TrainingJob.objects.count() == 3

    # Running or finished jobs are not queued again; only the failed one is.
    triage, resnet, darknet = started
    TrainingJob.objects.filter(pk=triage.pk).update(status=JobStatus.FAILED)
    TrainingJob.objects.filter(pk=resnet.pk).update(status=JobStatus.RUNNING)
    TrainingJob.objects.filter(pk=darknet.pk).update(status=JobStatus.SUCCEEDED)
    again = demo_models_start()
    assert [(job.task, job.architecture) for job in again] == [DEMO_JOBS[0]]
    assert again[0].demo and again[0].pk != triage.pk
    assert demo_models_start() == []
    assert TrainingJob.objects.filter(demo=True).count() == 4


@pytest.mark.django_db
def test_a_job_the_demo_did_not_start_puts_nothing_in_service():
    job = TrainingJob.objects.create(task=ModelTask.TRIAGE, architecture=Architecture.RESNET18)
    assert demo_models_finish(job) is None
    assert not ModelVersion.objects.exists() and not Ensemble.objects.exists()


@pytest.mark.django_db
def test_a_finished_demo_training_job_reaches_the_demo_through_the_job_finished_signal(
    monkeypatch,
):
    """Production code (training) only finishes the job; the demo hangs on base.jobs."""
    finished = []
    monkeypatch.setattr("inference.demo.demo_models_finish", finished.append)
    demo = TrainingJob.objects.create(
        task=ModelTask.TRIAGE, architecture=Architecture.RESNET18, demo=True
    )
    other = TrainingJob.objects.create(task=ModelTask.TRIAGE, architecture=Architecture.RESNET18)
    job_finish(other, message="done")
    job_finish(demo, message="done")
    assert finished == [demo]


@pytest.mark.django_db(transaction=True)
def test_each_demo_task_is_sent_with_its_job_already_marked_as_the_demos():
    """Outside a transaction a task is sent as soon as its job is created, and a waiting worker
    claims it at once: the job must be the demo's by then, or its model never goes in service."""
    marked_when_sent = []

    def seen(sender=None, body=None, **kwargs):
        _, task_kwargs, _ = body
        marked_when_sent.append(TrainingJob.objects.get(pk=task_kwargs["job_id"]).demo)

    before_task_publish.connect(seen, sender="inference.tasks.training_job_run")
    try:
        started = demo_models_start()
    finally:
        before_task_publish.disconnect(seen, sender="inference.tasks.training_job_run")
    assert len(started) == 3 and marked_when_sent == [True, True, True]


@pytest.mark.django_db(transaction=True)
def test_the_demo_triage_model_goes_into_service_when_its_job_finishes(settings, demo_data_files):
    settings.DEMO_DATA_DIR = demo_data_files(20, 12)
    settings.DEMO_TRAINING_EPOCHS = 1
    # Seed 12 gives every triage question two images of each answer in training and in
    # held-out validation at this size (the 3D view is rare); other seeds may not.
    demo_data_generate(patients=20, seed=12)  # its signal queues the demo's training jobs
    assert [(task, architecture) for task, architecture, _ in _demo_jobs()] == list(DEMO_JOBS)

    job = TrainingJob.objects.get(demo=True, task=ModelTask.TRIAGE)
    training_job_execute(job_id=job.pk)  # what the worker's task does
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result.in_service and job.result.input_size == 128
    assert len(job.history) == 1
    assert ModelVersion.objects.get(task=ModelTask.TRIAGE, in_service=True) == job.result
    # The malignancy jobs wait for the worker; no ensemble until both have finished.
    assert not Ensemble.objects.exists()
    assert [status for _, _, status in _demo_jobs()][1:] == [JobStatus.QUEUED] * 2
    assert demo_models_start() == []


def _malignancy_version(architecture: str, exam_auc: float, theta: dict[str, float]):
    """A registered malignancy model with the internal-validation figures training stores."""
    truth = {"1": 1, "2": 1, "3": 0, "4": 0}
    metrics = {"internal": {"exam_auc": exam_auc, "exam_theta": theta, "exam_truth": truth}}
    return model_version_make(architecture, metrics=metrics)


def _finished_demo_job(version: ModelVersion) -> TrainingJob:
    return TrainingJob.objects.create(
        task=ModelTask.MALIGNANCY,
        architecture=version.architecture,
        demo=True,
        status=JobStatus.SUCCEEDED,
        result=version,
        message=f"{version.label} registered",
    )


@pytest.mark.django_db
def test_both_demo_malignancy_models_make_the_ensemble_in_service_and_score_every_exam(
    django_capture_on_commit_callbacks,
):
    exams = [ExamFactory() for _ in range(3)]
    for exam in exams[:2]:
        exam_images(exam, 2)
    resnet = _finished_demo_job(
        _malignancy_version("resnet50", 0.8, {"1": 0.9, "2": 0.7, "3": 0.2, "4": 0.4})
    )
    assert demo_models_finish(resnet) is None  # the Darknet-19 is not there yet
    assert not Ensemble.objects.exists()

    darknet = _finished_demo_job(
        _malignancy_version("darknet19", 0.6, {"1": 0.8, "2": 0.3, "3": 0.4, "4": 0.1})
    )
    with django_capture_on_commit_callbacks() as enqueued:
        ensemble = demo_models_finish(darknet)
    assert ensemble.in_service
    assert (ensemble.resnet, ensemble.darknet) == (resnet.result, darknet.result)
    assert ensemble.weight_resnet == pytest.approx(0.8 / (0.8 + 0.6))
    scoring = InferenceJob.objects.get()
    assert scoring.ensemble == ensemble and scoring.status == JobStatus.QUEUED
    assert scoring.exam_ids == sorted(exam.pk for exam in exams[:2])  # the one without images: no
    assert len(enqueued) == 1

    # A second finish (a task delivered twice) makes no second ensemble and no second scoring.
    assert demo_models_finish(darknet) is None
    assert Ensemble.objects.count() == 1 and InferenceJob.objects.count() == 1


@pytest.mark.django_db
def test_an_ensemble_the_registry_refuses_is_reported_on_the_demo_job():
    flat = {"1": 0.5, "2": 0.5, "3": 0.5, "4": 0.5}
    _finished_demo_job(_malignancy_version("resnet50", 0.0, flat))
    darknet = _finished_demo_job(_malignancy_version("darknet19", 0.0, flat))
    assert demo_models_finish(darknet) is None
    darknet.refresh_from_db()
    assert darknet.status == JobStatus.SUCCEEDED
    assert "the demo's ensemble was not made: " in darknet.message
    assert "exam AUC of 0.000" in darknet.message
    assert not Ensemble.objects.exists() and not InferenceJob.objects.exists()
