"""`manage.py train`: a training job run in the command, with a progress bar on stderr."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from annotation.demo import demo_data_generate
from base.models import JobStatus
from inference.models import ModelTask, ModelVersion, TrainingJob

BAR = 30


@pytest.mark.django_db
def test_the_train_command_registers_a_version_and_draws_its_progress(settings, tmp_path):
    settings.DEMO_DATA_DIR = tmp_path / "demo"
    settings.INFERENCE_DEVICE = "cpu"  # exact comparisons below; CUDA kernels may vary
    demo_data_generate(patients=12, seed=5)
    out, err = StringIO(), StringIO()
    arguments = ("--model", "darknet19", "--epochs", "2", "--batch-size", "8", "--seed", "3")
    call_command("train", *arguments, stdout=out, stderr=err)

    job = TrainingJob.objects.get(demo=False)  # the demo's own jobs wait for a worker
    assert job.status == JobStatus.SUCCEEDED, job.error
    version = ModelVersion.objects.get()
    assert job.result == version
    assert (version.task, version.architecture, version.input_size) == (
        ModelTask.MALIGNANCY,
        "darknet19",
        128,
    )
    assert version.version == 1 and len(version.weights_sha256) == 64
    hyperparameters = version.hyperparameters
    assert (hyperparameters["epochs"], hyperparameters["batch_size"]) == (2, 8)
    assert (hyperparameters["seed"], hyperparameters["training_job"]) == (3, job.pk)
    assert [entry["epoch"] for entry in version.history] == [1, 2]
    assert out.getvalue() == f"{job.message}\n"
    assert out.getvalue().startswith(f"{version.label} registered")

    # One frame per epoch, redrawn in place, with the epoch's loss and validation AUC.
    frames = err.getvalue().split("\r")
    assert frames[0] == "" and frames[-1].endswith("\n")
    frames = [frame.rstrip("\n") for frame in frames[1:]]
    assert frames[0] == f"[{'.' * BAR}] epoch 0/2"
    for frame, entry in zip(frames[1:], version.history, strict=True):
        filled = BAR * entry["epoch"] // 2
        assert frame == (
            f"[{'#' * filled}{'.' * (BAR - filled)}] epoch {entry['epoch']}/2"
            f"  loss {entry['loss']:.4f}  validation AUC {entry['score']:.3f}"
        )

    # The same command again trains the same model: seeded split, initialisation, batches.
    call_command("train", *arguments, stdout=StringIO(), stderr=StringIO())
    second = ModelVersion.objects.get(version=2)
    assert second.weights_sha256 == version.weights_sha256
    assert second.metrics == version.metrics
    assert second.train_image_ids == version.train_image_ids

    # --model triage trains the triage classifier; here too few images show one answer.
    with pytest.raises(CommandError, match="too few images of a class"):
        call_command("train", "--model", "triage", "--epochs", "1", stdout=out, stderr=err)
    failed = TrainingJob.objects.filter(demo=False).latest("pk")
    assert (failed.task, failed.architecture, failed.status) == (
        ModelTask.TRIAGE,
        "resnet18",
        JobStatus.FAILED,
    )
    assert ModelVersion.objects.count() == 2
