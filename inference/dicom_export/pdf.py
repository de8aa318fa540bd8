"""The printed report as PDF, and as an Encapsulated PDF."""

import io
import textwrap

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont
from pydicom import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import EncapsulatedPDFStorage

from annotation.models import Image
from inference import reports
from inference.dicom_export.common import _base
from inference.dicom_export.heatmap import heatmap_overlay
from inference.dicom_export.identity import StudyIdentity
from inference.dicom_export.sr import _code, _summary_lines
from inference.models import ExamResult, ImagePrediction, ResultStatus

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
