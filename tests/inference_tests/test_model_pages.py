"""The models area: registry pages, training jobs, triage and cleaning, workers."""

import io
from datetime import timedelta

import numpy as np
import pytest
import torch
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from annotation import services
from annotation.models import ImageSource, PathologyOutcome
from base.jobs import job_claim
from base.models import JobStatus
from base.roles import Role
from inference import cleaning, workers
from inference.ml.networks import build_network
from inference.models import (
    Architecture,
    ExclusionReason,
    ImageExclusion,
    ModelTask,
    ModelVersion,
    TrainingJob,
    TriagePrediction,
)
from tests import image_factories
from tests.factories import ExamFactory
from tests.inference_tests.factories import ensemble_make, model_version_make

pytestmark = pytest.mark.django_db


def _image(exam, value=0):
    image, _ = image_factories.image_store(
        exam=exam,
        pixels=np.full((32, 48), value, dtype=np.uint8),
        source=ImageSource.PNG,
        color_model="MONOCHROME2",
    )
    return image


@pytest.fixture
def coordinator(client_for):
    return client_for(Role.COORDINATOR)


def test_the_registry_page_lists_versions_and_ensembles(coordinator):
    ensemble = ensemble_make()
    response = coordinator.get(reverse("inference:model_list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert ensemble.resnet.label in page and ensemble.darknet.label in page
    assert "in service" in page and ensemble.resnet.weights_sha256[:14] in page


def test_starting_training_queues_a_job_and_bad_settings_are_refused(coordinator):
    form = {
        "task": "malignancy",
        "architecture": "darknet19",
        "input_size": 128,
        "epochs": 3,
        "batch_size": 16,
        "learning_rate": 0.001,
        "seed": 4,
        "borderline": "malignant",
    }
    response = coordinator.post(reverse("inference:training_start"), form)
    job = TrainingJob.objects.get()
    assert response.url == reverse("inference:training_detail", args=[job.pk])
    assert (job.architecture, job.epochs, job.seed, job.status) == ("darknet19", 3, 4, "queued")
    response = coordinator.post(reverse("inference:training_start"), {**form, "input_size": 64})
    assert response.status_code == 400 and TrainingJob.objects.count() == 1
    page = coordinator.get(reverse("inference:training_detail", args=[job.pk])).content.decode()
    assert 'id="training-chart"' in page and 'id="history-data"' in page


def test_a_stop_request_reaches_the_job(coordinator):
    job = TrainingJob.objects.create(task="malignancy", architecture="resnet18", status="running")
    coordinator.post(reverse("inference:training_stop", args=[job.pk]))
    job.refresh_from_db()
    assert job.stop_requested


def test_a_training_job_whose_worker_died_is_claimed_again(settings):
    job = TrainingJob.objects.create(
        task="malignancy",
        architecture="resnet18",
        status=JobStatus.RUNNING,
        leased_at=timezone.now() - timedelta(seconds=settings.JOB_LEASE_SECONDS + 5),
    )
    assert job_claim(TrainingJob, job.pk) is not None
    fresh = TrainingJob.objects.create(
        task="malignancy", architecture="resnet18", status="running", leased_at=timezone.now()
    )
    assert job_claim(TrainingJob, fresh.pk) is None


def test_an_upload_that_does_not_fit_is_refused_with_the_reason(coordinator):
    buffer = io.BytesIO()
    torch.save(build_network("darknet19", 1).state_dict(), buffer)
    upload = SimpleUploadedFile("elsewhere.pt", buffer.getvalue())
    form = {"task": "malignancy", "architecture": "resnet18", "input_size": 224, "file": upload}
    response = coordinator.post(reverse("inference:checkpoint_upload"), form)
    assert response.status_code == 400
    assert "does not fit resnet18" in response.content.decode()
    assert not ModelVersion.objects.exists()
    upload = SimpleUploadedFile("garbage.pt", b"not a checkpoint")
    form["file"] = upload
    response = coordinator.post(reverse("inference:checkpoint_upload"), form)
    assert response.status_code == 400 and not ModelVersion.objects.exists()


def test_an_ensemble_needs_internal_validation_figures(coordinator):
    resnet = model_version_make(Architecture.RESNET50, metrics={})
    darknet = model_version_make(Architecture.DARKNET19)
    form = {"resnet": resnet.pk, "darknet": darknet.pk, "rule": "youden", "in_service": "on"}
    response = coordinator.post(reverse("inference:ensemble_create"), form)
    assert response.status_code == 400
    assert "no internal-validation exam AUC" in response.content.decode()
    blind = model_version_make(Architecture.RESNET50, metrics={"internal": {"exam_auc": 0.0}})
    form["resnet"] = blind.pk
    response = coordinator.post(reverse("inference:ensemble_create"), form)
    assert response.status_code == 400
    assert (
        "AUC of 0.000" in response.content.decode()
        and "train it again" in response.content.decode()
    )


def test_scoring_without_an_ensemble_in_service_says_so(coordinator):
    response = coordinator.post(reverse("inference:scoring_start"), {"what": "all"}, follow=True)
    assert "No model ensemble is in service" in response.content.decode()


def test_retiring_a_version_takes_its_ensemble_out_of_service(coordinator):
    ensemble = ensemble_make()
    coordinator.post(reverse("inference:version_retire", args=[ensemble.darknet.pk]))
    ensemble.refresh_from_db()
    assert ensemble.retired and not ensemble.in_service


def _triage(thresholds=None):
    return model_version_make(
        Architecture.RESNET18,
        ModelTask.TRIAGE,
        outputs=["adnexal", "lesion", "ascites", "blood_flow", "three_d"],
        thresholds=thresholds or {"adnexal": {"threshold": 0.5}, "lesion": {"threshold": 0.4}},
    )


def test_cleaning_previews_applies_and_restores(coordinator):
    triage = _triage()
    benign, malignant = ExamFactory(), ExamFactory()
    services.pathology_set(exam=benign, outcome=PathologyOutcome.BENIGN)
    services.pathology_set(exam=malignant, outcome=PathologyOutcome.MALIGNANT)
    kept, not_adnexal, no_lesion = _image(benign, 1), _image(benign, 2), _image(benign, 3)
    malignant_no_lesion = _image(malignant, 4)
    for image, adnexal, lesion in [
        (kept, 0.9, 0.9),
        (not_adnexal, 0.2, 0.9),
        (no_lesion, 0.9, 0.3),
        (malignant_no_lesion, 0.9, 0.1),
    ]:
        TriagePrediction.objects.create(
            image=image, model_version=triage, probabilities={"adnexal": adnexal, "lesion": lesion}
        )
    plan = cleaning.cleaning_plan(version=triage)
    assert plan["triaged"] == 4
    reasons = {reason: entry["image_ids"] for reason, entry in plan["reasons"].items()}
    assert reasons == {
        ExclusionReason.NOT_ADNEXAL: [not_adnexal.pk],
        ExclusionReason.NO_LESION: [no_lesion.pk],
        ExclusionReason.MALIGNANT_NO_LESION: [malignant_no_lesion.pk],
    }
    assert not ImageExclusion.objects.exists()  # a preview writes nothing
    page = coordinator.get(reverse("inference:cleaning")).content.decode()
    assert f"Image {malignant_no_lesion.pk}" in page

    coordinator.post(reverse("inference:cleaning_apply"), {"version": triage.pk})
    assert ImageExclusion.objects.count() == 3
    removed = ImageExclusion.objects.get(image=malignant_no_lesion)
    assert (
        removed.reason == ExclusionReason.MALIGNANT_NO_LESION and removed.triage_version == triage
    )

    coordinator.post(reverse("inference:exclusion_restore", args=[removed.pk]))
    removed.refresh_from_db()
    assert removed.restored_at is not None and removed.restored_by is not None
    assert cleaning.cleaning_apply(version=triage) == 0  # a restore is not undone
    assert cleaning.exclusion_summary()["training_images"] == 2


def test_the_consensus_answer_decides_before_the_triage_model():
    triage = _triage()
    probabilities = {"adnexal": 0.9, "lesion": 0.9}
    assert cleaning._reason(probabilities, None, False, triage) is None
    consensus = [1.0, 0.0, 0.0, 0.0, 0.0]  # radiologists: adnexal, no lesion
    assert cleaning._reason(probabilities, consensus, True, triage) == "malignant_no_lesion"


def test_workers_report_their_device_and_the_page_shows_them(coordinator):
    workers.heartbeat("gpu@test", ["gpu"])
    seen = workers.workers_seen()
    assert [w["name"] for w in seen] == ["gpu@test"]
    assert seen[0]["device"].startswith(("CPU", "GPU"))
    page = coordinator.get(reverse("inference:workers")).content.decode()
    assert "gpu@test" in page and seen[0]["device"] in page


def test_the_train_command_stops_with_a_clear_message_without_data():
    with pytest.raises(CommandError, match="No training images"):
        call_command("train", "--model", "resnet18", "--epochs", "1")
    assert TrainingJob.objects.get().status == JobStatus.FAILED


def test_the_jobs_page_lists_training_and_scoring_jobs_too(
    client_for, django_assert_max_num_queries
):
    from inference.models import InferenceJob

    training = TrainingJob.objects.create(task="malignancy", architecture="darknet19")
    scoring = InferenceJob.objects.create(
        ensemble=ensemble_make(), exam_ids=[1, 2], scope="validation set", report={"scored": 2}
    )
    client = client_for(Role.COORDINATOR)
    with django_assert_max_num_queries(20):  # one query per kind of job, not per job
        page = client.get(reverse("annotation:job_list")).content.decode()
    assert f'data-job="trainingjob-{training.pk}"' in page and training.description in page
    assert f'data-job="inferencejob-{scoring.pk}"' in page and scoring.description in page
    # Only imports link to an import's report.
    assert reverse("annotation:import_detail", args=[scoring.pk]) not in page
