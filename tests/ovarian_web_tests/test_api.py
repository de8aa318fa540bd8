"""The API: its OpenAPI schema, and what each serializer gives."""

import numpy as np
import pytest
from django.urls import reverse
from knox.models import AuthToken

from annotation import services
from annotation.models import ImageSource, ImportJob, ImportSource
from base.roles import Role
from tests import image_factories
from tests.factories import ExamFactory

pytestmark = pytest.mark.django_db


def test_the_openapi_schema_describes_every_endpoint(client_for):
    response = client_for(Role.COORDINATOR).get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in [
        "/api/exams/",
        "/api/exams/{id}/",
        "/api/images/",
        "/api/centers/",
        "/api/jobs/demo-data/",
        "/api/me/",
    ]:
        assert path in schema["paths"], path


def test_exams_carry_their_clinical_data_for_clinicians(client_for):
    exam = ExamFactory()
    services.pathology_set(exam=exam, outcome="borderline", histological_type="serous borderline")
    services.features_set(
        exam=exam,
        mass_type="multilocular_solid",
        lesion_diameter_mm=84,
        solid_diameter_mm=20,
        color_score=3,
    )
    image, _ = image_factories.image_store(
        exam=exam,
        pixels=np.zeros((8, 8), dtype=np.uint8),
        source=ImageSource.PNG,
        color_model="MONOCHROME2",
    )
    body = client_for(Role.CLINICIAN).get(reverse("exam-detail", args=[exam.pk])).json()
    assert body["pathology"]["outcome"] == "borderline"
    assert body["features"]["lesion_diameter_mm"] == 84
    assert body["image_ids"] == [image.pk]
    assert body["age_at_exam"] == exam.age_at_exam


def test_me_names_the_roles(client_for):
    body = client_for(Role.RADIOLOGIST).get(reverse("api-me")).json()
    assert body["roles"] == ["radiologist"]


def test_a_job_with_nonsense_parameters_is_refused_with_reasons(client_for):
    response = client_for(Role.ADMINISTRATOR).post(
        reverse("demo-data-job-list"), {"patients": 0, "seed": -2}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"patients", "seed"}


def test_an_import_from_the_browser_is_an_upload_and_one_from_a_token_an_api_import(
    client, client_for, make_user
):
    browser = client_for(Role.COORDINATOR).post(reverse("import-list"), {}, format="json")
    assert browser.status_code == 201
    assert ImportJob.objects.get(pk=browser.json()["id"]).source == ImportSource.UPLOAD

    client.logout()
    _, token = AuthToken.objects.create(make_user(Role.COORDINATOR))
    script = client.post(reverse("import-list"), {}, HTTP_AUTHORIZATION=f"Token {token}")
    assert script.status_code == 201
    assert ImportJob.objects.get(pk=script.json()["id"]).source == ImportSource.API


def test_me_is_described_with_every_key_it_answers(client_for):
    body = client_for(Role.CLINICIAN).get(reverse("api-me")).json()
    schema = client_for(Role.CLINICIAN).get(reverse("api-schema"), {"format": "json"}).json()
    assert set(schema["components"]["schemas"]["Me"]["properties"]) == set(body)
