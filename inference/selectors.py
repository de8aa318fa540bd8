"""Reading models and results. Callers check roles; these only read (but for recording
that a reader study's reader was shown AI output, see `ai_release`)."""

from collections.abc import Callable, Collection

from inference import heatmap_links
from inference.models import (
    Ensemble,
    ExamResult,
    ImagePrediction,
    ModelTask,
    ModelVersion,
    ResultStatus,
)
from inference.scoring import decision_name, weighted_score


def ensemble_in_service() -> Ensemble | None:
    return Ensemble.objects.filter(in_service=True).select_related("resnet", "darknet").first()


def triage_in_service() -> ModelVersion | None:
    return ModelVersion.objects.filter(task=ModelTask.TRIAGE, in_service=True).first()


# --- Who may see AI output now -------------------------------------------------------------
# The reader studies (a layer above) keep readers blind to the AI output of the exams they
# read without AI; they register their rule here at start-up (`studies.reading.blinding`).
# Everything that hands out AI output (pages, APIs, file links) asks `ai_release` (records
# the showing) or `ai_withheld` (only asks).

AIGate = Callable[..., tuple[dict[int, str], set[int]]]
_ai_gates: list[AIGate] = []


def ai_gate_register(gate: AIGate) -> None:
    """`gate(user, exam_ids, record=...)` -> (withheld: exam id -> why, watched exam ids)."""
    if gate not in _ai_gates:
        _ai_gates.append(gate)


def _gated(user, exam_ids: Collection[int] | None, record: bool) -> tuple[dict, set]:
    withheld: dict[int, str] = {}
    watched: set[int] = set()
    for gate in _ai_gates:
        refused, seen = gate(user, exam_ids, record=record)
        for exam_id, reason in refused.items():
            withheld.setdefault(exam_id, reason)
        watched |= seen
    return withheld, watched - set(withheld)


def ai_withheld(user, exam_ids: Collection[int] | None = None) -> dict[int, str]:
    """Exam id -> why its AI output may not reach `user` now (None: among all exams)."""
    return _gated(user, exam_ids, record=False)[0]


def ai_release(user, exam_ids: Collection[int]) -> dict[int, str]:
    """As `ai_withheld`, and the AI output of the other exams is recorded as shown to `user`
    now: call it where the output is handed out."""
    return _gated(user, exam_ids, record=True)[0]


def ai_live_allowed(user, exam_id: int) -> bool:
    """Whether a live message with the exam's AI output may go to `user`: not withheld, and
    not an exam whose showing to them must be recorded (no writes from a websocket)."""
    withheld, watched = _gated(user, [exam_id], record=False)
    return exam_id not in withheld and exam_id not in watched


def exam_result(exam_id: int, ensemble: Ensemble | None = None) -> ExamResult | None:
    ensemble = ensemble or ensemble_in_service()
    if ensemble is None:
        return None
    return (
        ExamResult.objects.filter(exam_id=exam_id, ensemble=ensemble)
        .select_related("ensemble__resnet", "ensemble__darknet")
        .first()
    )


def result_images(result: ExamResult, *, viewer_id: int | None) -> list[dict]:
    """Per used image: each model's probability and heatmap, the ensemble's weighted mean.

    Heatmap addresses are signed for `viewer_id` (none without a viewer). Sorted so the
    images that drove the score come first.
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
        entry[f"{key}_heatmap_url"] = (
            heatmap_links.heatmap_url(prediction.pk, viewer_id=viewer_id)
            if prediction.heatmap and viewer_id is not None
            else ""
        )
    images = []
    for entry in by_image.values():
        resnet = entry.get("resnet_probability", 0.0)
        darknet = entry.get("darknet_probability", 0.0)
        entry["probability"] = weighted_score(
            {"resnet": resnet, "darknet": darknet}, ensemble.weights
        )
        entry["heatmap_url"] = entry.get("resnet_heatmap_url", "")
        images.append(entry)
    images.sort(key=lambda entry: -entry["probability"])
    return images


def exam_ai_summary(exam_id: int, *, viewer) -> dict | None:
    """The in-service ensemble's result for an exam, as pages and reading screens show it to
    `viewer`; {"status": "withheld", "reason": ...} when the viewer may not see it now (and
    the showing is recorded when they may)."""
    result = exam_result(exam_id)
    if result is None:
        return None
    withheld = ai_release(viewer, [exam_id])
    if exam_id in withheld:
        return {"status": "withheld", "reason": withheld[exam_id]}
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
        "decision": decision_name(result.malignant),
        "threshold": ensemble.threshold,
        "sensitivity": ensemble.sensitivity,
        "specificity": ensemble.specificity,
        "models": [
            {"name": ensemble.resnet.label, "theta": result.theta_resnet},
            {"name": ensemble.darknet.label, "theta": result.theta_darknet},
        ],
        "images": result_images(result, viewer_id=viewer.pk),
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
