"""The clinicians' worklist: each exam's status and, once scored, its result and decision.

Rows always show the results of one ensemble; inference.live sends changed rows to open
worklists, and inference.reports builds the pages on top of these.
"""

from dataclasses import dataclass
from datetime import date

from django.db import models
from django.db.models import QuerySet

from annotation.models import Exam
from base.models import JobStatus
from inference import selectors
from inference.models import Ensemble, ExamResult, InferenceJob, ResultStatus
from inference.scoring import decision_name


class ExamStatus(models.TextChoices):
    ARRIVING = "arriving", "Arriving"
    WAITING = "waiting", "Not scored yet"
    SCORING = "scoring", "Scoring"
    SCORED = "scored", "Scored"
    NOT_SCORABLE = "not_scorable", "Not scorable"
    WITHHELD = "withheld", "Withheld: you read it in a reader study"


def active_scoring_jobs() -> dict[int, int]:
    """Exam id -> id of a queued or running scoring job that names it."""
    jobs = InferenceJob.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
    active: dict[int, int] = {}
    for job_id, exam_ids in jobs.order_by("created_at").values_list("pk", "exam_ids"):
        for exam_id in exam_ids or []:
            active.setdefault(int(exam_id), job_id)
    return active


def exam_status(exam: Exam, result: ExamResult | None, job_id: int | None) -> str:
    """A stored result wins; then a job at work on the exam; then whether its images are in."""
    if result is not None:
        return result.status
    if job_id is not None:
        return ExamStatus.SCORING
    if exam.acquisition_completed_at is None:
        return ExamStatus.ARRIVING
    return ExamStatus.WAITING


def decision_of(result: ExamResult | None) -> str:
    """The decision at the threshold: malignant, benign, or "" when not scored."""
    if result is None or result.status != ResultStatus.SCORED:
        return ""
    return decision_name(result.malignant)


@dataclass
class WorklistRow:
    exam: Exam
    status: str
    result: ExamResult | None = None
    job_id: int | None = None

    @property
    def status_label(self) -> str:
        return ExamStatus(self.status).label

    @property
    def decision(self) -> str:
        return decision_of(self.result)


def worklist_exams(
    *,
    center: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    patient_id: int | None = None,
) -> QuerySet[Exam]:
    """Recent exams first, filtered by centre code, exam date range and patient."""
    exams = Exam.objects.select_related("patient", "center").order_by("-exam_date", "-pk")
    if center:
        exams = exams.filter(center__code=center)
    if date_from:
        exams = exams.filter(exam_date__gte=date_from)
    if date_to:
        exams = exams.filter(exam_date__lte=date_to)
    if patient_id is not None:
        exams = exams.filter(patient_id=patient_id)
    return exams


def worklist_rows(exams, ensemble: Ensemble | None = None, viewer=None) -> list[WorklistRow]:
    """Rows for the given exams with the results of one ensemble (by default the one in
    service); a few queries whatever the number of exams. With a `viewer`, the exams whose
    AI output they may not see now are rows without a result ("withheld")."""
    exams = list(exams)
    withheld = selectors.ai_release(viewer, [exam.pk for exam in exams]) if viewer else {}
    ensemble = ensemble or selectors.ensemble_in_service()
    results: dict[int, ExamResult] = {}
    if ensemble is not None:
        found = ExamResult.objects.filter(ensemble=ensemble, exam__in=exams)
        results = {result.exam_id: result for result in found}
    jobs = active_scoring_jobs()
    rows = []
    for exam in exams:
        if exam.pk in withheld:
            rows.append(WorklistRow(exam, ExamStatus.WITHHELD))
            continue
        result, job_id = results.get(exam.pk), jobs.get(exam.pk)
        rows.append(WorklistRow(exam, exam_status(exam, result, job_id), result, job_id))
    return rows


def worklist_row(exam_id: int) -> WorklistRow:
    exam = Exam.objects.select_related("patient", "center").get(pk=exam_id)
    return worklist_rows([exam])[0]
