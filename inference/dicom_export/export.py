"""The entry point: a result as one DICOM file of a kind."""

from annotation.models import Image
from inference import reports
from inference.dicom_export.common import KINDS, Exported, ExportError, _file_bytes
from inference.dicom_export.heatmap import _heatmap_dataset
from inference.dicom_export.identity import study_identity
from inference.dicom_export.pdf import _pdf_dataset
from inference.dicom_export.sr import _sr_dataset
from inference.models import ExamResult, ImagePrediction, ResultStatus


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
