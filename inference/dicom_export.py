"""An exam result as DICOM objects the archive (PACS) understands.

Three kinds, each a single instance in a series of its own inside the exam's study:

- `heatmap`: a Secondary Capture Image (1.2.840.10008.5.1.4.1.1.7) of one image with the
  ResNet's class activation map laid over it (by default the image that drove Θ most);
- `sr`: a Basic Text SR (1.2.840.10008.5.1.4.1.1.88.11) with θ per model, Θ, the threshold,
  the decision and the model versions, referencing the images that were scored;
- `pdf`: an Encapsulated PDF (1.2.840.10008.5.1.4.1.1.104.1) of the printed report.

Identifiers. Our database keeps pseudonymous UIDs; the originals are only stored encrypted
(annotation.identity). For users who may see identifiers (IDENTIFIER_ROLES: clinicians and
administrators) and an exam whose original Study Instance UID is known, the objects carry the
original Study Instance UID, Patient ID and Accession Number, and reference the original
Series/SOP Instance UIDs of the source images: they file into the hospital's own study.
Everyone else (coordinators), and exams imported without DICOM UIDs, get the pseudonymous
UIDs our database holds, the short pseudonym as Patient ID, and Patient Identity Removed = YES:
such objects belong to a research archive of the pseudonymised data, not the hospital PACS.

New Series and SOP Instance UIDs come from pydicom's generate_uid (under its root, hashed from
the result, its version and the identifier mode), so exporting the same result twice gives the same
instance (the PACS replaces it rather than filing a duplicate), and a re-scored result new ones.

The source images' SOP Class is not stored; a DICOM source is referenced as Ultrasound Image
Storage, or Ultrasound Multi-frame Image Storage (with the frame number) for a cine loop.
"""

import io
import textwrap
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    BasicTextSRStorage,
    EncapsulatedPDFStorage,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
    generate_uid,
)

from annotation.identity import IdentifierError, decrypt_identifiers
from annotation.models import Exam, Image, ImageSource
from annotation.selectors import patient_identifiers
from ovarian_web.roles import IDENTIFIER_ROLES, has_role

from . import reports
from .models import ExamResult, ImagePrediction, ResultStatus

KINDS = ("heatmap", "sr", "pdf")
MANUFACTURER = "OvaScan"
OVERLAY_OPACITY = 0.45
SERIES_NUMBERS = {"heatmap": 9001, "sr": 9002, "pdf": 9003}
CODING_SCHEME = "99OVASCAN"  # a private coding scheme ("99" prefix) for our own concepts


class ExportError(ValueError):
    """The result cannot be exported as asked (no such image, no heatmap, unknown kind)."""


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


@dataclass
class Exported:
    data: bytes
    filename: str
    dataset: Dataset


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


# --- The heatmap overlay -------------------------------------------------------------------


def heatmap_overlay(image: Image, prediction: ImagePrediction) -> np.ndarray:
    """uint8 HxWx3: the image with the stored CAM laid over it, as the report shows it.

    The stored heatmap is an RGBA PNG whose alpha is the CAM's intensity; that intensity goes
    through inference.ml.cam.cam_overlay, which undoes the letterbox of a square map.
    """
    if not prediction.heatmap:
        raise ExportError(f"image {image.pk} has no heatmap")
    with image.file.open("rb") as handle:
        pixels = np.asarray(PILImage.open(handle).convert("RGB"))
    with prediction.heatmap.open("rb") as handle:
        cam = np.asarray(PILImage.open(handle).convert("RGBA"))[:, :, 3]
    try:
        from .ml.cam import cam_overlay
    except ImportError:  # without torch: the same blend, done here
        return _blend(pixels, cam)
    return cam_overlay(pixels, np.ascontiguousarray(cam), opacity=OVERLAY_OPACITY)


