"""The browsing pages: what each shows, cine loops as one item, a fixed number of queries."""

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse, reverse_lazy

from annotation import services
from annotation.models import ImageSource
from base.roles import Role
from tests import image_factories
from tests.factories import ExamFactory

pytestmark = pytest.mark.django_db


def _cine(exam, frames=4):
    images = []
    for index in range(frames):
        image, _ = image_factories.image_store(
            exam=exam,
            pixels=np.full((8, 8), index, dtype=np.uint8),
            source=ImageSource.DICOM,
            color_model="MONOCHROME2",
            sop_instance_uid=f"1.2.826.0.1.{exam.pk}",
            frame_index=index,
            frame_count=frames,
        )
        images.append(image)
    return images


def test_a_cine_loop_is_one_item_that_plays_every_frame(client_for):
    exam = ExamFactory()
    frames = _cine(exam)
    client = client_for(Role.RADIOLOGIST)
    listing = client.get(reverse("annotation:image_list"))
    assert [image.pk for image in listing.context["page"]] == [frames[0].pk]
    detail = client.get(reverse("annotation:image_detail", args=[frames[0].pk]))
    assert detail.context["frames"] == [f"/images/{image.pk}/file" for image in frames]
    assert b"cine, 4 frames" in listing.content
    api = client.get(reverse("image-list"))
    assert api.json()["count"] == 4  # the API lists every frame


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", [reverse_lazy("annotation:exam_list"), reverse_lazy("exam-list")])
def test_exam_lists_make_the_same_number_of_queries_for_3_or_23_exams(client_for, url):
    client = client_for(Role.CLINICIAN)
    for _ in range(3):
        _cine(ExamFactory(), frames=2)
    few = _queries(client, url)
    for _ in range(20):
        _cine(ExamFactory(), frames=2)
    assert _queries(client, url) == few


def test_the_radiologist_image_page_shows_no_pathology(client_for):
    exam = ExamFactory()
    services.pathology_set(exam=exam, outcome="malignant", histological_type="clear cell carcinoma")
    image = _cine(exam, frames=1)[0]
    page = client_for(Role.RADIOLOGIST).get(reverse("annotation:image_detail", args=[image.pk]))
    assert page.status_code == 200
    assert b"alignant" not in page.content and b"carcinoma" not in page.content


def test_a_clinician_finds_a_patient_by_hospital_id(client_for):
    patient = services.patient_get_or_create(hospital_id="H-555123", birth_year=1975)
    client = client_for(Role.CLINICIAN)
    found = client.post(reverse("annotation:patient_find"), {"hospital_id": "h-555123"})
    assert found.status_code == 302
    assert found.url == reverse("annotation:patient_detail", args=[patient.pk])
    page = client.get(found.url)
    assert b"H-555123" in page.content  # decrypted for the clinician
    missing = client.post(reverse("annotation:patient_find"), {"hospital_id": "H-000000"})
    assert b"No patient with that hospital ID" in missing.content


def test_a_coordinator_sees_the_patient_page_without_the_hospital_id(client_for):
    patient = services.patient_get_or_create(hospital_id="H-555124", birth_year=1975)
    page = client_for(Role.COORDINATOR).get(reverse("annotation:patient_detail", args=[patient.pk]))
    assert page.status_code == 200 and b"H-555124" not in page.content


def test_the_patient_timeline_places_exams_operations_and_ca125_in_order(client_for):
    import datetime

    patient = services.patient_get_or_create(hospital_id="H-1", birth_year=1960)
    early = ExamFactory(patient=patient, exam_date=datetime.date(2019, 1, 1))
    late = ExamFactory(patient=patient, exam_date=datetime.date(2023, 1, 1))
    services.pathology_set(exam=late, outcome="malignant", operation_date=datetime.date(2023, 2, 1))
    services.ca125_set(
        patient=patient, exam=late, value_u_per_ml=310, measured_on=datetime.date(2022, 12, 20)
    )
    page = client_for(Role.CLINICIAN).get(reverse("annotation:patient_detail", args=[patient.pk]))
    marks = page.context["timeline"]["marks"]
    by_label = {mark.label: mark for mark in marks}
    assert by_label["Exam 2019-01-01"].x < by_label["CA125 310 U/mL on 2022-12-20"].x
    assert by_label["Exam 2023-01-01"].css == "malignant"
    assert by_label["Exam 2019-01-01"].url_pk == early.pk
    assert by_label["Operation 2023-02-01: malignant"].x == max(mark.x for mark in marks)
    assert [year for _, year in page.context["timeline"]["years"]] == [2020, 2021, 2022, 2023]
    assert b'class="timeline-chart"' in page.content
