"""Scoring jobs: each exam's usable images through both models, CAMs, θ per model and Θ.

Idempotent: an exam that already has a result from the job's ensemble is left as it is.
Each worker process loads each model version once (`loaded_network`).
"""

import io
import logging

import numpy as np
import torch
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from annotation.models import Exam, Image
from base.jobs import ProgressReporter, job_claim, job_enqueue, job_fail, job_finish, job_retry
from inference import datasets, selectors
from inference.live import result_broadcast
from inference.ml.cam import cam_png, predict_with_cam
from inference.ml.data import letterbox, normalise
from inference.ml.networks import build_network
from inference.ml.train import predict, resolve_device
from inference.models import (
    Ensemble,
    ExamResult,
    ExclusionReason,
    ImagePrediction,
    InferenceJob,
    ModelVersion,
    ResultStatus,
    TriagePrediction,
)
from inference.registry import version_file_check
from inference.scoring import exam_score, is_malignant, weighted_score

log = logging.getLogger(__name__)
_NETWORKS: dict[int, torch.nn.Module] = {}


class NoModelInService(ValueError):
    pass


def loaded_network(version: ModelVersion) -> torch.nn.Module:
    """The version's network, loaded once per worker process, in eval mode on the device."""
    network = _NETWORKS.get(version.pk)
    if network is None:
        version_file_check(version)
        with version.weights.open("rb") as handle:
            state = torch.load(io.BytesIO(handle.read()), map_location="cpu", weights_only=True)
        network = build_network(version.architecture, len(version.outputs))
        network.load_state_dict(state)
        network.eval().to(resolve_device(settings.INFERENCE_DEVICE))
        _NETWORKS[version.pk] = network
    return network


def inference_job_create(
    *,
    exam_ids: list[int],
    user=None,
    scope: str,
    automatic: bool = False,
    ensemble=None,
    enqueue: bool = True,
) -> InferenceJob:
    ensemble = ensemble or selectors.ensemble_in_service()
    if ensemble is None:
        raise NoModelInService("No model ensemble is in service: put one in service first.")
    if ensemble.retired:
        raise NoModelInService(f"Ensemble {ensemble.pk} is retired; it takes no new jobs.")
    job = InferenceJob.objects.create(
        ensemble=ensemble,
        exam_ids=sorted(set(exam_ids)),
        scope=scope[:200],
        automatic=automatic,
        created_by=user,
        message="Queued",
    )
    if enqueue:
        job_enqueue(job)
    return job


def inference_job_retry(*, job: InferenceJob) -> None:
    job_retry(job)


def exam_completed_score(sender, exam_id: int, **kwargs) -> None:
    """A newly complete exam is scored when an ensemble is in service."""
    if selectors.ensemble_in_service() is None:
        return
    inference_job_create(exam_ids=[exam_id], scope="new exam", automatic=True)


def usable_images(exam: Exam, triage: ModelVersion | None) -> tuple[list[Image], list[dict]]:
    """The exam's images that enter its score, and those left out with the reason."""
    images = list(exam.images.filter(hidden=False, frame_index=0).order_by("pk"))
    excluded = dict(
        exam.images.filter(exclusions__restored_at__isnull=True).values_list(
            "pk", "exclusions__reason"
        )
    )
    keep, left_out = [], []
    verdicts = triage_verdicts(images, triage) if triage else {}
    for image in images:
        reason = excluded.get(image.pk) or verdicts.get(image.pk)
        if reason:
            left_out.append({"image_id": image.pk, "reason": reason})
        else:
            keep.append(image)
    return keep, left_out


def triage_verdicts(images: list[Image], triage: ModelVersion) -> dict[int, str]:
    """Triage each image (stored once per model version); non-adnexal or lesion-free: left out."""
    stored = dict(
        TriagePrediction.objects.filter(image__in=images, model_version=triage).values_list(
            "image_id", "probabilities"
        )
    )
    missing = [image for image in images if image.pk not in stored]
    if missing:
        tensors = datasets.load_inputs([i.pk for i in missing], triage.input_size)
        probabilities = predict(
            loaded_network(triage),
            tensors,
            input_size=triage.input_size,
            batch_size=settings.INFERENCE_BATCH_SIZE,
            device=settings.INFERENCE_DEVICE,
        )
        rows = []
        for image, values in zip(missing, probabilities, strict=True):
            stored[image.pk] = dict(zip(triage.outputs, map(float, values), strict=True))
            rows.append(
                TriagePrediction(image=image, model_version=triage, probabilities=stored[image.pk])
            )
        TriagePrediction.objects.bulk_create(rows, ignore_conflicts=True)
    return {pk: reason for pk, p in stored.items() if (reason := triage_reason(p, triage))}


def triage_reason(probabilities: dict, triage: ModelVersion) -> str | None:
    def below(name: str) -> bool:
        threshold = (triage.thresholds.get(name) or {}).get("threshold", 0.5)
        return probabilities.get(name, 1.0) < threshold

    if below("adnexal"):
        return ExclusionReason.NOT_ADNEXAL
    if below("lesion"):
        return ExclusionReason.NO_LESION
    return None