def _blend(pixels: np.ndarray, cam: np.ndarray) -> np.ndarray:
    height, width = pixels.shape[:2]
    resized = PILImage.fromarray(cam).resize((width, height), PILImage.Resampling.BILINEAR)
    values = np.asarray(resized).astype(np.float32)[..., None] / 255.0
    colours = np.clip(1.5 - np.abs(4.0 * values - np.array([3.0, 2.0, 1.0])), 0.0, 1.0) * 255
    blended = (1 - OVERLAY_OPACITY) * pixels.astype(np.float32) + OVERLAY_OPACITY * colours
    return np.clip(blended, 0, 255).round().astype(np.uint8)


def _heatmap_dataset(
    result: ExamResult, identity: StudyIdentity, image: Image, prediction: ImagePrediction
) -> Dataset:
    pixels = heatmap_overlay(image, prediction)
    ds = _base(
        result=result,
        identity=identity,
        kind="heatmap",
        sop_class=SecondaryCaptureImageStorage,
        modality="OT",
    )
    ds.SOPInstanceUID = _uid(result, identity, "heatmap", "instance", str(image.pk))
    ds.ConversionType = "WSD"  # workstation: derived by our software
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.PatientOrientation = ""
    ds.DerivationDescription = (
        f"Class activation map of {result.ensemble.resnet.label} over the source image "
        f"(p = {prediction.probability:.3f}); decision aid"
    )[:1024]
    ds.ImageComments = (
        f"AI decision aid. Exam score {result.score:.3f} (threshold "
        f"{result.ensemble.threshold:.3f})"
        if result.score is not None
        else "AI decision aid"
    )
    reference = identity.references.get(image.pk)
    if reference is not None:
        ds.SourceImageSequence = Sequence([_reference_item(reference)])
        ds.ReferencedImageSequence = Sequence([_reference_item(reference)])
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.Rows, ds.Columns = pixels.shape[:2]
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelRepresentation = 0
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    return ds


# --- The structured report -----------------------------------------------------------------


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _text_item(code: Dataset, text: str) -> Dataset:
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "TEXT"
    item.ConceptNameCodeSequence = Sequence([code])
    item.TextValue = text
    return item


def _image_item(reference: ImageReference) -> Dataset:
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "IMAGE"
    item.ConceptNameCodeSequence = Sequence([_code("121200", "DCM", "Illustration of ROI")])
    item.ReferencedSOPSequence = Sequence([_reference_item(reference)])
    return item


def _summary_lines(result: ExamResult) -> list[tuple[Dataset, str]]:
    ensemble = result.ensemble
    finding = _code("121071", "DCM", "Finding")
    lines = [(_code("121106", "DCM", "Comment"), reports.DECISION_AID_NOTICE)]
    if result.status != ResultStatus.SCORED:
        lines.append((finding, f"Not scorable: {result.reason or 'no usable image'}"))
        return lines
    decision = reports.decision_of(result)
    lines += [
        (_code("THETA-R", CODING_SCHEME, "Exam score θ, ResNet-50"), f"{result.theta_resnet:.4f}"),
        (
            _code("THETA-D", CODING_SCHEME, "Exam score θ, Darknet-19"),
            f"{result.theta_darknet:.4f}",
        ),
        (_code("THETA", CODING_SCHEME, "Combined exam score Θ"), f"{result.score:.4f}"),
        (_code("THRESHOLD", CODING_SCHEME, "Operating threshold"), f"{ensemble.threshold:.4f}"),
        (finding, f"AI decision: {decision}. {reports.decision_meaning(ensemble, decision)}"),
        (
            _code("MODELS", CODING_SCHEME, "Model versions"),
            f"Ensemble {ensemble.pk}: {ensemble.resnet.label} (weight "
            f"{ensemble.weight_resnet:.3f}) + {ensemble.darknet.label} (weight "
            f"{ensemble.weight_darknet:.3f})",
        ),
        (
            _code("IMAGES", CODING_SCHEME, "Images scored"),
            f"{len(result.used_image_ids)} scored, {len(result.left_out or [])} left out",
        ),
    ]
    return lines


