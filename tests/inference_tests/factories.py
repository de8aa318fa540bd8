"""Registry entries and exam results made directly, for tests of pages and permissions.

Tests of the training and scoring pipeline make theirs through the real jobs instead.
"""

import hashlib
import io

import numpy as np
from django.core.files.base import ContentFile
from PIL import Image as PILImage

from inference.models import (
    Architecture,
    Ensemble,
    ExamResult,
    ImagePrediction,
    ModelSource,
    ModelTask,
    ModelVersion,
    ResultStatus,
    ThresholdRule,
)


def model_version_make(architecture=Architecture.RESNET50, task=ModelTask.MALIGNANCY, **fields):
    version = ModelVersion.objects.filter(task=task, architecture=architecture).count() + 1
    weights = f"weights of {architecture} {task} v{version}".encode()
    model = ModelVersion(
        task=task,
        architecture=architecture,
        version=version,
        input_size=fields.pop("input_size", 128),
        outputs=fields.pop("outputs", ["malignant"]),
        weights_sha256=hashlib.sha256(weights).hexdigest(),
        source=ModelSource.TRAINED,
        metrics=fields.pop("metrics", {"internal": {"exam_auc": 0.9}}),
        **fields,
    )
    model.weights.save(f"{architecture}-{task}-v{version}.pt", ContentFile(weights), save=False)
    model.save()
    return model


def ensemble_make(*, in_service=True, threshold=0.5, **fields):
    return Ensemble.objects.create(
        resnet=model_version_make(Architecture.RESNET50, in_service=in_service),
        darknet=model_version_make(Architecture.DARKNET19, in_service=in_service),
        weight_resnet=0.5,
        weight_darknet=0.5,
        threshold=threshold,
        threshold_rule=ThresholdRule.YOUDEN,
        sensitivity=0.9,
        specificity=0.8,
        in_service=in_service,
        **fields,
    )


def _heatmap_png() -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(np.full((8, 8, 4), 128, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def exam_result_make(*, exam, images, probabilities, ensemble=None):
    """A scored result of `ensemble` for `exam`: both models give each image its probability."""
    ensemble = ensemble or ensemble_make()
    for image, probability in zip(images, probabilities, strict=True):
        for version in (ensemble.resnet, ensemble.darknet):
            prediction = ImagePrediction(
                image=image, model_version=version, probability=probability
            )
            prediction.heatmap.save(f"cam-{image.pk}-{version.pk}.png", ContentFile(_heatmap_png()))
    theta = float(-np.mean(np.log1p(-np.asarray(probabilities))))
    return ExamResult.objects.create(
        exam=exam,
        ensemble=ensemble,
        status=ResultStatus.SCORED,
        theta_resnet=theta,
        theta_darknet=theta,
        score=theta,
        malignant=theta >= ensemble.threshold,
        used_image_ids=[image.pk for image in images],
    )
