"""The clinician's side of exam results: the exam report, the worklist, sign-off and feedback.

Reads are shaped for the pages and the API with a fixed number of queries; the writes are a
clinician's review and asking for a score. A page always shows the results of one ensemble:
the one in service, or one the caller names explicitly, so scores of different model versions
never meet on a page, a chart or a worklist row.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.db.models import Q, QuerySet

from annotation.models import CA125Measurement, Exam, Image
from base.roles import ADMINISTRATION
from inference import selectors
from inference.inference_jobs import inference_job_create
from inference.live import exam_rows_broadcast
from inference.models import (
    Agreement,
    ClinicianReview,
    Ensemble,
    ExamResult,
    ExclusionReason,
    InferenceJob,
    ResultStatus,
)
from inference.scoring import surprise, weighted_score
from inference.worklist import (  # worklist_exams, worklist_rows: for the worklist page
    ExamStatus,
    active_scoring_jobs,
    decision_of,
    exam_status,
    worklist_exams,  # noqa: F401
    worklist_rows,  # noqa: F401
)

DECISION_AID_NOTICE = (
    "Decision aid only. The AI score supports, and does not replace, the judgement of the "
    "clinician, the ultrasound report and pathology."
)


class AIWithheldError(PermissionError):
    """The viewer reads this exam without AI in a reader study; the message says so."""


# --- The exam report ---------------------------------------------------------------------


def ensemble_for_report(ensemble_id: int | None) -> Ensemble | None:
    """The ensemble a page shows: the named one (Ensemble.DoesNotExist if none such), or the
    one in service (None when no ensemble is in service)."""
    if ensemble_id is None:
        return selectors.ensemble_in_service()
    return Ensemble.objects.select_related("resnet", "darknet").get(pk=ensemble_id)


def ca125_for_exam(exam: Exam, measurements: list[CA125Measurement]) -> CA125Measurement | None:
    """The measurement filed with the exam, else the patient's one closest in time."""
    linked = [m for m in measurements if m.exam_id == exam.pk]
    if linked:
        return linked[-1]
    if not measurements:
        return None
    return min(measurements, key=lambda m: abs((m.measured_on - exam.exam_date).days))


def decision_meaning(ensemble: Ensemble, decision: str) -> str:
    """What the decision at the stored threshold means, in the validation's own figures."""
    sensitivity = _percent(ensemble.sensitivity)
    specificity = _percent(ensemble.specificity)
    if decision == "malignant":
        text = (
            f"Θ is at or above the operating threshold {ensemble.threshold:.3f}: the AI flags "
            "this exam as suspicious for malignancy."
        )
        if ensemble.specificity is not None:
            text += (
                f" At this threshold the model cleared {specificity} of benign exams on internal "
                f"validation, so about {_percent(1 - ensemble.specificity)} of benign exams are "
                "flagged too."
            )
        return text
    text = (
        f"Θ is below the operating threshold {ensemble.threshold:.3f}: the AI does not flag "
        "this exam."
    )
    if ensemble.sensitivity is not None:
        text += (
            f" At this threshold the model found {sensitivity} of malignant exams on internal "
            f"validation, so about {_percent(1 - ensemble.sensitivity)} of cancers are not "
            "flagged: a benign call does not rule cancer out."
        )
    return text


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def image_contributions(result: ExamResult, *, viewer_id: int | None = None) -> list[dict]:
    """Each used image with its probabilities, heatmap addresses (for `viewer_id`, none
    without one) and its share of Θ.

    An image adds w_R·(−ln(1−p_R)) + w_D·(−ln(1−p_D)), divided by n, to Θ; `share` is that
    part over the sum of all parts (the shares add up to 1). Sorted by share, largest first:
    the images that drove the score come first, and `drove` marks those that make up the
    first half of Θ.
    """
    ensemble = result.ensemble
    images = selectors.result_images(result, viewer_id=viewer_id)
    for entry in images:
        resnet = entry.get("resnet_probability", 0.0)
        darknet = entry.get("darknet_probability", 0.0)
        entry["contribution"] = weighted_score(
            {"resnet": surprise(resnet), "darknet": surprise(darknet)}, ensemble.weights
        )
    total = sum(entry["contribution"] for entry in images)
    images.sort(key=lambda entry: -entry["contribution"])
    running = 0.0
    for entry in images:
        entry["share"] = entry["contribution"] / total if total > 0 else 0.0
        entry["drove"] = running < 0.5 and entry["share"] > 0
        running += entry["share"]
    return images


