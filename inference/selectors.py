"""Reading models and results. Callers check roles; these only read."""

from django.core import signing
from django.urls import reverse

from .models import Ensemble, ExamResult, ImagePrediction, ModelTask, ModelVersion, ResultStatus

HEATMAP_SALT = "inference.heatmap"
HEATMAP_MAX_AGE = 12 * 3600


def ensemble_in_service() -> Ensemble | None:
    return Ensemble.objects.filter(in_service=True).select_related("resnet", "darknet").first()


def triage_in_service() -> ModelVersion | None:
    return ModelVersion.objects.filter(task=ModelTask.TRIAGE, in_service=True).first()


def heatmap_url(prediction_id: int) -> str:
    """A signed address: only pages that may show AI output hand it out."""
    token = signing.dumps(prediction_id, salt=HEATMAP_SALT)
    return reverse("inference:heatmap", args=[token])


def heatmap_prediction(token: str) -> ImagePrediction:
    """The prediction a signed address names; signing.BadSignature when forged or expired."""
    prediction_id = signing.loads(token, salt=HEATMAP_SALT, max_age=HEATMAP_MAX_AGE)
    return ImagePrediction.objects.get(pk=prediction_id)


def exam_result(exam_id: int, ensemble: Ensemble | None = None) -> ExamResult | None:
    ensemble = ensemble or ensemble_in_service()
    if ensemble is None:
        return None
    return (
        ExamResult.objects.filter(exam_id=exam_id, ensemble=ensemble)
        .select_related("ensemble__resnet", "ensemble__darknet")
        .first()
    )


def result_images(result: ExamResult) -> list[dict]:
    """Per used image: each model's probability and heatmap, the ensemble's weighted mean.

    Sorted so the images that drove the score come first.
    """
    ensemble = result.ensemble
    versions = {ensemble.resnet_id: "resnet", ensemble.darknet_id: "darknet"}
    predictions = ImagePrediction.objects.filter(
        image_id__in=result.used_image_ids, model_version_id__in=versions
    )
    by_image: dict[int, dict] = {}
    for prediction in predictions:
        entry = by_image.setdefault(prediction.image_id, {"image_id": prediction.image_id})
        key = versions[prediction.model_version_id]
        entry[f"{key}_probability"] = prediction.probability
        entry[f"{key}_heatmap_url"] = heatmap_url(prediction.pk) if prediction.heatmap else ""
    images = []
    for entry in by_image.values():
        resnet = entry.get("resnet_probability", 0.0)
        darknet = entry.get("darknet_probability", 0.0)
        entry["probability"] = ensemble.weight_resnet * resnet + ensemble.weight_darknet * darknet
        entry["heatmap_url"] = entry.get("resnet_heatmap_url", "")
        images.append(entry)
    images.sort(key=lambda entry: -entry["probability"])
    return images


def exam_ai_summary(exam_id: int) -> dict | None:
    """The in-service ensemble's result for an exam, as pages and reading screens show it."""
    result = exam_result(exam_id)
    if result is None:
        return None
    ensemble = result.ensemble
    if result.status != ResultStatus.SCORED:
        return {
            "status": result.status,
            "reason": result.reason,
            "theta": None,
            "decision": None,
            "threshold": ensemble.threshold,
            "sensitivity": ensemble.sensitivity,
            "specificity": ensemble.specificity,
            "models": [],
            "images": [],
        }
    return {
        "status": result.status,
        "reason": "",
        "theta": result.score,
        "decision": "malignant" if result.malignant else "benign",
        "threshold": ensemble.threshold,
        "sensitivity": ensemble.sensitivity,
        "specificity": ensemble.specificity,
        "models": [
            {"name": ensemble.resnet.label, "theta": result.theta_resnet},
            {"name": ensemble.darknet.label, "theta": result.theta_darknet},
        ],
        "images": result_images(result),
        "left_out": result.left_out,
    }


def ai_case_scores(exam_ids: list[int]) -> dict[int, tuple[float, int]]:
    """Θ and the 0/1 decision per scored exam, from the ensemble in service."""
    ensemble = ensemble_in_service()
    if ensemble is None:
        return {}
    rows = ExamResult.objects.filter(
        ensemble=ensemble, exam_id__in=exam_ids, status=ResultStatus.SCORED
    ).values_list("exam_id", "score", "malignant")
    return {exam_id: (score, int(bool(malignant))) for exam_id, score, malignant in rows}
