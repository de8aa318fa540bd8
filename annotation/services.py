"""Every write to the imaging data: centres, patients, exams, images and clinical data."""

import hashlib
import io
from datetime import date

import numpy as np
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from PIL import Image as PILImage

from .identity import (
    accession_key,
    encrypt_identifiers,
    patient_pseudonym,
    pseudonymous_uid,
)
from .models import (
    CA125Measurement,
    Center,
    Dimension,
    Exam,
    Image,
    ImageSource,
    LesionFeatures,
    PathologyResult,
    Patient,
)

THUMBNAIL_SIZE = (192, 144)


def center_upsert(*, code: str, name: str, is_internal: bool, is_oncology_center: bool) -> Center:
    center, _ = Center.objects.update_or_create(
        code=code,
        defaults={
            "name": name,
            "is_internal": is_internal,
            "is_oncology_center": is_oncology_center,
        },
    )
    return center


def patient_get_or_create(*, hospital_id: str, birth_year: int) -> Patient:
    """The patient with this hospital ID, created if new; the ID itself is only kept encrypted."""
    patient, created = Patient.objects.get_or_create(
        pseudonym=patient_pseudonym(hospital_id),
        defaults={
            "birth_year": birth_year,
            "identifiers_encrypted": encrypt_identifiers({"patient_id": hospital_id}),
        },
    )
    if not created and patient.birth_year != birth_year:
        patient.birth_year = birth_year
        patient.save(update_fields=["birth_year", "updated_at"])
    return patient


def exam_upsert(
    *,
    patient: Patient,
    center: Center,
    exam_date: date,
    accession_number: str,
    study_instance_uid: str = "",
    report_lesion_size_mm: float | None = None,
    report_mass_type: str = "",
    report_text: str = "",
) -> Exam:
    """The exam with this accession number, created or brought up to date."""
    identifiers = {"accession_number": accession_number}
    if study_instance_uid:
        identifiers["study_instance_uid"] = study_instance_uid
    exam, created = Exam.objects.get_or_create(
        accession_key=accession_key(accession_number),
        defaults={"patient": patient, "center": center, "exam_date": exam_date},
    )
    exam.patient, exam.center, exam.exam_date = patient, center, exam_date
    exam.study_instance_uid = pseudonymous_uid(study_instance_uid) if study_instance_uid else ""
    exam.report_lesion_size_mm = report_lesion_size_mm
    exam.report_mass_type = report_mass_type or ""
    exam.report_text = report_text
    if created or not exam.identifiers_encrypted:
        exam.identifiers_encrypted = encrypt_identifiers(identifiers)
    exam.save()
    return exam


def pathology_set(
    *,
    exam: Exam,
    outcome: str,
    histological_type: str = "",
    figo_stage: str = "",
    grade: int | None = None,
    operation_date: date | None = None,
) -> PathologyResult:
    result, _ = PathologyResult.objects.update_or_create(
        exam=exam,
        defaults={
            "outcome": outcome,
            "histological_type": histological_type,
            "figo_stage": figo_stage,
            "grade": grade,
            "operation_date": operation_date,
        },
    )
    return result


def ca125_set(
    *, patient: Patient, exam: Exam | None, value_u_per_ml: float, measured_on: date
) -> CA125Measurement:
    measurement, _ = CA125Measurement.objects.update_or_create(
        patient=patient,
        measured_on=measured_on,
        defaults={"exam": exam, "value_u_per_ml": value_u_per_ml},
    )
    return measurement


def features_set(*, exam: Exam, **features) -> LesionFeatures:
    allowed = {f.name for f in LesionFeatures._meta.get_fields()} - {"id", "exam"}
    unknown = set(features) - allowed
    if unknown:
        raise ValueError(f"unknown lesion features: {', '.join(sorted(unknown))}")
    result, _ = LesionFeatures.objects.update_or_create(exam=exam, defaults=features)
    return result


def _png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _thumbnail_bytes(pixels: np.ndarray) -> bytes:
    picture = PILImage.fromarray(pixels)
    picture.thumbnail(THUMBNAIL_SIZE)
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def image_store(
    *,
    exam: Exam,
    pixels: np.ndarray,
    source: ImageSource,
    color_model: str,
    sop_instance_uid: str = "",
    series_instance_uid: str = "",
    frame_index: int = 0,
    frame_count: int = 1,
    scan_region: tuple[int, int, int, int] | None = None,
    pixel_spacing_mm: float | None = None,
    dimension: Dimension = Dimension.UNKNOWN,
    doppler: bool | None = None,
    source_sha256: str = "",
) -> tuple[Image, bool]:
    """Store one frame, cropped to its scan region; (image, False) if it is already stored.

    The crop drops the header band and side margins where scanners burn in patient text.
    UIDs are replaced by stable pseudonymous ones before they reach the database.
    """
    stored_uid = pseudonymous_uid(sop_instance_uid) if sop_instance_uid else ""
    if stored_uid:
        existing = Image.objects.filter(sop_instance_uid=stored_uid, frame_index=frame_index)
        if existing.exists():
            return existing.get(), False
    if scan_region is not None:
        x0, y0, x1, y1 = scan_region
        pixels = pixels[y0 : y1 + 1, x0 : x1 + 1]
    pixels = np.ascontiguousarray(pixels)
    content = _png_bytes(pixels)
    digest = hashlib.sha256(content).hexdigest()
    if not stored_uid:
        existing = Image.objects.filter(sha256=digest, exam=exam)
        if existing.exists():
            return existing.first(), False
    height, width = pixels.shape[:2]
    image = Image(
        exam=exam,
        sha256=digest,
        source=source,
        source_sha256=source_sha256,
        sop_instance_uid=stored_uid,
        series_instance_uid=pseudonymous_uid(series_instance_uid) if series_instance_uid else "",
        frame_index=frame_index,
        frame_count=frame_count,
        width=width,
        height=height,
        color_model="RGB" if pixels.ndim == 3 else color_model,
        dimension=dimension,
        doppler=doppler,
        pixel_spacing_mm=pixel_spacing_mm,
        scan_region=[0, 0, width - 1, height - 1],
    )
    image.file.save(f"{digest[:32]}.png", ContentFile(content), save=False)
    image.thumbnail.save(f"{digest[:32]}.jpg", ContentFile(_thumbnail_bytes(pixels)), save=False)
    try:
        with transaction.atomic():
            image.save()
    except IntegrityError:
        # Another import stored the same frame between our check and our insert.
        image.file.delete(save=False)
        image.thumbnail.delete(save=False)
        if not stored_uid:
            raise
        return Image.objects.get(sop_instance_uid=stored_uid, frame_index=frame_index), False
    return image, True
