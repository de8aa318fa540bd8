"""The structured report: a Basic Text SR."""

from pydicom import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import BasicTextSRStorage

from annotation.models import Image
from inference import reports
from inference.dicom_export.common import CODING_SCHEME, _base, _reference_item
from inference.dicom_export.identity import ImageReference, StudyIdentity
from inference.models import ExamResult, ResultStatus


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