def _model_pass(
    version: ModelVersion, tensors: torch.Tensor, shapes: list[tuple[int, int]]
) -> list[tuple[float, bytes]]:
    """Probability and CAM PNG per image of uint8 inputs, CAMs from the same forward pass.

    Each PNG covers its image (height, width in `shapes`) without the letterbox padding, at
    the input's resolution, so pages can stretch it over the image as it is shown."""
    network = loaded_network(version)
    device = next(network.parameters()).device
    out = []
    batch = settings.INFERENCE_BATCH_SIZE
    for start in range(0, len(tensors), batch):
        chunk = normalise(tensors[start : start + batch].to(device))
        with torch.inference_mode():
            probabilities, cams = predict_with_cam(network, version.architecture, chunk)
        cams = cams.cpu().numpy() if isinstance(cams, torch.Tensor) else np.asarray(cams)
        for p, cam, (height, width) in zip(
            probabilities, cams, shapes[start : start + batch], strict=True
        ):
            _, _, new_width, new_height = letterbox(height, width, version.input_size)
            out.append((float(p), cam_png(cam, image_shape=(new_height, new_width))))
    return out


def exam_result_compute(*, exam: Exam, ensemble: Ensemble, job=None) -> ExamResult:
    existing = ExamResult.objects.filter(exam=exam, ensemble=ensemble).first()
    if existing is not None:
        return existing  # idempotent: a finished exam is not scored twice
    images, left_out = usable_images(exam, selectors.triage_in_service())
    if not images:
        reason = "No usable image: " + (
            "every image was left out by the triage or the cleaning."
            if left_out
            else "the exam has no images."
        )
        return _result_store(
            exam=exam,
            ensemble=ensemble,
            job=job,
            status=ResultStatus.NOT_SCORABLE,
            left_out=left_out,
            reason=reason,
        )
    theta = {}
    predictions = []
    inputs: dict[int, torch.Tensor] = {}  # decoded once per input size, for both models
    shapes = [datasets.input_shape(image) for image in images]
    for key, version in (("resnet", ensemble.resnet), ("darknet", ensemble.darknet)):
        if version.input_size not in inputs:
            inputs[version.input_size] = datasets.load_inputs(
                [image.pk for image in images], version.input_size
            )
        outputs = _model_pass(version, inputs[version.input_size], shapes)
        theta[key] = exam_score([p for p, _ in outputs])
        predictions.extend(
            (image, version, p, png) for image, (p, png) in zip(images, outputs, strict=True)
        )
    score = weighted_score(theta, ensemble.weights)
    return _result_store(
        exam=exam,
        ensemble=ensemble,
        job=job,
        status=ResultStatus.SCORED,
        left_out=left_out,
        predictions=predictions,
        theta_resnet=theta["resnet"],
        theta_darknet=theta["darknet"],
        score=score,
        malignant=is_malignant(score, ensemble.threshold),
        used_image_ids=[image.pk for image in images],
    )


def _result_store(*, exam, ensemble, job, status, left_out, predictions=(), **fields) -> ExamResult:
    with transaction.atomic():
        _predictions_store(predictions)
        result, _ = ExamResult.objects.get_or_create(
            exam=exam,
            ensemble=ensemble,
            defaults={"status": status, "left_out": left_out, "job": job, **fields},
        )
    transaction.on_commit(lambda: result_broadcast(result))  # to open worklists
    return result


def _predictions_store(predictions) -> None:
    """Each (image, version) prediction once, with its heatmap file: one query to find those
    stored already, one to add the rest."""
    if not predictions:
        return
    stored = set(
        ImagePrediction.objects.filter(
            image__in={image for image, _, _, _ in predictions},
            model_version__in={version for _, version, _, _ in predictions},
        ).values_list("image_id", "model_version_id")
    )
    field = ImagePrediction._meta.get_field("heatmap")
    rows = []
    for image, version, probability, png in predictions:
        if (image.pk, version.pk) in stored:
            continue
        row = ImagePrediction(image=image, model_version=version, probability=probability)
        name = field.generate_filename(row, f"cam-{image.pk}-{version.pk}.png")
        row.heatmap.name = field.storage.save(name, ContentFile(png))
        rows.append(row)
    # A job for the same exam at the same time may have stored some: those are kept.
    ImagePrediction.objects.bulk_create(rows, ignore_conflicts=True)


def inference_job_execute(*, job_id: int) -> None:
    job = job_claim(InferenceJob, job_id)
    if job is None:
        return
    ensemble = job.ensemble
    if ensemble.retired:  # retired after the job was queued: its models score nothing new
        job_fail(job, NoModelInService(f"Ensemble {ensemble.pk} was retired; nothing scored."))
        return
    progress = ProgressReporter(job, "Scoring exams")
    exams = Exam.objects.in_bulk(job.exam_ids)
    counts = {ResultStatus.SCORED: 0, ResultStatus.NOT_SCORABLE: 0, "missing": 0}
    try:
        for done, exam_id in enumerate(job.exam_ids):
            progress(done, len(job.exam_ids))
            exam = exams.get(exam_id)
            if exam is None:
                counts["missing"] += 1
                continue
            result = exam_result_compute(exam=exam, ensemble=ensemble, job=job)
            counts[result.status] += 1
    except Exception as error:
        job_fail(job, error)
        raise
    job_finish(
        job,
        message=f"{counts['scored']} scored, {counts['not_scorable']} not scorable"
        + (f", {counts['missing']} exams no longer exist" if counts["missing"] else ""),
        report={str(k): v for k, v in counts.items()},
    )
