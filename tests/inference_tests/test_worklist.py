"""The clinician's worklist: statuses, filters, search by hospital ID, live rows."""

import datetime

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.urls import reverse
from django.utils import timezone

from annotation import services
from base.models import JobStatus
from base.roles import Role
from inference.consumers import ExamResultConsumer
from inference.live import EXAM_RESULTS_GROUP, result_broadcast
from inference.models import Ensemble, ExamResult, InferenceJob, ResultStatus
from inference.reports import score_request
from inference.worklist import ExamStatus, worklist_rows
from tests.factories import CenterFactory, ExamFactory, UserFactory
from tests.inference_tests.factories import ensemble_make, exam_result_make
from tests.inference_tests.test_report import exam_images, not_scorable_result, scored_exam

R, CO, CL, A = Role.RADIOLOGIST, Role.COORDINATOR, Role.CLINICIAN, Role.ADMINISTRATOR


def in_service() -> Ensemble:
    return Ensemble.objects.get(in_service=True)


@pytest.mark.django_db
def test_each_exam_shows_where_it_stands(client_for):
    scored, _, result = scored_exam((0.9,))
    ensemble = result.ensemble
    arriving = ExamFactory()
    exam_images(arriving, 1)
    scoring = ExamFactory(acquisition_completed_at=timezone.now())
    InferenceJob.objects.create(ensemble=ensemble, exam_ids=[scoring.pk], scope="t")
    waiting = ExamFactory(acquisition_completed_at=timezone.now())
    done_job = ExamFactory(acquisition_completed_at=timezone.now())
    InferenceJob.objects.create(
        ensemble=ensemble, exam_ids=[done_job.pk], scope="t", status=JobStatus.FAILED
    )
    empty = ExamFactory(acquisition_completed_at=timezone.now())
    not_scorable_result(empty, ensemble, [])
    statuses = {
        row.exam.pk: row.status
        for row in worklist_rows([scored, arriving, scoring, waiting, done_job, empty])
    }
    assert statuses == {
        scored.pk: ExamStatus.SCORED,
        arriving.pk: ExamStatus.ARRIVING,
        scoring.pk: ExamStatus.SCORING,
        waiting.pk: ExamStatus.WAITING,
        done_job.pk: ExamStatus.WAITING,
        empty.pk: ExamStatus.NOT_SCORABLE,
    }
    html = client_for(CL).get(reverse("inference:worklist")).content.decode()
    for label in ("Scored", "Arriving", "Scoring", "Not scored yet", "Not scorable"):
        assert f">{label}</span>" in html
    assert f"{result.score:.3f}" in html and "Suspicious" in html


@pytest.mark.django_db
def test_only_the_model_in_service_fills_the_worklist():
    old = ensemble_make(in_service=False)
    exam = ExamFactory(acquisition_completed_at=timezone.now())
    exam_result_make(exam=exam, images=exam_images(exam, 1), probabilities=[0.9], ensemble=old)
    ensemble_make()
    [row] = worklist_rows([exam])
    assert (row.status, row.result) == (ExamStatus.WAITING, None)


@pytest.mark.django_db
def test_the_worklist_filters_by_centre_and_date(client_for):
    north, south = CenterFactory(code="NORTH"), CenterFactory(code="SOUTH")
    early = ExamFactory(center=north, exam_date=datetime.date(2024, 1, 10))
    late = ExamFactory(center=south, exam_date=datetime.date(2024, 9, 10))
    client = client_for(CO)

    def exams(**params):
        html = client.get(reverse("inference:worklist"), params).content.decode()
        return {pk for pk in (early.pk, late.pk) if f'data-exam="{pk}"' in html}

    assert exams() == {early.pk, late.pk}
    assert exams(center="NORTH") == {early.pk}
    assert exams(date_from="2024-06-01") == {late.pk}
    assert exams(date_to="2024-06-01") == {early.pk}
    assert exams(date_from="2024-02-01", date_to="2024-06-01") == set()
    # A bad date is ignored, not an error.
    assert client.get(reverse("inference:worklist"), {"date_from": "x"}).status_code == 200