def _sr_dataset(result: ExamResult, identity: StudyIdentity, images: list[Image]) -> Dataset:
    ds = _base(
        result=result, identity=identity, kind="sr", sop_class=BasicTextSRStorage, modality="SR"
    )
    ds.ReferencedPerformedProcedureStepSequence = Sequence()
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.PerformedProcedureCodeSequence = Sequence()
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([_code("18748-4", "LN", "Diagnostic imaging report")])
    ds.ContinuityOfContent = "SEPARATE"
    content = [_text_item(code, text) for code, text in _summary_lines(result)]
    used = [identity.references[i.pk] for i in images if i.pk in identity.references]
    content += [_image_item(reference) for reference in used]
    ds.ContentSequence = Sequence(content)
    if used:
        ds.CurrentRequestedProcedureEvidenceSequence = Sequence([_evidence(identity, used)])
    return ds


def _evidence(identity: StudyIdentity, references: list[ImageReference]) -> Dataset:
    by_series: dict[str, list[ImageReference]] = {}
    for reference in references:
        by_series.setdefault(reference.series_uid, []).append(reference)
    study = Dataset()
    study.StudyInstanceUID = identity.study_uid
    series_items = []
    for series_uid, members in by_series.items():
        series = Dataset()
        series.SeriesInstanceUID = series_uid
        instances, seen = [], set()
        for reference in members:  # an instance once, whatever frames were scored
            if reference.sop_uid not in seen:
                seen.add(reference.sop_uid)
                item = Dataset()
                item.ReferencedSOPClassUID = reference.sop_class_uid
                item.ReferencedSOPInstanceUID = reference.sop_uid
                instances.append(item)
        series.ReferencedSOPSequence = Sequence(instances)
        series_items.append(series)
    study.ReferencedSeriesSequence = Sequence(series_items)
    return study


# --- The printed report as PDF ---------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT, MARGIN = 1240, 1754, 80  # A4 at 150 dpi


def _fonts() -> tuple[dict, bool]:
    """DejaVu Sans where the system has it (Θ, θ, dashes); Pillow's own font otherwise, with
    those characters spelled out."""
    sizes = (22, 26, 40)
    try:
        return {size: ImageFont.truetype("DejaVuSans.ttf", size) for size in sizes}, True
    except OSError:
        return {size: ImageFont.load_default(size=size) for size in sizes}, False


_ASCII = str.maketrans({"Θ": "Theta", "θ": "theta", "—": "-", "≥": ">="})


