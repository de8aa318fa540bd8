"""Live worklist rows: what open worklists hear when an exam's result or status changes.

Every message goes to the "exam-results" group (inference.consumers.ExamResultConsumer, which
admits only the roles that may see results) once the current transaction commits.
"""

from django.template.loader import render_to_string

from base.broadcast import broadcast
from inference import worklist
from inference.models import ExamResult

EXAM_RESULTS_GROUP = "exam-results"
MESSAGE_TYPE = "exam.result"


def row_payload(row: worklist.WorklistRow) -> dict:
    """The row's data and its HTML; the same for every viewer (no user-specific content)."""
    exam, result = row.exam, row.result
    return {
        "exam_id": exam.pk,
        "status": row.status,
        "status_label": row.status_label,
        "score": result.score if result is not None else None,
        "decision": row.decision,
        "ensemble_id": result.ensemble_id if result is not None else None,
        "center": exam.center.code,
        "exam_date": exam.exam_date.isoformat(),
        "patient_id": exam.patient_id,
        "html": render_to_string("inference/worklist_row.html", {"row": row}),
    }


def result_broadcast(result: ExamResult) -> None:
    """Tell open worklists that `result` was stored (called by the scoring code).

    A result of an ensemble that is not in service changes nothing the worklist shows, so
    it is not sent: worklist rows never mix model versions.
    """
    if not result.ensemble.in_service:
        return
    exam = result.exam
    row = worklist.WorklistRow(exam, result.status, result)
    broadcast(EXAM_RESULTS_GROUP, MESSAGE_TYPE, row_payload(row))


def exam_rows_broadcast(exam_ids: list[int]) -> None:
    """Send the current row of each exam (its status changed: scoring started, images in)."""
    exams = worklist.worklist_exams().filter(pk__in=exam_ids)
    for row in worklist.worklist_rows(exams):
        broadcast(EXAM_RESULTS_GROUP, MESSAGE_TYPE, row_payload(row))