def left_out_images(result: ExamResult | None) -> list[dict]:
    if result is None:
        return []
    labels = dict(ExclusionReason.choices)
    return [
        {
            "image_id": entry.get("image_id"),
            "reason": entry.get("reason", ""),
            "reason_label": labels.get(entry.get("reason", ""), entry.get("reason", "")),
        }
        for entry in result.left_out or []
    ]


CHART_WIDTH, CHART_HEIGHT = 1000, 220
CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 60, 30, 20, 40


def score_timeline(
    exams: list[Exam], results: dict[int, ExamResult], threshold: float, current_id: int
) -> dict:
    """The patient's exams up to this one on a time axis, Θ upwards, for an inline SVG.

    Every point is a result of the same ensemble as the threshold line.
    """
    if not exams:
        return {"points": []}
    first, last = exams[0].exam_date, exams[-1].exam_date
    span = max((last - first).days, 1)
    scores = [r.score for r in results.values() if r.score is not None]
    top = max([threshold, *scores]) * 1.2 or 1.0
    plot_w = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    base = CHART_TOP + plot_h

    def x_of(day: date) -> float:
        if len(exams) == 1:
            return CHART_LEFT + plot_w / 2
        return CHART_LEFT + plot_w * (day - first).days / span

    def y_of(value: float) -> float:
        return base - plot_h * min(value, top) / top

    points = []
    for exam in exams:
        result = results.get(exam.pk)
        score = result.score if result is not None else None
        points.append(
            {
                "exam_id": exam.pk,
                "x": round(x_of(exam.exam_date), 1),
                "y": round(y_of(score), 1) if score is not None else base,
                "score": score,
                "decision": decision_of(result),
                "status": result.status if result is not None else "",
                "label": f"{exam.exam_date:%Y-%m-%d}: "
                + (f"Θ = {score:.3f}" if score is not None else "no score from this model"),
                "current": exam.pk == current_id,
            }
        )
    years = [
        {"x": round(x_of(date(year, 1, 1)), 1), "year": year}
        for year in range(first.year + 1, last.year + 1)
    ]
    return {
        "points": points,
        "years": years,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - CHART_RIGHT,
        "base": base,
        "threshold_y": round(y_of(threshold), 1),
        "threshold": threshold,
        "top": top,
        "top_y": CHART_TOP,
        "line": " ".join(f"{p['x']},{p['y']}" for p in points if p["score"] is not None),
    }


@dataclass
class ExamReport:
    exam: Exam
    ensemble: Ensemble | None
    in_service: bool
    result: ExamResult | None
    status: str
    job_id: int | None
    ca125: CA125Measurement | None
    images: list[dict] = field(default_factory=list)
    left_out: list[dict] = field(default_factory=list)
    timeline: dict = field(default_factory=dict)
    other_results: list[ExamResult] = field(default_factory=list)
    reviews: list[ClinicianReview] = field(default_factory=list)
    notice: str = DECISION_AID_NOTICE

    @property
    def decision(self) -> str:
        return decision_of(self.result)

    @property
    def decision_meaning(self) -> str:
        if not self.decision or self.ensemble is None:
            return ""
        return decision_meaning(self.ensemble, self.decision)

    @property
    def status_label(self) -> str:
        return ExamStatus(self.status).label


def exam_report(*, exam_id: int, ensemble_id: int | None = None, user=None) -> ExamReport:
    """Everything the report page shows. Exam.DoesNotExist / Ensemble.DoesNotExist when the
    exam or the named ensemble is unknown. Images flagged as identifying stay hidden from
    everyone but administrators (`hidden` on the image entries).

    With a `user`: AIWithheldError when they may not see this exam's AI output now (a
    reader-study reader), and earlier exams withheld from them show no score on the
    timeline; the showing is recorded (`selectors.ai_release`).
    """
    exam = Exam.objects.select_related("patient", "center", "pathology").get(pk=exam_id)
    history = list(
        Exam.objects.filter(patient=exam.patient, exam_date__lte=exam.exam_date).order_by(
            "exam_date", "pk"
        )
    )
    withheld = selectors.ai_release(user, {exam.pk, *(e.pk for e in history)}) if user else {}
    if exam.pk in withheld:
        raise AIWithheldError(f"The AI output of this exam is withheld: {withheld[exam.pk]}.")
    ensemble = ensemble_for_report(ensemble_id)
    result = selectors.exam_result(exam.pk, ensemble) if ensemble is not None else None
    job_id = None if result is not None else active_scoring_jobs().get(exam.pk)
    report = ExamReport(
        exam=exam,
        ensemble=ensemble,
        in_service=bool(ensemble and ensemble.in_service),
        result=result,
        status=exam_status(exam, result, job_id),
        job_id=job_id,
        ca125=ca125_for_exam(exam, list(exam.patient.ca125.all())),
    )
    if result is not None:
        report.images = (
            image_contributions(result, viewer_id=getattr(user, "pk", None))
            if result.status == ResultStatus.SCORED
            else []
        )
        report.left_out = left_out_images(result)
        report.reviews = list(result.reviews.select_related("clinician"))
        _attach_images(report, user)
    report.other_results = list(
        ExamResult.objects.filter(exam=exam)
        .exclude(ensemble=ensemble)
        .select_related("ensemble__resnet", "ensemble__darknet")
    )
    if ensemble is not None:
        found = ExamResult.objects.filter(ensemble=ensemble, exam__in=history).exclude(
            exam_id__in=list(withheld)
        )
        report.timeline = score_timeline(
            history, {r.exam_id: r for r in found}, ensemble.threshold, exam.pk
        )
    return report


