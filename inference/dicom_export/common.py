"""What every exported object shares: the kinds, the new UIDs, the base dataset, the file."""

import io
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

from inference.dicom_export.identity import ImageReference, StudyIdentity
from inference.models import ExamResult

KINDS = ("heatmap", "sr", "pdf")
MANUFACTURER = "OvaScan"
OVERLAY_OPACITY = 0.45
SERIES_NUMBERS = {"heatmap": 9001, "sr": 9002, "pdf": 9003}
CODING_SCHEME = "99OVASCAN"  # a private coding scheme ("99" prefix) for our own concepts


class ExportError(ValueError):
    """The result cannot be exported as asked (no such image, no heatmap, unknown kind)."""


@dataclass
class Exported:
    data: bytes
    filename: str
    dataset: Dataset


def _uid(result: ExamResult, identity: StudyIdentity, *parts: str) -> str:
    return generate_uid(
        entropy_srcs=[
            "ovascan result",
            str(result.pk),
            result.updated_at.isoformat(),
            "original" if identity.original else "pseudonymous",
            *parts,
        ],
    )


def _base(
    *, result: ExamResult, identity: StudyIdentity, kind: str, sop_class: str, modality: str
) -> Dataset:
    exam, ensemble = result.exam, result.ensemble
    created = timezone.localtime(result.updated_at)
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = _uid(result, identity, kind, "instance")
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.InstanceCreationDate, ds.InstanceCreationTime = _da(created), _tm(created)
    # Patient
    ds.PatientName = ""  # names are never stored
    ds.PatientID = identity.patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = "F"
    if not identity.original:
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = "OvaScan keyed pseudonyms (HMAC-SHA256) for IDs and UIDs"
    # General study: the exam's own study
    ds.StudyInstanceUID = identity.study_uid
    ds.StudyDate = exam.exam_date.strftime("%Y%m%d")
    ds.StudyTime = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = ""
    ds.AccessionNumber = identity.accession_number
    # Series: one of our own
    ds.Modality = modality
    ds.SeriesInstanceUID = _uid(result, identity, kind, "series")
    ds.SeriesNumber = SERIES_NUMBERS[kind]
    ds.SeriesDescription = f"AI decision aid: {_KIND_TITLES[kind]}"
    ds.InstanceNumber = 1
    ds.ContentDate, ds.ContentTime = _da(created), _tm(created)
    # Equipment
    ds.Manufacturer = MANUFACTURER
    ds.ManufacturerModelName = f"Ensemble {ensemble.pk}"[:64]
    ds.SoftwareVersions = [ensemble.resnet.label[:64], ensemble.darknet.label[:64]]
    return ds


_KIND_TITLES = {
    "heatmap": "CAM heatmap overlay",
    "sr": "exam score report",
    "pdf": "exam report (PDF)",
}


def _da(moment: datetime) -> str:
    return moment.strftime("%Y%m%d")


def _tm(moment: datetime) -> str:
    return moment.strftime("%H%M%S")


def _reference_item(reference: ImageReference) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = reference.sop_class_uid
    item.ReferencedSOPInstanceUID = reference.sop_uid
    if reference.frame_number is not None:
        item.ReferencedFrameNumber = reference.frame_number
    return item


def _file_bytes(ds: Dataset) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
