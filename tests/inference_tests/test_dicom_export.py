"""Results back to the archive: the DICOM files read back with pydicom."""

import io

import numpy as np
import pytest
from django.urls import reverse
from pydicom import dcmread
from pydicom.uid import (
    BasicTextSRStorage,
    EncapsulatedPDFStorage,
    SecondaryCaptureImageStorage,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
)

from annotation import services
from annotation.models import ImageSource
from base.roles import Role
from inference.dicom_export import ExportError, result_export
from tests import image_factories
from tests.factories import ExamFactory
from tests.inference_tests.factories import exam_result_make
from tests.inference_tests.test_report import exam_images, not_scorable_result, scored_exam

pytestmark = pytest.mark.django_db

R, CO, CL, A = Role.RADIOLOGIST, Role.COORDINATOR, Role.CLINICIAN, Role.ADMINISTRATOR
STUDY_UID = "1.2.826.0.1.3680043.8.498.1001"
SERIES_UID = "1.2.826.0.1.3680043.8.498.1002"


@pytest.fixture
def dicom_exam():
    """An exam that came from the PACS: original identifiers kept encrypted, two images
    (a single frame and the third frame of a cine loop), the second driving the score."""
    patient = services.patient_get_or_create(hospital_id="MRN-4711", birth_year=1966)
    exam = ExamFactory(patient=patient)
    services.exam_identifiers_add(exam, study_instance_uid=STUDY_UID, accession_number="ACC-9")
    exam.save()
    still, _ = image_factories.image_store(
        exam=exam,
        pixels=np.full((30, 40), 90, dtype=np.uint8),
        source=ImageSource.DICOM,
        color_model="MONOCHROME2",
        sop_instance_uid=f"{SERIES_UID}.1",
        series_instance_uid=SERIES_UID,
    )
    frame, _ = image_factories.image_store(
        exam=exam,
        pixels=np.full((30, 40), 60, dtype=np.uint8),
        source=ImageSource.DICOM,
        color_model="MONOCHROME2",
        sop_instance_uid=f"{SERIES_UID}.2",
        series_instance_uid=SERIES_UID,
        frame_index=2,
        frame_count=5,
    )
    result = exam_result_make(exam=exam, images=[still, frame], probabilities=[0.3, 0.8])
    return exam, [still, frame], result


def read(data: bytes):
    return dcmread(io.BytesIO(data))


def test_the_heatmap_is_a_secondary_capture_in_the_original_study(dicom_exam, make_user):
    exam, (still, frame), result = dicom_exam
    exported = result_export(result=result, kind="heatmap", user=make_user(CL))
    ds = read(exported.data)
    assert ds.file_meta.MediaStorageSOPClassUID == SecondaryCaptureImageStorage
    assert ds.SOPClassUID == SecondaryCaptureImageStorage
    assert ds.StudyInstanceUID == STUDY_UID
    assert (ds.PatientID, ds.AccessionNumber) == ("MRN-4711", "ACC-9")
    assert "PatientIdentityRemoved" not in ds
    assert ds.SeriesInstanceUID not in (STUDY_UID, SERIES_UID)
    assert ds.SOPInstanceUID != ds.SeriesInstanceUID
    assert ds.pixel_array.shape == (30, 40, 3)
    assert ds.PhotometricInterpretation == "RGB"
    assert ds.ImageType == ["DERIVED", "SECONDARY"]
    # By default the image that drove the score: the cine frame, referenced with its frame.
    [source] = ds.SourceImageSequence
    assert source.ReferencedSOPInstanceUID == f"{SERIES_UID}.2"
    assert source.ReferencedSOPClassUID == UltrasoundMultiFrameImageStorage
    assert source.ReferencedFrameNumber == 3
    assert ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID == f"{SERIES_UID}.2"
    # The heatmap is laid over the pixels: not the plain grey image any more.
    assert not np.all(ds.pixel_array[..., 0] == ds.pixel_array[..., 2])
    # Exported again: the same instance, so the PACS replaces it rather than duplicating.
    again = read(result_export(result=result, kind="heatmap", user=make_user(CL)).data)
    assert (again.SeriesInstanceUID, again.SOPInstanceUID) == (
        ds.SeriesInstanceUID,
        ds.SOPInstanceUID,
    )
    chosen = read(
        result_export(result=result, kind="heatmap", user=make_user(CL), image_id=still.pk).data
    )
    assert chosen.SourceImageSequence[0].ReferencedSOPClassUID == UltrasoundImageStorage
    assert chosen.SOPInstanceUID != ds.SOPInstanceUID
    assert chosen.SeriesInstanceUID == ds.SeriesInstanceUID


def test_coordinators_get_pseudonymous_identifiers(dicom_exam, make_user):
    exam, (_, frame), result = dicom_exam
    ds = read(result_export(result=result, kind="heatmap", user=make_user(CO)).data)
    assert ds.StudyInstanceUID == exam.study_instance_uid != STUDY_UID
    assert ds.PatientID == exam.patient.short_pseudonym
    assert ds.AccessionNumber == ""
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == frame.sop_instance_uid
    clinician = read(result_export(result=result, kind="heatmap", user=make_user(CL)).data)
    assert clinician.SOPInstanceUID != ds.SOPInstanceUID


