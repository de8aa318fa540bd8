"""Identifiers: the original ones or the pseudonymous ones (see the package docstring)."""

from dataclasses import dataclass, field

from pydicom.uid import UltrasoundImageStorage, UltrasoundMultiFrameImageStorage, generate_uid

from annotation.models import Exam, Image, ImageSource
from annotation.patients.identity import IdentifierError, decrypt_identifiers
from annotation.selectors import patient_identifiers
from base.roles import IDENTIFIER_ROLES, has_role


@dataclass
class ImageReference:
    sop_class_uid: str
    series_uid: str
    sop_uid: str
    frame_number: int | None = None


@dataclass
class StudyIdentity:
    """Who and which study the exported objects belong to (see the module docstring)."""

    original: bool
    patient_id: str
    study_uid: str
    accession_number: str = ""
    references: dict[int, ImageReference] = field(default_factory=dict)


def study_identity(exam: Exam, images: list[Image], user) -> StudyIdentity:
    """Original identifiers for users who may see them and exams that have them; the
    pseudonymous ones otherwise."""
    if has_role(user, *IDENTIFIER_ROLES):
        try:
            exam_ids = decrypt_identifiers(exam.identifiers_encrypted)
        except IdentifierError:
            exam_ids = {}
        patient = patient_identifiers(patient=exam.patient, user=user)
        if exam_ids.get("study_instance_uid") and patient.get("patient_id"):
            return StudyIdentity(
                original=True,
                patient_id=patient["patient_id"],
                study_uid=exam_ids["study_instance_uid"],
                accession_number=exam_ids.get("accession_number", ""),
                references=_references(images, original=True),
            )
    study_uid = exam.study_instance_uid or generate_uid(
        entropy_srcs=["ovascan exam", str(exam.pk), exam.created_at.isoformat()]
    )
    return StudyIdentity(
        original=False,
        patient_id=exam.patient.short_pseudonym,
        study_uid=study_uid,
        references=_references(images, original=False),
    )


def _references(images: list[Image], *, original: bool) -> dict[int, ImageReference]:
    references = {}
    for image in images:
        if image.source != ImageSource.DICOM:
            continue
        if original:
            try:
                uids = decrypt_identifiers(image.identifiers_encrypted)
            except IdentifierError:
                continue
            sop_uid, series_uid = uids.get("sop_instance_uid"), uids.get("series_instance_uid")
        else:
            sop_uid, series_uid = image.sop_instance_uid, image.series_instance_uid
        if not sop_uid or not series_uid:
            continue
        multi_frame = image.frame_count > 1
        references[image.pk] = ImageReference(
            sop_class_uid=UltrasoundMultiFrameImageStorage
            if multi_frame
            else UltrasoundImageStorage,
            series_uid=series_uid,
            sop_uid=sop_uid,
            frame_number=image.frame_index + 1 if multi_frame else None,
        )
    return references
