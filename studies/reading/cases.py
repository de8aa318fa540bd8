"""What a reader is sent for a case: the images, the clinical data the arm allows and, in the
arm with AI only, the AI output. Never the truth, never another reader's answer, and never
the exam's identity beyond its images.
"""

from __future__ import annotations

from typing import Any

from annotation.labelling.payloads import image_payload
from annotation.models import CA125Measurement, Exam, Image
from studies.models import Arm, CaseReading, ReadingSession
from studies.reading.flow import session_progress


def ai_output(exam_id: int, *, viewer) -> dict | None:
    """The AI's result for the exam (inference's contract, passed on field by field), or None.

    Status "withheld" (no output, the reason) while the viewer may not see it
    (`studies.reading.blinding`); otherwise the showing is recorded.
    """
    from inference.selectors import exam_ai_summary  # the layer above annotation; lazily

    summary = exam_ai_summary(exam_id, viewer=viewer)
    if summary is None:
        return None
    if summary["status"] == "withheld":
        return {"status": "withheld", "reason": summary["reason"]}
    return {
        "status": summary.get("status", "scored"),
        "reason": summary.get("reason", ""),
        "theta": summary["theta"],
        "decision": summary["decision"],
        "threshold": summary["threshold"],
        "sensitivity": summary.get("sensitivity"),
        "specificity": summary.get("specificity"),
        "models": [
            {"name": model["name"], "theta": model["theta"]} for model in summary.get("models", [])
        ],
        "images": [
            {
                "image_id": image["image_id"],
                "probability": image["probability"],
                "heatmap_url": image.get("heatmap_url") or "",
            }
            for image in summary.get("images", [])
        ],
    }


def _ca125(exam: Exam) -> dict | None:
    """The exam's own CA125, else the patient's latest measured on or before the exam."""
    measurements = CA125Measurement.objects.filter(patient_id=exam.patient_id)
    measurement = measurements.filter(exam=exam).order_by("-measured_on").first() or (
        measurements.filter(measured_on__lte=exam.exam_date).order_by("-measured_on").first()
    )
    if measurement is None:
        return None
    return {"value_u_per_ml": measurement.value_u_per_ml, "measured_on": measurement.measured_on}


def clinical_payload(exam: Exam, shown: tuple[str, ...]) -> dict[str, Any]:
    clinical: dict[str, Any] = {}
    if "age" in shown:
        clinical["age"] = exam.age_at_exam
    if "ca125" in shown:
        clinical["ca125"] = _ca125(exam)
    if "report" in shown:
        clinical["report"] = {
            "lesion_size_mm": exam.report_lesion_size_mm,
            "mass_type": exam.get_report_mass_type_display() if exam.report_mass_type else "",
            "text": exam.report_text,
        }
    return clinical


def _first_image(exam_id: int) -> Image | None:
    return Image.objects.filter(exam_id=exam_id, hidden=False, frame_index=0).order_by("pk").first()


def reading_data(reading: CaseReading) -> dict[str, Any]:
    """The reader's own answers (times are the server's)."""
    return {
        "id": reading.pk,
        "position": reading.position,
        "practice": reading.practice,
        "shown_at": reading.shown_at,
        "answered_at": reading.answered_at,
        "malignant": reading.malignant,
        "confidence": reading.confidence,
        "orads": reading.orads,
        "comment": reading.comment,
    }


def case_payload(reading: CaseReading, session: ReadingSession, viewer=None) -> dict[str, Any]:
    """Everything the reading screen shows for one case: answers, images, clinical data,
    AI output (arm with AI only: the key is absent otherwise; withheld while the reader
    reads the exam without AI elsewhere), progress, and the next case's first image to
    preload. `viewer`: the reader (the session's, when not given)."""
    exam = reading.exam
    image = _first_image(exam.pk)
    case: dict[str, Any] = {
        "images": image_payload(image) if image else None,
        "clinical": clinical_payload(exam, session.study.clinical_data(session.arm)),
    }
    if session.arm == Arm.WITH_AI:
        case["ai"] = ai_output(exam.pk, viewer=viewer or session.reader)
    upcoming = (
        session.readings.filter(answered_at__isnull=True, position__gt=reading.position)
        .order_by("position")
        .values_list("exam_id", flat=True)
        .first()
    )
    following = _first_image(upcoming) if upcoming else None
    return {
        "reading": reading_data(reading),
        "case": case,
        "progress": session_progress(session),
        "upcoming": image_payload(following)["frames"] if following else [],
    }
