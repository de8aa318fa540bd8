"""Training, the registry, the ensemble and scoring, end to end on generated demo data.

One module-wide data set and one short training per network keep the suite quick; the
checks are about what is stored and refused, not how good a two-epoch model is.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from annotation.demo import demo_data_generate
from annotation.models import Exam, Image
from base.models import JobStatus
from inference import datasets, registry
from inference.inference_jobs import (
    NoModelInService,
    exam_result_compute,
    inference_job_create,
    inference_job_execute,
)
from inference.models import (
    ExamResult,
    ImageExclusion,
    ImagePrediction,
    InferenceJob,
    ModelVersion,
    ResultStatus,
    TrainingJob,
)
from inference.training import training_job_create, training_job_execute

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_data(settings, demo_data_files):
    settings.DEMO_DATA_DIR = demo_data_files(24, 5)
    demo_data_generate(patients=24, seed=5)


def _train(architecture: str, **fields) -> TrainingJob:
    job = training_job_create(
        task="malignancy", architecture=architecture, epochs=2, batch_size=16, **fields
    )
    training_job_execute(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_splits_are_by_patient_and_external_centres_validate(demo_data):
    dataset = datasets.malignancy_dataset(seed=1)
    assert set(dataset.validation) >= {"internal"}
    assert any(name.startswith("external ") for name in dataset.validation)
    patients = {}
    for name, split in [("train", dataset.train), *dataset.validation.items()]:
        for patient in split.patient_ids:
            assert patients.setdefault(patient, name) == name
    dataset.validation["internal"].patient_ids[0] = dataset.train.patient_ids[0]
    with pytest.raises(datasets.DatasetError, match="splits must be by patient"):
        datasets.split_check(dataset)


def test_train_register_ensemble_and_score(demo_data):
    resnet = _train("resnet18")
    darknet = _train("darknet19")
    assert resnet.status == darknet.status == JobStatus.SUCCEEDED, resnet.error or darknet.error
    assert len(resnet.history) == 2 and {"loss", "score"} <= set(resnet.history[0])
    version = resnet.result
    assert version.version == 1 and version.input_size == 128
    assert len(version.weights_sha256) == 64
    assert set(version.metrics) >= {"internal", "best_epoch"}
    assert version.metrics["internal"]["images"] == len(version.validation_image_ids["internal"])
    assert not set(version.train_image_ids) & set(version.validation_image_ids["internal"])
    registry.version_file_check(version)

    ensemble = registry.ensemble_create(resnet=version, darknet=darknet.result, in_service=True)
    total = ensemble.weight_resnet + ensemble.weight_darknet
    assert total == pytest.approx(1.0)
    assert ensemble.weight_resnet == pytest.approx(
        version.metrics["internal"]["exam_auc"]
        / (version.metrics["internal"]["exam_auc"] + darknet.result.metrics["internal"]["exam_auc"])
    )

    exam = Exam.objects.filter(images__isnull=False).first()
    job = inference_job_create(exam_ids=[exam.pk], scope="test")
    inference_job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    result = ExamResult.objects.get(exam=exam, ensemble=ensemble)
    assert result.status == ResultStatus.SCORED
    expected = ensemble.weight_resnet * result.theta_resnet + ensemble.weight_darknet * (
        result.theta_darknet
    )
    assert result.score == pytest.approx(expected)
    assert result.malignant == (result.score >= ensemble.threshold)
    stored = ImagePrediction.objects.filter(image_id__in=result.used_image_ids)
    assert stored.count() == 2 * len(result.used_image_ids)
    assert all(prediction.heatmap for prediction in stored)
    for prediction in stored.select_related("image"):
        # The overlay covers the image as shown: its shape, not the letterboxed square.
        with prediction.heatmap.open("rb") as handle:
            width, height = PILImage.open(handle).size
        image = prediction.image
        assert max(width, height) == version.input_size
        assert width / height == pytest.approx(image.width / image.height, rel=0.02)

    # Running the same job again changes nothing.
    before = list(ImagePrediction.objects.values_list("pk", "probability"))
    InferenceJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    inference_job_execute(job_id=job.pk)
    assert list(ImagePrediction.objects.values_list("pk", "probability")) == before
    assert ExamResult.objects.filter(exam=exam).count() == 1

    # An exam whose every image was removed is "not scorable", with the reason.
    other = Exam.objects.filter(images__isnull=False).exclude(pk=exam.pk).first()
    for image in other.images.all():
        ImageExclusion.objects.create(image=image, reason="not_adnexal")
    result = exam_result_compute(exam=other, ensemble=ensemble)
    assert result.status == ResultStatus.NOT_SCORABLE and "No usable image" in result.reason

    # A retired version takes no new jobs, and a job queued before the retirement scores
    # nothing; its results stay.
    unscored = Exam.objects.filter(images__isnull=False).exclude(pk__in=[exam.pk, other.pk])
    queued = inference_job_create(exam_ids=[unscored.first().pk], scope="test")
    registry.version_retire(version=version)
    inference_job_execute(job_id=queued.pk)
    queued.refresh_from_db()
    assert queued.status == JobStatus.FAILED and "retired" in queued.error
    ensemble.refresh_from_db()
    assert ensemble.retired and not ensemble.in_service
    with pytest.raises(NoModelInService):
        inference_job_create(exam_ids=[exam.pk], scope="test")
    with pytest.raises(NoModelInService):
        inference_job_create(exam_ids=[exam.pk], scope="test", ensemble=ensemble)
    assert ExamResult.objects.filter(ensemble=ensemble).count() == 2


def test_too_few_images_of_a_class_stops_with_a_message(demo_data):
    malignant = Image.objects.exclude(exam__pathology__outcome="benign")
    for image in malignant:
        ImageExclusion.objects.create(image=image, reason="no_lesion")
    job = _train("resnet18")
    assert job.status == JobStatus.FAILED
    assert "too few" in job.error.lower()
    assert not ModelVersion.objects.exists()


def test_a_checkpoint_that_does_not_fit_is_refused(demo_data, tmp_path):
    import io

    import torch

    from inference.ml.networks import build_network

    buffer = io.BytesIO()
    torch.save(build_network("resnet18", 1).state_dict(), buffer)
    upload = SimpleUploadedFile("resnet18.pt", buffer.getvalue())
    with pytest.raises(registry.RegistryError, match="does not fit resnet50"):
        registry.checkpoint_upload(
            task="malignancy", architecture="resnet50", input_size=128, file=upload
        )
    upload.seek(0)
    version = registry.checkpoint_upload(
        task="malignancy", architecture="resnet18", input_size=128, file=upload
    )
    assert version.source == "uploaded" and version.version == 1