def test_the_structured_report_carries_the_scores_and_references(dicom_exam, make_user):
    exam, _, result = dicom_exam
    ds = read(result_export(result=result, kind="sr", user=make_user(CL)).data)
    assert ds.SOPClassUID == BasicTextSRStorage
    assert (ds.Modality, ds.StudyInstanceUID) == ("SR", STUDY_UID)
    assert (ds.ValueType, ds.CompletionFlag, ds.VerificationFlag) == (
        "CONTAINER",
        "COMPLETE",
        "UNVERIFIED",
    )
    texts = {
        item.ConceptNameCodeSequence[0].CodeMeaning: item.TextValue
        for item in ds.ContentSequence
        if item.ValueType == "TEXT"
    }
    assert texts["Combined exam score Θ"] == f"{result.score:.4f}"
    assert texts["Exam score θ, ResNet-50"] == f"{result.theta_resnet:.4f}"
    assert texts["Operating threshold"] == "0.5000"
    assert texts["Finding"].startswith("AI decision: malignant")
    assert "Decision aid" in texts["Comment"]
    images = [item for item in ds.ContentSequence if item.ValueType == "IMAGE"]
    assert {i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for i in images} == {
        f"{SERIES_UID}.1",
        f"{SERIES_UID}.2",
    }
    [study] = ds.CurrentRequestedProcedureEvidenceSequence
    assert study.StudyInstanceUID == STUDY_UID
    [series] = study.ReferencedSeriesSequence
    assert series.SeriesInstanceUID == SERIES_UID
    assert len(series.ReferencedSOPSequence) == 2


def test_the_report_as_encapsulated_pdf(dicom_exam, make_user):
    _, _, result = dicom_exam
    ds = read(result_export(result=result, kind="pdf", user=make_user(CL)).data)
    assert ds.SOPClassUID == EncapsulatedPDFStorage
    assert (ds.Modality, ds.StudyInstanceUID) == ("DOC", STUDY_UID)
    assert ds.MIMETypeOfEncapsulatedDocument == "application/pdf"
    document = bytes(ds.EncapsulatedDocument)[: ds.EncapsulatedDocumentLength]
    assert document.startswith(b"%PDF-") and document.rstrip().endswith(b"%%EOF")
    assert len(document) > 5000  # a page with the heatmaps on it


def test_exams_without_dicom_identifiers_still_export(make_user):
    exam, _, result = scored_exam((0.6,))
    assert exam.study_instance_uid == ""
    ds = read(result_export(result=result, kind="heatmap", user=make_user(CL)).data)
    assert ds.StudyInstanceUID.startswith("1.2.826.0.1.3680043.8.498.")
    assert ds.PatientID == exam.patient.short_pseudonym
    assert "SourceImageSequence" not in ds
    sr = read(result_export(result=result, kind="sr", user=make_user(CL)).data)
    assert sr.StudyInstanceUID == ds.StudyInstanceUID
    assert "CurrentRequestedProcedureEvidenceSequence" not in sr


def test_a_not_scorable_result_exports_its_reason_but_no_heatmap(make_user):
    from tests.inference_tests.factories import ensemble_make

    exam = ExamFactory()
    not_scorable_result(exam, ensemble_make(), exam_images(exam, 1))
    result = exam.ai_results.get()
    sr = read(result_export(result=result, kind="sr", user=make_user(CL)).data)
    assert any("Not scorable" in item.TextValue for item in sr.ContentSequence)
    with pytest.raises(ExportError):
        result_export(result=result, kind="heatmap", user=make_user(CL))
    with pytest.raises(ExportError):
        result_export(result=result, kind="xml", user=make_user(CL))


def test_downloads_from_the_report_for_allowed_roles_only(dicom_exam, client_for):
    exam, (still, _), _ = dicom_exam
    url = reverse("inference:report_dicom", args=[exam.pk, "sr"])
    assert client_for(R).get(url).status_code == 403
    response = client_for(CO).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/dicom"
    assert "attachment" in response["Content-Disposition"]
    assert read(response.content).SOPClassUID == BasicTextSRStorage
    client = client_for(CL)
    heatmap = reverse("inference:report_dicom", args=[exam.pk, "heatmap"])
    assert client.get(heatmap, {"image": still.pk}).status_code == 200
    assert client.get(heatmap, {"image": 999999}).status_code == 404
    assert client.get(reverse("inference:report_dicom", args=[exam.pk, "xml"])).status_code == 404
    no_result = ExamFactory()
    assert (
        client.get(reverse("inference:report_dicom", args=[no_result.pk, "sr"])).status_code == 404
    )
    html = client.get(reverse("inference:report", args=[exam.pk])).content.decode()
    assert reverse("inference:report_dicom", args=[exam.pk, "pdf"]) in html
