"""Triage of the pool and the cleaning rules of the method (steps 2–3).

An image leaves the training set when it is not adnexal, or shows no lesion; the method's
own rule — a patient with malignant pathology whose image shows no lesion loses that image —
is kept as its own reason. The radiologists' consensus answer, where there is one, decides
before the triage model does. Every removal keeps its reason and can be restored.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotation.models import AnnotationSet, Image, PathologyOutcome
from base.jobs import ProgressReporter, job_claim, job_enqueue, job_fail, job_finish
from inference.datasets import triage_targets
from inference.inference_jobs import triage_verdicts
from inference.models import ExclusionReason, ImageExclusion, ModelTask, ModelVersion, TriageJob

EXAMPLES = 6
BATCH = 256


class CleaningError(ValueError):
    pass


def _pool():
    return Image.objects.filter(hidden=False, frame_index=0).order_by("pk")


def triage_job_create(*, version: ModelVersion, user=None) -> TriageJob:
    if version.task != ModelTask.TRIAGE or version.retired:
        raise CleaningError("Choose a triage model that is not retired.")
    job = TriageJob.objects.create(model_version=version, created_by=user, message="Queued")
    job_enqueue(job)
    return job


def triage_job_execute(*, job_id: int) -> None:
    job = job_claim(TriageJob, job_id)
    if job is None:
        return
    progress = ProgressReporter(job, "Triaging the image pool")
    ids = list(_pool().values_list("pk", flat=True))
    removed = 0
    try:
        for start in range(0, len(ids), BATCH):
            progress(start, len(ids))
            images = list(Image.objects.filter(pk__in=ids[start : start + BATCH]))
            removed += len(triage_verdicts(images, job.model_version))
    except Exception as error:
        job_fail(job, error)
        raise
    job_finish(
        job,
        message=f"{len(ids)} images triaged; {removed} would leave the training set",
        report={"images": len(ids), "would_remove": removed},
    )


def _reason(triage: dict, consensus: list[float] | None, malignant: bool, version) -> str | None:
    def negative(name: str, index: int) -> bool:
        if consensus is not None:
            return consensus[index] < 0.5
        threshold = (version.thresholds.get(name) or {}).get("threshold", 0.5)
        return triage.get(name, 1.0) < threshold

    if negative("adnexal", 0):
        return ExclusionReason.NOT_ADNEXAL
    if negative("lesion", 1):
        return ExclusionReason.MALIGNANT_NO_LESION if malignant else ExclusionReason.NO_LESION
    return None


def cleaning_plan(*, version: ModelVersion) -> dict:
    """What applying the rules would remove, per reason, with examples; nothing is written."""
    consensus = triage_targets(AnnotationSet.objects.order_by("pk"))
    rows = (
        _pool()
        .filter(triage_predictions__model_version=version)
        .values_list("pk", "triage_predictions__probabilities", "exam__pathology__outcome")
    )
    # Restored removals count too: a reviewer's restore is not undone by applying again.
    already = set(ImageExclusion.objects.values_list("image_id", "reason"))
    plan = {reason: {"label": label, "image_ids": []} for reason, label in ExclusionReason.choices}
    triaged = 0
    for image_id, probabilities, outcome in rows:
        triaged += 1
        malignant = outcome in (PathologyOutcome.MALIGNANT, PathologyOutcome.BORDERLINE)
        reason = _reason(probabilities, consensus.get(image_id), malignant, version)
        if reason and (image_id, reason) not in already:
            plan[reason]["image_ids"].append(image_id)
    for entry in plan.values():
        entry["count"] = len(entry["image_ids"])
        entry["examples"] = entry["image_ids"][:EXAMPLES]
    return {"triaged": triaged, "pool": _pool().count(), "reasons": plan}


def cleaning_apply(*, version: ModelVersion, user=None) -> int:
    """Record every removal the plan lists; returns how many were added."""
    plan = cleaning_plan(version=version)
    rows = [
        ImageExclusion(image_id=image_id, reason=reason, triage_version=version, created_by=user)
        for reason, entry in plan["reasons"].items()
        for image_id in entry["image_ids"]
    ]
    with transaction.atomic():
        created = ImageExclusion.objects.bulk_create(rows, ignore_conflicts=True)
    return len(created)


def exclusion_restore(*, exclusion: ImageExclusion, user) -> None:
    if exclusion.restored_at is not None:
        raise CleaningError("This image was already restored.")
    ImageExclusion.objects.filter(pk=exclusion.pk, restored_at__isnull=True).update(
        restored_at=timezone.now(), restored_by=user
    )


def exclusion_summary() -> dict:
    active = ImageExclusion.objects.filter(restored_at__isnull=True)
    counts = {reason: 0 for reason in ExclusionReason.values}
    for reason in active.values_list("reason", flat=True):
        counts[reason] += 1
    training_pool = (
        _pool()
        .filter(exam__pathology__isnull=False)
        .exclude(Q(exclusions__restored_at__isnull=True) & Q(exclusions__isnull=False))
    )
    return {
        "by_reason": counts,
        "restored": ImageExclusion.objects.filter(restored_at__isnull=False).count(),
        "training_images": training_pool.distinct().count(),
    }
