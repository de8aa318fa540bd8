"""Training jobs: the data from the database, the network from inference.ml, a registry entry.

The best epoch is the one with the highest exam-level AUC on internal validation (the exam
score θ from its images' probabilities), as the method asks; image-level AUC is reported too.
"""

import numpy as np
import torch
from django.conf import settings

from base.jobs import ProgressReporter, job_claim, job_enqueue, job_fail, job_finish, job_retry
from inference import datasets, registry
from inference.ml.networks import build_network
from inference.ml.train import TrainConfig, TrainingDataError, predict, train_model
from inference.models import Architecture, Borderline, ModelTask, TrainingJob
from inference.scoring import choose_threshold, exam_score
from studies.stats.roc import auc


class TrainingError(ValueError):
    pass


def training_job_create(
    *,
    task: str,
    architecture: str,
    user=None,
    input_size: int = 128,
    epochs: int = 8,
    batch_size: int = 32,
    learning_rate: float = 0.001,
    seed: int = 1,
    borderline: str = Borderline.MALIGNANT,
    demo: bool = False,
    enqueue: bool = True,
) -> TrainingJob:
    """A queued training job; its task is sent on commit (at once outside a transaction), so
    everything the worker reads, `demo` included, is set here when the row is created."""
    if task not in ModelTask.values:
        raise TrainingError(f"Unknown task {task!r}: one of {', '.join(ModelTask.values)}")
    if architecture not in Architecture.values:
        raise TrainingError(
            f"Unknown model {architecture!r}: one of {', '.join(Architecture.values)}"
        )
    if input_size < 128:
        raise TrainingError("The input size must be at least 128 px (heatmaps need it).")
    job = TrainingJob.objects.create(
        task=task,
        architecture=architecture,
        input_size=input_size,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        borderline=borderline,
        demo=demo,
        created_by=user,
        message="Queued",
    )
    if enqueue:
        job_enqueue(job)
    return job


def training_job_retry(*, job: TrainingJob) -> None:
    job_retry(job)  # also clears the stop request and the epoch history (TrainingJob)


def training_job_stop(*, job: TrainingJob) -> None:
    """Ask a running job to stop after its current epoch; it keeps the best epoch so far."""
    TrainingJob.objects.filter(pk=job.pk).update(stop_requested=True)


def exam_aucs(
    split: datasets.Split, probabilities: np.ndarray, output: int = 0
) -> tuple[float | None, float | None, dict[int, float]]:
    """Exam-level AUC (θ per exam), image-level AUC, and θ per exam."""
    truth = split.targets[:, output]
    by_exam: dict[int, list[float]] = {}
    exam_truth: dict[int, float] = {}
    for exam_id, p, t in zip(split.exam_ids, probabilities[:, output], truth, strict=True):
        by_exam.setdefault(exam_id, []).append(float(p))
        exam_truth[exam_id] = float(t)
    theta = {exam_id: exam_score(values) for exam_id, values in by_exam.items()}
    exams = sorted(theta)
    return (
        _auc([exam_truth[e] for e in exams], [theta[e] for e in exams]),
        _auc(truth, probabilities[:, output]),
        theta,
    )


def _auc(truth, scores) -> float | None:
    truth = np.asarray(truth)
    if truth.min(initial=1) == truth.max(initial=0):
        return None  # one class only: no AUC
    return float(auc(truth, np.asarray(scores)))


def _malignancy_metrics(split: datasets.Split, probabilities: np.ndarray) -> dict:
    exam_auc, image_auc, theta = exam_aucs(split, probabilities)
    exam_truth = dict(zip(split.exam_ids, split.targets[:, 0].tolist(), strict=True))
    return {
        "exam_auc": exam_auc,
        "image_auc": image_auc,
        "images": len(split.image_ids),
        "exams": len(theta),
        "exam_theta": {str(e): t for e, t in theta.items()},
        "exam_truth": {str(e): int(exam_truth[e]) for e in theta},
    }


def _triage_metrics(
    split: datasets.Split, probabilities: np.ndarray, outputs: tuple[str, ...]
) -> dict:
    per_output = {}
    for index, name in enumerate(outputs):
        per_output[name] = {"image_auc": _auc(split.targets[:, index], probabilities[:, index])}
    aucs = [m["image_auc"] for m in per_output.values() if m["image_auc"] is not None]
    return {
        "mean_auc": float(np.mean(aucs)) if aucs else None,
        "images": len(split.image_ids),
        "outputs": per_output,
    }


def triage_thresholds(
    split: datasets.Split, probabilities: np.ndarray, outputs: tuple[str, ...]
) -> dict:
    """Per output: the Youden threshold on held-out images and the precision/recall it gives."""
    chosen = {}
    for index, name in enumerate(outputs):
        truth = split.targets[:, index].astype(int)
        scores = probabilities[:, index]
        if truth.min(initial=1) == truth.max(initial=0):
            chosen[name] = {
                "threshold": 0.5,
                "precision": None,
                "recall": None,
                "note": "one class",
            }
            continue
        threshold, recall, _ = choose_threshold(scores.tolist(), truth.tolist(), rule="youden")
        predicted = scores >= threshold
        true_positive = int((predicted & (truth == 1)).sum())
        precision = true_positive / int(predicted.sum()) if predicted.any() else None
        chosen[name] = {"threshold": float(threshold), "precision": precision, "recall": recall}
    return chosen