@pytest.mark.django_db
def test_search_by_hospital_id_goes_through_the_pseudonym(client_for):
    patient = services.patient_get_or_create(hospital_id="MRN-77821", birth_year=1961)
    mine = ExamFactory(patient=patient)
    other = ExamFactory()
    client = client_for(CL)
    response = client.post(reverse("inference:worklist_search"), {"hospital_id": " mrn-77821 "})
    assert response.status_code == 302
    assert "77821" not in response.url and response.url.endswith(f"?patient={patient.pk}")
    html = client.get(response.url).content.decode()
    assert f'data-exam="{mine.pk}"' in html and f'data-exam="{other.pk}"' not in html
    assert "MRN-77821" not in html and "77821" not in html
    response = client.post(reverse("inference:worklist_search"), {"hospital_id": "MRN-00000"})
    assert response.status_code == 200
    assert "No patient with that hospital ID" in response.content.decode()
    assert "MRN-00000" not in response.content.decode()
    response = client.post(reverse("inference:worklist_search"), {"hospital_id": ""})
    assert response.status_code == 400
    # Coordinators see the worklist, not identifiers: no search for them.
    coordinator = client_for(CO)
    assert (
        "Hospital patient ID" not in coordinator.get(reverse("inference:worklist")).content.decode()
    )
    response = coordinator.post(reverse("inference:worklist_search"), {"hospital_id": "MRN-77821"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_the_worklist_makes_a_fixed_number_of_queries(
    client_for, django_assert_num_queries, django_assert_max_num_queries
):
    ensemble = ensemble_make()
    client = client_for(CL)
    for _ in range(2):
        scored_exam((0.4,), ensemble=ensemble)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("inference:worklist"))
    for _ in range(5):
        scored_exam((0.4,), ensemble=ensemble)
    with django_assert_num_queries(len(few)):
        client.get(reverse("inference:worklist"))


# --- Live rows -----------------------------------------------------------------------------


def _connect(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(ExamResultConsumer.as_asgi(), "/ws/exam-results/")
    communicator.scope["user"] = user
    return communicator


@pytest.mark.django_db(transaction=True)
async def test_a_stored_result_reaches_open_worklists():
    user = await database_sync_to_async(UserFactory)(role=Role.CLINICIAN)
    communicator = _connect(user)
    connected, _ = await communicator.connect()
    assert connected
    exam, _, result = await database_sync_to_async(scored_exam)((0.9, 0.8))
    await database_sync_to_async(result_broadcast)(
        await database_sync_to_async(ExamResult.objects.select_related("ensemble").get)(
            pk=result.pk
        )
    )
    message = await communicator.receive_json_from(timeout=10)
    assert message["type"] == "exam.result"
    row = message["row"]
    assert (row["exam_id"], row["status"], row["decision"]) == (exam.pk, "scored", "malignant")
    assert row["score"] == pytest.approx(result.score)
    assert f'data-exam="{exam.pk}"' in row["html"] and "Suspicious" in row["html"]
    assert row["exam_date"] == "2024-03-11"
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_asking_for_a_score_shows_scoring_on_open_worklists():
    user = await database_sync_to_async(UserFactory)(role=Role.COORDINATOR)
    communicator = _connect(user)
    assert (await communicator.connect())[0]
    await database_sync_to_async(ensemble_make)()
    exam = await database_sync_to_async(ExamFactory)()
    job = await database_sync_to_async(score_request)(exam_ids=[exam.pk], user=user, scope="t")
    message = await communicator.receive_json_from(timeout=10)
    assert (message["row"]["exam_id"], message["row"]["status"]) == (exam.pk, "scoring")
    assert job.exam_ids == [exam.pk]
    await communicator.disconnect()


@pytest.mark.django_db
def test_results_of_models_not_in_service_are_not_broadcast(monkeypatch):
    sent = []
    monkeypatch.setattr("inference.live.broadcast", lambda *args: sent.append(args))
    old = ensemble_make(in_service=False)
    exam = ExamFactory()
    result = exam_result_make(
        exam=exam, images=exam_images(exam, 1), probabilities=[0.5], ensemble=old
    )
    result_broadcast(result)
    assert sent == []
    current = ensemble_make()
    result = ExamResult.objects.create(
        exam=exam, ensemble=current, status=ResultStatus.NOT_SCORABLE, reason="no usable image"
    )
    result_broadcast(result)
    [(group, kind, payload)] = sent
    assert (group, kind, payload["status"], payload["score"]) == (
        EXAM_RESULTS_GROUP,
        "exam.result",
        "not_scorable",
        None,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", [Role.RADIOLOGIST, None])
async def test_other_roles_cannot_listen_to_results(role):
    user = await database_sync_to_async(UserFactory)(role=role)
    connected, code = await _connect(user).connect()
    assert not connected
    assert code == 4403