def _attach_images(report: ExamReport, user) -> None:
    ids = [entry["image_id"] for entry in report.images + report.left_out]
    images = Image.objects.in_bulk([i for i in ids if i is not None])
    administrator = user is not None and ADMINISTRATION.allows(user)
    for entry in report.images + report.left_out:
        image = images.get(entry["image_id"])
        entry["image"] = image
        entry["hidden"] = image is None or (image.hidden and not administrator)


# --- Asking for a score ------------------------------------------------------------------


class ScoreRequestError(ValueError):
    """The exams cannot be scored now; the message says why."""


def score_request(*, exam_ids: list[int], user, scope: str) -> InferenceJob:
    """A scoring job for the exams with the ensemble in service, or the job already at work
    on all of them. Raises ScoreRequestError for unknown exams and
    inference_jobs.NoModelInService when no ensemble is in service (or it is retired).
    """
    wanted = sorted(set(exam_ids))
    if not wanted:
        raise ScoreRequestError("name at least one exam")
    known = set(Exam.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    if missing := [pk for pk in wanted if pk not in known]:
        raise ScoreRequestError(f"no such exam: {', '.join(map(str, missing))}")
    active = active_scoring_jobs()
    job_ids = {active.get(pk) for pk in wanted}
    if None not in job_ids and len(job_ids) == 1:
        return InferenceJob.objects.get(pk=job_ids.pop())
    job = inference_job_create(exam_ids=wanted, user=user, scope=scope, automatic=False)
    exam_rows_broadcast(wanted)
    return job


# --- Sign-off and feedback -----------------------------------------------------------------


def review_for(result: ExamResult, clinician) -> ClinicianReview | None:
    return ClinicianReview.objects.filter(result=result, clinician=clinician).first()


@transaction.atomic
def review_record(
    *,
    result: ExamResult,
    clinician,
    agreement: str,
    comment: str = "",
    final_diagnosis: str = "",
) -> ClinicianReview:
    """The clinician's sign-off on a scored result, created or updated (one per clinician).

    A final diagnosis left blank keeps the one recorded earlier.
    """
    if result.status != ResultStatus.SCORED:
        raise ValueError("only a scored result can be signed off")
    if agreement not in Agreement.values:
        raise ValueError(f"unknown agreement {agreement!r}")
    review, created = ClinicianReview.objects.get_or_create(
        result=result,
        clinician=clinician,
        defaults={"agreement": agreement, "comment": comment, "final_diagnosis": final_diagnosis},
    )
    if not created:
        review.agreement = agreement
        review.comment = comment
        review.final_diagnosis = final_diagnosis or review.final_diagnosis
        review.save(update_fields=["agreement", "comment", "final_diagnosis", "updated_at"])
    return review


def disagreement_list(viewer=None) -> QuerySet[ClinicianReview]:
    """Reviews that question the AI: the clinician disagreed, or the final diagnosis
    contradicts the AI's decision (borderline counts as malignant, as in training). Without
    the exams whose AI output `viewer` may not see now."""
    withheld = selectors.ai_withheld(viewer) if viewer else {}
    contradicted = Q(final_diagnosis="benign", result__malignant=True) | Q(
        final_diagnosis__in=["borderline", "malignant"], result__malignant=False
    )
    return (
        ClinicianReview.objects.filter(Q(agreement=Agreement.DISAGREE) | contradicted)
        .filter(result__status=ResultStatus.SCORED)
        .exclude(result__exam_id__in=list(withheld))
        .select_related(
            "clinician",
            "result__ensemble__resnet",
            "result__ensemble__darknet",
            "result__exam__patient",
            "result__exam__center",
            "result__exam__pathology",
        )
        .order_by("-updated_at")
    )