def _score_of(job: TrainingJob, split: datasets.Split, outputs: tuple[str, ...]):
    def evaluate(probabilities: np.ndarray) -> dict:
        if job.task == ModelTask.MALIGNANCY:
            exam_auc, image_auc, _ = exam_aucs(split, probabilities)
            return {"score": exam_auc or 0.0, "exam_auc": exam_auc, "image_auc": image_auc}
        metrics = _triage_metrics(split, probabilities, outputs)
        return {"score": metrics["mean_auc"] or 0.0, "mean_auc": metrics["mean_auc"]}

    return evaluate


def _dataset(job: TrainingJob) -> datasets.Dataset:
    if job.task == ModelTask.TRIAGE:
        return datasets.triage_dataset(seed=job.seed)
    return datasets.malignancy_dataset(seed=job.seed, borderline=job.borderline)


def training_run(job: TrainingJob, *, progress=None, threads: int | None = None):
    """Train, evaluate on every validation set and register the model; returns the version."""
    dataset = _dataset(job)
    internal = dataset.validation.get(datasets.INTERNAL)
    if internal is None or not internal.image_ids:
        raise TrainingError("No internal validation images: too few patients.")
    progress = progress or (lambda done, total: None)
    progress(0, job.epochs)
    train_images = datasets.load_inputs(dataset.train.image_ids, job.input_size)
    internal_images = datasets.load_inputs(internal.image_ids, job.input_size)
    config = TrainConfig(
        arch=job.architecture,
        num_outputs=len(dataset.outputs),
        input_size=job.input_size,
        epochs=job.epochs,
        batch_size=job.batch_size,
        learning_rate=job.learning_rate,
        seed=job.seed,
        device=settings.INFERENCE_DEVICE,
        pretrained_path=settings.PRETRAINED_WEIGHTS.get(job.architecture) or None,
        threads=threads,
    )

    def on_epoch(epoch: int, metrics: dict) -> None:
        job.history.append({"epoch": epoch, **_plain(metrics)})
        TrainingJob.objects.filter(pk=job.pk).update(history=job.history)
        progress(epoch, job.epochs)

    def should_stop() -> bool:
        return TrainingJob.objects.filter(pk=job.pk, stop_requested=True).exists()

    result = train_model(
        config,
        train_images,
        torch.from_numpy(dataset.train.targets),
        internal_images,
        torch.from_numpy(internal.targets),
        evaluate=_score_of(job, internal, dataset.outputs),
        on_epoch=on_epoch,
        should_stop=should_stop,
    )
    network = build_network(job.architecture, len(dataset.outputs))
    network.load_state_dict(result.state_dict)
    metrics, thresholds = {}, {}
    for name, split in dataset.validation.items():
        images = internal_images if name == datasets.INTERNAL else None
        if images is None:
            images = datasets.load_inputs(split.image_ids, job.input_size)
        probabilities = predict(
            network, images, input_size=job.input_size, batch_size=64, device=config.device
        )
        if job.task == ModelTask.MALIGNANCY:
            metrics[name] = _malignancy_metrics(split, probabilities)
        else:
            metrics[name] = _triage_metrics(split, probabilities, dataset.outputs)
            if name == datasets.INTERNAL:
                thresholds = triage_thresholds(split, probabilities, dataset.outputs)
    metrics["best_epoch"] = result.best_epoch
    metrics["stopped_early"] = result.stopped
    return registry.model_version_register(
        task=job.task,
        architecture=job.architecture,
        input_size=job.input_size,
        outputs=list(dataset.outputs),
        state_dict=result.state_dict,
        train_image_ids=dataset.train.image_ids,
        validation_image_ids={name: s.image_ids for name, s in dataset.validation.items()},
        hyperparameters=_hyperparameters(job),
        metrics=metrics,
        history=job.history,
        thresholds=thresholds,
        user=job.created_by,
    )


def _plain(metrics: dict) -> dict:
    return {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in metrics.items()}


def _hyperparameters(job: TrainingJob) -> dict:
    return {
        "epochs": job.epochs,
        "batch_size": job.batch_size,
        "learning_rate": job.learning_rate,
        "weight_decay": 0.0005,
        "seed": job.seed,
        "borderline": job.borderline,
        "augmentation": "crop, rotation, h/v flip, scaling, translation, saturation, exposure",
        "training_job": job.pk,
    }


def training_job_execute(*, job_id: int, on_progress=None) -> None:
    """Run a queued training job; a worker that dies leaves it to be claimed again or failed.

    on_progress(job, done, total), if given, hears every epoch too (the command's bar).
    """
    job = job_claim(TrainingJob, job_id)
    if job is None:
        return
    job.history = []
    reporter = ProgressReporter(job, "Training (epochs)")

    def progress(done: int, total: int) -> None:
        reporter(done, total)
        if on_progress is not None:
            on_progress(job, done, total)

    try:
        version = training_run(job, progress=progress)
    except (datasets.DatasetError, TrainingDataError, TrainingError) as error:
        job_fail(job, error)
        return
    except Exception as error:
        job_fail(job, error)
        raise
    internal = version.metrics.get(datasets.INTERNAL, {})
    score = internal.get("exam_auc", internal.get("mean_auc"))
    stopped = " (stopped early)" if version.metrics.get("stopped_early") else ""
    figure = f"; internal validation AUC {score:.3f}" if score is not None else ""
    # The demo's follow-up (its models into service) listens to base.jobs.job_finished.
    job_finish(job, message=f"{version.label} registered{figure}{stopped}", result=version)