def report_pdf(result: ExamResult) -> bytes:
    """A one-page PDF of the report: identity (pseudonym only), scores, decision and its
    meaning, model versions and the images that drove Θ with their heatmaps."""
    exam, ensemble = result.exam, result.ensemble
    page = PILImage.new("RGB", (PAGE_WIDTH, PAGE_HEIGHT), "white")
    draw = ImageDraw.Draw(page)
    fonts, unicode = _fonts()
    y = MARGIN

    def write(text: str, size: int = 22, colour: str = "black", width: int = 85) -> None:
        nonlocal y
        text = text if unicode else text.translate(_ASCII)
        for line in textwrap.wrap(text, width=width) or [""]:
            draw.text((MARGIN, y), line, font=fonts[size], fill=colour)
            y += int(size * 1.45)

    write("AI exam report — decision aid", 40)
    write(reports.DECISION_AID_NOTICE, 22, "#a00000")
    y += 12
    ca125 = reports.ca125_for_exam(exam, list(exam.patient.ca125.all()))
    write(
        f"Patient {exam.patient.short_pseudonym} · age {exam.age_at_exam or '—'} · exam "
        f"{exam.exam_date:%Y-%m-%d} · {exam.center.name} · CA125 "
        + (f"{ca125.value_u_per_ml:g} U/mL ({ca125.measured_on:%Y-%m-%d})" if ca125 else "—"),
        26,
        width=70,
    )
    y += 12
    for code, text in _summary_lines(result)[1:]:
        write(f"{code.CodeMeaning}: {text}")
    images = reports.image_contributions(result) if result.status == ResultStatus.SCORED else []
    shown = images[:4]
    objects = Image.objects.in_bulk([entry["image_id"] for entry in shown])
    predictions = {
        p.image_id: p
        for p in ImagePrediction.objects.filter(image_id__in=objects, model_version=ensemble.resnet)
    }
    gap = 40
    cell = (PAGE_WIDTH - 2 * MARGIN - gap) // 2
    height = min(cell * 3 // 4, (PAGE_HEIGHT - MARGIN - y - 2 * gap) // 2 - 40)
    y += gap
    for index, entry in enumerate(shown):
        image, prediction = objects.get(entry["image_id"]), predictions.get(entry["image_id"])
        if image is None or image.hidden or prediction is None or not prediction.heatmap:
            continue
        tile = PILImage.fromarray(heatmap_overlay(image, prediction))
        scale = min(cell / tile.width, height / tile.height)
        tile = tile.resize((max(1, round(tile.width * scale)), max(1, round(tile.height * scale))))
        x = MARGIN + (index % 2) * (cell + gap)
        top = y + (index // 2) * (height + 40 + gap)
        page.paste(tile, (x, top))
        caption = f"Image {image.pk}: p = {entry['probability']:.3f}, {entry['share']:.0%} of Θ"
        caption = caption if unicode else caption.translate(_ASCII)
        draw.text((x, top + tile.height + 6), caption, font=fonts[22], fill="black")
    buffer = io.BytesIO()
    page.save(buffer, format="PDF", resolution=150.0)
    return buffer.getvalue()


def _pdf_dataset(result: ExamResult, identity: StudyIdentity) -> Dataset:
    ds = _base(
        result=result,
        identity=identity,
        kind="pdf",
        sop_class=EncapsulatedPDFStorage,
        modality="DOC",
    )
    pdf = report_pdf(result)
    ds.ConversionType = "WSD"
    ds.BurnedInAnnotation = "YES"  # the page shows the pseudonym, age and exam date
    ds.DocumentTitle = "AI exam report (decision aid)"
    ds.ConceptNameCodeSequence = Sequence([_code("18748-4", "LN", "Diagnostic imaging report")])
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocumentLength = len(pdf)
    ds.EncapsulatedDocument = pdf + (b"\0" if len(pdf) % 2 else b"")
    return ds


# --- Entry point ---------------------------------------------------------------------------


def result_export(*, result: ExamResult, kind: str, user, image_id: int | None = None) -> Exported:
    """The result as one DICOM file of `kind`; ExportError when it cannot be made."""
    if kind not in KINDS:
        raise ExportError(f"unknown export {kind!r}: one of {', '.join(KINDS)}")
    result = ExamResult.objects.select_related(
        "exam__patient", "exam__center", "ensemble__resnet", "ensemble__darknet"
    ).get(pk=result.pk)
    exam = result.exam
    images = list(Image.objects.filter(pk__in=result.used_image_ids).order_by("pk"))
    identity = study_identity(exam, images, user)
    if kind == "heatmap":
        if result.status != ResultStatus.SCORED:
            raise ExportError("a result that is not scored has no heatmaps")
        if image_id is None:
            ranked = reports.image_contributions(result)
            image_id = ranked[0]["image_id"] if ranked else None
        image = next((i for i in images if i.pk == image_id), None)
        if image is None:
            raise ExportError("that image was not scored in this result")
        prediction = ImagePrediction.objects.filter(
            image=image, model_version=result.ensemble.resnet
        ).first()
        if prediction is None:
            raise ExportError(f"image {image.pk} has no prediction")
        ds = _heatmap_dataset(result, identity, image, prediction)
        filename = f"exam-{exam.pk}-image-{image.pk}-heatmap.dcm"
    elif kind == "sr":
        ds = _sr_dataset(result, identity, images)
        filename = f"exam-{exam.pk}-ai-report-sr.dcm"
    else:
        ds = _pdf_dataset(result, identity)
        filename = f"exam-{exam.pk}-ai-report-pdf.dcm"
    return Exported(data=_file_bytes(ds), filename=filename, dataset=ds)
