"""Placing a patient's exams, operations and CA125 values on a time axis for the page."""

from dataclasses import dataclass
from datetime import date

from annotation.models import Patient

WIDTH = 1000  # SVG user units; the page scales it
MARGIN = 40


@dataclass
class Mark:
    x: float
    kind: str  # exam, operation, ca125
    label: str
    css: str = ""
    url_pk: int | None = None


def _position(day: date, first: date, last: date) -> float:
    span = max((last - first).days, 1)
    return MARGIN + (WIDTH - 2 * MARGIN) * (day - first).days / span


def patient_timeline(patient: Patient) -> dict:
    """Marks for every exam (coloured by pathology), operation and CA125 measurement."""
    exams = [(exam, getattr(exam, "pathology", None)) for exam in patient.exams.all()]
    measurements = list(patient.ca125.all())
    days = [exam.exam_date for exam, _ in exams] + [m.measured_on for m in measurements]
    days += [
        pathology.operation_date for _, pathology in exams if pathology and pathology.operation_date
    ]
    if not days:
        return {"marks": [], "years": [], "width": WIDTH}
    first, last = min(days), max(days)
    marks = []
    for exam, pathology in exams:
        marks.append(
            Mark(
                _position(exam.exam_date, first, last),
                "exam",
                f"Exam {exam.exam_date:%Y-%m-%d}",
                pathology.outcome if pathology else "",
                exam.pk,
            )
        )
        if pathology and pathology.operation_date:
            marks.append(
                Mark(
                    _position(pathology.operation_date, first, last),
                    "operation",
                    f"Operation {pathology.operation_date:%Y-%m-%d}: {pathology.outcome}",
                    pathology.outcome,
                )
            )
    for measurement in measurements:
        marks.append(
            Mark(
                _position(measurement.measured_on, first, last),
                "ca125",
                f"CA125 {measurement.value_u_per_ml:g} U/mL on {measurement.measured_on}",
            )
        )
    years = [
        (_position(date(year, 1, 1), first, last), year)
        for year in range(first.year + 1, last.year + 1)
    ]
    return {"marks": marks, "years": years, "width": WIDTH}
