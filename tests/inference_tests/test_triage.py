"""The triage classifier (method step 2): trained on the annotation set's consensus labels,
thresholds chosen on held-out images with the precision/recall they give, then run over the
whole pool with one stored prediction per image and model version.

The trained model is one epoch on a small demo data set: the checks are about what is stored
and that it is what the model gives, not how good the model is.
"""

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.demo import demo_data_generate
from annotation.models import AnnotationSet, Image
from base.models import JobStatus
from inference import datasets, registry
from inference.cleaning import cleaning_plan, triage_job_create, triage_job_execute
from inference.inference_jobs import loaded_network, triage_reason
from inference.ml.train import predict
from inference.models import ModelTask, TriageJob, TriagePrediction
from inference.training import training_job_create, training_job_execute, triage_thresholds

OUTPUTS = datasets.TRIAGE_OUTPUTS


def _split(targets: list[list[int]]) -> datasets.Split:
    count = len(targets)
    return datasets.Split(
        image_ids=list(range(1, count + 1)),
        exam_ids=list(range(1, count + 1)),
        patient_ids=list(range(1, count + 1)),
        targets=np.asarray(targets, dtype=np.float32),
    )


def test_triage_thresholds_are_youden_with_the_precision_and_recall_they_give():
    # Per column: adnexal, lesion (every image has one), ascites.
    split = _split([[1, 1, 1], [1, 1, 0], [0, 1, 1], [0, 1, 0], [1, 1, 0]])
    probabilities = np.asarray(
        [[0.9, 0.6, 0.7], [0.8, 0.6, 0.65], [0.3, 0.6, 0.6], [0.6, 0.6, 0.2], [0.4, 0.6, 0.1]],
        dtype=np.float32,  # as the network gives them
    )
    chosen = triage_thresholds(split, probabilities, ("adnexal", "lesion", "ascites"))
    # adnexal: at 0.8 two of three positives called, no negative (J = 2/3, the best).
    assert chosen["adnexal"]["threshold"] == pytest.approx(0.8)
    assert chosen["adnexal"]["recall"] == pytest.approx(2 / 3)
    assert chosen["adnexal"]["precision"] == 1.0
    # One class only: no threshold can be chosen; 0.5 stands, without figures.
    assert chosen["lesion"] == {
        "threshold": 0.5,
        "precision": None,
        "recall": None,
        "note": "one class",
    }
    # ascites: at 0.6 both positives and one of three negatives called (J = 2/3).
    assert chosen["ascites"]["threshold"] == pytest.approx(0.6)
    assert chosen["ascites"]["recall"] == 1.0
    assert chosen["ascites"]["precision"] == pytest.approx(2 / 3)


def _prediction_rows(version) -> list[tuple]:
    rows = TriagePrediction.objects.filter(model_version=version).order_by("pk")
    return list(rows.values_list("pk", "image_id", "probabilities"))


@pytest.mark.django_db
def test_triage_trains_on_consensus_labels_and_triages_the_pool_once(settings, demo_data_files):
    settings.DEMO_DATA_DIR = demo_data_files(20, 12)
    settings.INFERENCE_DEVICE = "cpu"  # exact comparisons below; CUDA kernels may vary
    # Seed 12 gives every triage question two images of each answer in training and in
    # held-out validation at this size (the 3D view is rare); other seeds may not.
    demo_data_generate(patients=20, seed=12)
    consensus = datasets.triage_targets(AnnotationSet.objects.order_by("pk"))

    job = training_job_create(task="triage", architecture="resnet18", epochs=1, batch_size=16)
    training_job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    version = job.result
    assert version.task == ModelTask.TRIAGE and version.outputs == list(OUTPUTS)

    # Trained and validated on the consensus-labelled images, split by patient.
    held_out = version.validation_image_ids[datasets.INTERNAL]
    assert set(version.train_image_ids) | set(held_out) == set(consensus)
    assert not set(version.train_image_ids) & set(held_out)
    split = datasets.triage_dataset(seed=job.seed).validation[datasets.INTERNAL]
    assert split.image_ids == held_out
    assert split.targets.tolist() == [consensus[image_id] for image_id in held_out]

    # The stored thresholds are those chosen on the held-out images, and the precision and
    # recall stored with each are what that threshold gives on them.
    network = loaded_network(version)
    probabilities = predict(
        network,
        datasets.load_inputs(held_out, version.input_size),
        input_size=version.input_size,
        batch_size=64,
        device=settings.INFERENCE_DEVICE,
    )
    assert set(version.thresholds) == set(OUTPUTS)
    assert version.thresholds == triage_thresholds(split, probabilities, OUTPUTS)
    for index, name in enumerate(OUTPUTS):
        entry = version.thresholds[name]
        truth = split.targets[:, index] == 1
        called = probabilities[:, index] >= entry["threshold"]
        assert entry["recall"] == pytest.approx((called & truth).sum() / truth.sum())
        assert entry["precision"] == pytest.approx((called & truth).sum() / called.sum())
    assert set(version.metrics[datasets.INTERNAL]["outputs"]) == set(OUTPUTS)

    # Over the pool: every shown first frame, one prediction each; a hidden image is left out.
    hidden = Image.objects.filter(frame_index=0).order_by("pk").first()
    Image.objects.filter(pk=hidden.pk).update(hidden=True)
    pool = list(
        Image.objects.filter(hidden=False, frame_index=0)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    triage = triage_job_create(version=version)
    triage_job_execute(job_id=triage.pk)
    triage.refresh_from_db()
    assert triage.status == JobStatus.SUCCEEDED, triage.error
    rows = _prediction_rows(version)
    assert sorted(image_id for _, image_id, _ in rows) == pool
    stored = {image_id: values for _, image_id, values in rows}
    assert all(set(values) == set(OUTPUTS) for values in stored.values())
    assert all(0 <= p <= 1 for values in stored.values() for p in values.values())
    would_remove = sum(triage_reason(values, version) is not None for values in stored.values())
    assert triage.report == {"images": len(pool), "would_remove": would_remove}
    assert f"{len(pool)} images triaged; {would_remove} would leave" in triage.message
    # What is stored is what the model gives.
    for image_id, given in zip(held_out, probabilities, strict=True):
        if image_id in stored:
            expected = [stored[image_id][name] for name in OUTPUTS]
            assert expected == pytest.approx(given.tolist(), abs=1e-5)
    assert cleaning_plan(version=version)["triaged"] == len(pool)

    # Run again — the task delivered twice, the job queued again, a new job: nothing more.
    triage_job_execute(job_id=triage.pk)  # finished: nobody claims it
    TriageJob.objects.filter(pk=triage.pk).update(status=JobStatus.QUEUED)
    triage_job_execute(job_id=triage.pk)
    again = triage_job_create(version=version)
    triage_job_execute(job_id=again.pk)
    again.refresh_from_db()
    assert again.status == JobStatus.SUCCEEDED and again.report == triage.report
    assert _prediction_rows(version) == rows

    # Another model version stores its own prediction per image, beside the first one's.
    with version.weights.open("rb") as handle:
        upload = SimpleUploadedFile("triage.pt", handle.read())
    uploaded = registry.checkpoint_upload(
        task=ModelTask.TRIAGE, architecture="resnet18", input_size=128, file=upload
    )
    other = triage_job_create(version=uploaded)
    triage_job_execute(job_id=other.pk)
    assert sorted(image_id for _, image_id, _ in _prediction_rows(uploaded)) == pool
    assert TriagePrediction.objects.count() == 2 * len(pool)
    assert _prediction_rows(version) == rows
