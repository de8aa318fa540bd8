"""Every write to the imaging data: centres, patients, exams, images and clinical data."""

from datetime import date, timedelta

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.imaging.prep import PreparedFile
from annotation.models import (
    CA125Measurement,
    Center,
    Exam,
    Image,
    LesionFeatures,
    PathologyResult,
    Patient,
)
from annotation.patients.identity import (
    accession_key,
    decrypt_identifiers,
    encrypt_identifiers,
    patient_pseudonym,
    pseudonymous_uid,
)
from annotation.signals import exam_completed


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


def patient_get_or_create(*, hospital_id: str, birth_year: int | None) -> Patient:
    """The patient with this hospital ID, created if new; the ID itself is only kept encrypted.

    A known birth year replaces the stored one; an unknown one (None) leaves it as it is.
    """
    patient, created = Patient.objects.get_or_create(
        pseudonym=patient_pseudonym(hospital_id),
        defaults={
            "birth_year": birth_year,
            "identifiers_encrypted": encrypt_identifiers({"patient_id": hospital_id}),
        },
    )
    if not created and birth_year is not None and patient.birth_year != birth_year:
        patient.birth_year = birth_year
        patient.save(update_fields=["birth_year", "updated_at"])
    return patient


def exam_identifiers_add(exam: Exam, **identifiers: str) -> bool:
    """Merge identifiers into the exam's encrypted set; True if anything changed (unsaved)."""
    known = decrypt_identifiers(exam.identifiers_encrypted)
    merged = {**known, **{name: value for name, value in identifiers.items() if value}}
    if merged == known:
        return False
    exam.identifiers_encrypted = encrypt_identifiers(merged)
    if merged.get("study_instance_uid"):
        exam.study_instance_uid = pseudonymous_uid(merged["study_instance_uid"])
    return True


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
    """The exam with this accession number, created or brought up to date.

    A study UID already linked by an image import is kept when none is given here.
    """
    exam, _ = Exam.objects.get_or_create(
        accession_key=accession_key(accession_number),
        defaults={"patient": patient, "center": center, "exam_date": exam_date},
    )
    exam.patient, exam.center, exam.exam_date = patient, center, exam_date
    exam.report_lesion_size_mm = report_lesion_size_mm
    exam.report_mass_type = report_mass_type or ""
    exam.report_text = report_text
    exam_identifiers_add(
        exam, accession_number=accession_number, study_instance_uid=study_instance_uid
    )
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


def _existing_frame(
    *, stored_uid: str, source_sha256: str, frame_index: int, exam: Exam
) -> Image | None:
    if stored_uid:
        return Image.objects.filter(sop_instance_uid=stored_uid, frame_index=frame_index).first()
    if source_sha256:
        return Image.objects.filter(source_sha256=source_sha256, frame_index=frame_index).first()
    return None


def image_frames_store(
    *,
    exam: Exam,
    prepared: PreparedFile,
    sop_instance_uid: str = "",
    series_instance_uid: str = "",
) -> list[tuple[Image, bool]]:
    """Store every frame of one prepared file, all or nothing; (image, created) per frame.

    A frame already stored (same SOP Instance UID and frame, or for files without UIDs the
    same file content and frame) is returned, not stored again. UIDs are replaced by stable
    pseudonymous ones; the originals are kept only encrypted.
    """
    stored_uid = pseudonymous_uid(sop_instance_uid) if sop_instance_uid else ""
    identifiers = ""
    if sop_instance_uid:
        identifiers = encrypt_identifiers(
            {"sop_instance_uid": sop_instance_uid, "series_instance_uid": series_instance_uid}
        )
    results, saved = [], []
    try:
        with transaction.atomic():
            for frame in prepared.frames:
                existing = _existing_frame(
                    stored_uid=stored_uid,
                    frame_index=frame.index,
                    source_sha256=prepared.source_sha256,
                    exam=exam,
                )
                if existing is not None:
                    results.append((existing, False))
                    continue
                image = Image(
                    exam=exam,
                    sha256=frame.sha256,
                    source=prepared.kind,
                    source_sha256=prepared.source_sha256,
                    sop_instance_uid=stored_uid,
                    series_instance_uid=(
                        pseudonymous_uid(series_instance_uid) if series_instance_uid else ""
                    ),
                    identifiers_encrypted=identifiers,
                    frame_index=frame.index,
                    frame_count=prepared.frame_count,
                    width=frame.width,
                    height=frame.height,
                    color_model=prepared.color_model,
                    dimension=prepared.dimension,
                    doppler=prepared.doppler,
                    pixel_spacing_mm=prepared.pixel_spacing_mm,
                    scan_region=[0, 0, frame.width - 1, frame.height - 1],
                )
                name = frame.sha256[:32]
                image.file.save(f"{name}.png", ContentFile(frame.png), save=False)
                saved.append(image.file)
                image.thumbnail.save(f"{name}.jpg", ContentFile(frame.thumbnail), save=False)
                saved.append(image.thumbnail)
                image.save()
                results.append((image, True))
            if any(created for _, created in results):
                Exam.objects.filter(pk=exam.pk).update(last_image_at=timezone.now())
    except IntegrityError:
        # Another import stored the same frames between our check and our insert: theirs stand.
        for stored in saved:
            stored.delete(save=False)
        if not stored_uid:
            raise
        return [
            (Image.objects.get(sop_instance_uid=stored_uid, frame_index=frame.index), False)
            for frame in prepared.frames
        ]
    except Exception:
        for stored in saved:
            stored.delete(save=False)
        raise
    return results


def exam_mark_complete(*, exam_id: int) -> bool:
    """Mark the exam's acquisition complete and announce it, once; False if it already was."""
    with transaction.atomic():
        updated = Exam.objects.filter(pk=exam_id, acquisition_completed_at__isnull=True).update(
            acquisition_completed_at=timezone.now()
        )
        if updated:
            transaction.on_commit(lambda: exam_completed.send(sender=Exam, exam_id=exam_id))
    return bool(updated)


def exams_complete_quiet(*, quiet_seconds: int) -> list[int]:
    """Complete every exam whose latest image is older than quiet_seconds; returns their ids."""
    cutoff = timezone.now() - timedelta(seconds=quiet_seconds)
    waiting = Exam.objects.filter(acquisition_completed_at__isnull=True, last_image_at__lt=cutoff)
    return [pk for pk in waiting.values_list("pk", flat=True) if exam_mark_complete(exam_id=pk)]


def patient_delete(*, patient: Patient) -> dict[str, int]:
    """Remove a patient (consent withdrawn) and everything derived from their data.

    Rows go in one transaction (exams, images, pathology, CA125, features, and in higher
    layers whatever cascades from them); stored files go once it has committed. Returns
    how many of each were removed, for the person who asked.
    """
    exams = Exam.objects.filter(patient=patient)
    images = Image.objects.filter(exam__patient=patient)
    files = [name for pair in images.values_list("file", "thumbnail") for name in pair if name]
    removed = {
        "exams": exams.count(),
        "images": images.count(),
        "pathology results": PathologyResult.objects.filter(exam__patient=patient).count(),
        "CA125 measurements": CA125Measurement.objects.filter(patient=patient).count(),
        "lesion feature sets": LesionFeatures.objects.filter(exam__patient=patient).count(),
        "stored files": len(files),
    }
    with transaction.atomic():
        patient.delete()
        storage = Image._meta.get_field("file").storage
        transaction.on_commit(lambda: [storage.delete(name) for name in files])
    return removed
