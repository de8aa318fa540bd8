"""Readers stay blind to the AI output of what they read without AI (every page, API and file
link), and an answer given without AI is frozen once the AI output reached its reader."""

import csv
import io
import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from base.roles import Role
from inference.consumers import ExamResultConsumer
from inference.live import exam_rows_broadcast
from inference.models import ExamResult
from inference.reports import exam_report
from studies.design.services import (
    ReaderStudyError,
    _sessions_build,
    reader_study_create,
    reader_study_open,
)
from studies.models import AIShown, CaseReading, CaseReadingRevision, ReaderStudy
from tests.factories import ExamFactory, UserFactory
from tests.inference_tests.factories import ensemble_make, exam_result_make
from tests.studies_tests.design_factories import designed_study

YES = {"malignant": True, "confidence": 85}


def _reader(*also: Role):
    user = UserFactory(role=Role.RADIOLOGIST)
    for role in also:
        user.groups.add(Group.objects.get(name=str(role)))
    return user


def _session(study, arm, period=None):
    sessions = study.sessions.filter(arm=arm)
    return (sessions.filter(period=period) if period else sessions).get()


def _post(client, name, pk, body=None):
    return client.post(reverse(name, args=[pk]), json.dumps(body or {}), "application/json")


def _scored(*studies):
    """An AI result (with heatmaps) for every case of the studies."""
    ensemble = ensemble_make(threshold=0.4)
    exams = {case.exam for study in studies for case in study.cases.select_related("exam")}
    for exam in exams:
        images = list(exam.images.all())
        exam_result_make(
            exam=exam, images=images, probabilities=[0.7] * len(images), ensemble=ensemble
        )


def _read_session(client, session, answers=YES) -> dict[int, dict]:
    """Read the whole session; the case payloads the reader was sent, by exam."""
    shown: dict[int, dict] = {}
    response = _post(client, "reading-next", session.pk)
    while response.status_code == 200:
        payload = response.json()
        shown[CaseReading.objects.get(pk=payload["reading"]["id"]).exam_id] = payload
        submitted = _post(client, "reading-submit", payload["reading"]["id"], answers)
        assert submitted.status_code == 200, submitted.content
        if submitted.json()["next"] is None:
            break
        response = _post(client, "reading-next", session.pk)
    return shown


def _no_ai_in(response) -> None:
    body = response.content.decode().lower()
    for word in ("theta", "probability", "heatmap", "threshold", "decision"):
        assert word not in body, word


# ---- the crossover: AI output never reaches the arm without AI ----


@pytest.mark.django_db
def test_under_the_crossover_the_aided_reading_of_an_exam_read_without_ai_now_is_withheld(client):
    reader = _reader()
    study = designed_study(readers=[reader], practice=0, design="crossover", washout_days=0)
    _scored(study)
    client.force_login(reader)
    aided = _read_session(client, _session(study, "with_ai", 1))
    _read_session(client, _session(study, "without_ai", 1))

    # Period 2 (no washout): exam X is now read without AI.
    unaided = _session(study, "without_ai", 2)
    now_reading = _post(client, "reading-next", unaided.pk).json()
    exam_id = CaseReading.objects.get(pk=now_reading["reading"]["id"]).exam_id
    period_one = aided[exam_id]
    assert period_one["case"]["ai"]["theta"] is not None  # it was shown in period 1
    heatmap = period_one["case"]["ai"]["images"][0]["heatmap_url"]
    assert heatmap

    own = client.get(reverse("reading-case", args=[period_one["reading"]["id"]]))
    assert own.status_code == 200
    assert own.json()["case"]["ai"]["status"] == "withheld"
    assert study.name in own.json()["case"]["ai"]["reason"]
    _no_ai_in(own)
    refused = client.get(heatmap)
    assert refused.status_code == 403 and b"withheld" in refused.content

    # Once the reading without AI is in, the AI output may be shown again (and is recorded).
    _post(client, "reading-submit", now_reading["reading"]["id"], YES)
    again = client.get(reverse("reading-case", args=[period_one["reading"]["id"]])).json()
    assert again["case"]["ai"]["theta"] is not None
    assert client.get(again["case"]["ai"]["images"][0]["heatmap_url"]).status_code == 200
    assert AIShown.objects.filter(reader=reader, exam_id=exam_id).exists()


@pytest.mark.django_db
def test_the_history_of_the_aided_session_withholds_the_exams_read_without_ai_now(client):
    reader = _reader()
    study = designed_study(
        readers=[reader], practice=0, design="crossover", washout_days=0, allow_going_back=True
    )
    _scored(study)
    client.force_login(reader)
    aided_session = _session(study, "with_ai", 1)
    _read_session(client, aided_session)
    _read_session(client, _session(study, "without_ai", 1))
    _post(client, "reading-next", _session(study, "without_ai", 2).pk)  # period 2 is open
    before = None
    seen = 0
    while True:  # every case of the aided period-1 session, by going back
        query = {"before": before} if before else {}
        response = client.get(reverse("reading-history", args=[aided_session.pk]), query)
        if response.status_code == 404:
            break
        assert response.status_code == 200, response.content
        assert response.json()["case"]["ai"]["status"] == "withheld"
        _no_ai_in(response)
        before, seen = response.json()["reading"]["id"], seen + 1
    assert seen == aided_session.readings.count()


# ---- the sequential design: an answer without AI is frozen once the AI was shown ----


@pytest.mark.django_db
def test_an_answer_without_ai_cannot_change_once_the_aided_arm_showed_the_ai_output(client):
    reader = _reader()
    study = designed_study(readers=[reader], practice=0, allow_going_back=True, washout_days=0)
    _scored(study)
    client.force_login(reader)
    unaided = _read_session(client, _session(study, "without_ai"))
    aided_session = _session(study, "with_ai")
    exam_id = aided_session.readings.get(position=0).exam_id
    unaided_id = unaided[exam_id]["reading"]["id"]

    # Before the AI output of the exam was shown: a change is allowed, and audited.
    first_change = _post(
        client, "reading-submit", unaided_id, {"malignant": False, "confidence": 30}
    )
    assert first_change.status_code == 200 and first_change.json()["changed"] is True

    shown = _post(client, "reading-next", aided_session.pk).json()
    assert CaseReading.objects.get(pk=shown["reading"]["id"]).exam_id == exam_id
    assert shown["case"]["ai"]["theta"] is not None

    refused = _post(client, "reading-submit", unaided_id, {"malignant": False, "confidence": 5})
    assert refused.status_code == 409
    assert "given without AI" in refused.json()["detail"]
    assert "AI output for this exam was shown to you" in refused.json()["detail"]
    reading = CaseReading.objects.get(pk=unaided_id)
    assert (reading.malignant, reading.confidence) == (False, 30)
    [revision] = CaseReadingRevision.objects.filter(reading=reading)
    assert revision.old["confidence"] == 85 and revision.new["confidence"] == 30
    assert revision.revised_at == reading.revised_at

    # The same answer again is no change, so it is not refused.
    same = _post(client, "reading-submit", unaided_id, {"malignant": False, "confidence": 30})
    assert same.status_code == 200 and same.json()["changed"] is False

    # The results count the answer before the AI and say which answer changed, and when.
    coordinator = Client()
    coordinator.force_login(UserFactory(role=Role.COORDINATOR))
    readings = coordinator.get(reverse("designed-study-readings", args=[study.pk]))
    rows = list(csv.DictReader(io.StringIO(readings.content.decode())))
    [row] = [r for r in rows if r["case"] == str(exam_id) and r["modality"] == "without AI"]
    assert float(row["rating"]) == 30.0 and row["decision"] == "0"
    download = coordinator.get(
        reverse("studies:designed_results_download", args=[study.pk, "revisions"])
    )
    assert download.status_code == 200 and download["Content-Type"] == "text/csv"
    [changed] = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert (changed["reader"], changed["case"], changed["modality"]) == (
        reader.username,
        str(exam_id),
        "without AI",
    )
    assert changed["revised_at"] == reading.revised_at.isoformat()
    assert changed["answered_at"] == reading.answered_at.isoformat()
    assert (changed["old_confidence"], changed["new_confidence"]) == ("85", "30")
    page = coordinator.get(reverse("studies:designed_results", args=[study.pk])).content.decode()
    assert 'id="revisions"' in page and f'data-case="{exam_id}"' in page


@pytest.mark.django_db
def test_a_change_before_any_ai_output_is_allowed_and_the_results_list_none_without_changes(
    client,
):
    reader = _reader()
    study = designed_study(readers=[reader], practice=0, allow_going_back=True, washout_days=0)
    _scored(study)
    client.force_login(reader)
    unaided = _read_session(client, _session(study, "without_ai"))
    for payload in unaided.values():  # nothing of the AI shown yet: every change allowed
        changed = _post(
            client,
            "reading-submit",
            payload["reading"]["id"],
            {"malignant": True, "confidence": 90},
        )
        assert changed.status_code == 200 and changed.json()["changed"] is True
    assert CaseReadingRevision.objects.filter(reading__session__study=study).count() == 4
    other = designed_study(readers=[_reader()], practice=0)
    coordinator = Client()
    coordinator.force_login(UserFactory(role=Role.COORDINATOR))
    page = coordinator.get(reverse("studies:designed_results", args=[other.pk])).content.decode()
    assert 'id="no-revisions"' in page


# ---- two open studies with the same reader and exam ----


@pytest.mark.django_db
def test_a_study_that_shares_a_reader_and_an_exam_with_an_open_study_does_not_open():
    reader, someone_else = _reader(), _reader()
    first = designed_study(readers=[reader], practice=0, name="First")
    exams = [case.exam for case in first.cases.all()]
    second = reader_study_create(name="Second", cases=exams, readers=[reader], seed=3)
    with pytest.raises(ReaderStudyError, match="already reads exams .* in the open study 'First'"):
        reader_study_open(study=second)
    assert ReaderStudy.objects.get(pk=second.pk).state == ReaderStudy.State.DRAFT
    assert not second.sessions.exists()
    third = reader_study_create(name="Third", cases=exams, readers=[someone_else], seed=3)
    assert reader_study_open(study=third).state == ReaderStudy.State.OPEN


@pytest.mark.django_db
def test_two_open_studies_with_the_same_reader_and_exam_follow_the_same_rule(client):
    """Studies opened before the check above: the rule is per reader and exam, across studies."""
    reader = _reader()
    unaided_study = designed_study(readers=[reader], practice=0, name="Without first")
    exams = [case.exam for case in unaided_study.cases.all()]
    aided_study = reader_study_create(
        name="Crossover", cases=exams, readers=[reader], seed=3, design="crossover"
    )
    now = timezone.now()
    ReaderStudy.objects.filter(pk=aided_study.pk).update(
        state=ReaderStudy.State.OPEN, opened_at=now
    )
    _sessions_build(aided_study, now=now)
    _scored(unaided_study)
    client.force_login(reader)

    shown = _post(client, "reading-next", _session(aided_study, "with_ai", 1).pk).json()
    ai = shown["case"]["ai"]
    assert ai["status"] == "withheld" and "'Without first'" in ai["reason"]
    assert "theta" not in ai
    _read_session(client, _session(unaided_study, "without_ai"))
    again = client.get(reverse("reading-case", args=[shown["reading"]["id"]])).json()
    assert again["case"]["ai"]["theta"] is not None


# ---- the report pages, the results API, heatmap links and live rows ----


@pytest.mark.django_db
def test_a_reader_who_may_see_reports_gets_no_ai_output_of_an_exam_read_without_ai(client):
    reader = _reader(Role.CLINICIAN)
    study = designed_study(readers=[reader], practice=0, opened=False, name="Blind study")
    _scored(study)
    exam = study.cases.first().exam
    elsewhere = _scored_elsewhere()
    client.force_login(reader)
    result_url = reverse("ai-exam-result", args=[exam.pk])
    before = client.get(result_url).json()  # a draft study keeps no one blind
    heatmap = before["images"][0]["heatmap_url"]
    assert client.get(heatmap).status_code == 200

    reader_study_open(study=study)
    api = client.get(result_url)
    assert api.status_code == 403 and "'Blind study'" in api.json()["detail"]
    _no_ai_in(api)
    assert client.get(heatmap).status_code == 403
    page = client.get(reverse("inference:report", args=[exam.pk]))
    assert page.status_code == 403 and "Blind study" in page.content.decode()
    assert client.get(reverse("inference:report_dicom", args=[exam.pk, "sr"])).status_code == 403
    listing = client.get(reverse("ai-result-list")).json()
    assert [row["exam_id"] for row in listing["results"]] == [elsewhere]
    worklist = client.get(reverse("inference:worklist")).content.decode()
    row = worklist.split(f'data-exam="{exam.pk}"')[1].split("</tr>")[0]
    assert 'data-status="withheld"' in row and "Suspicious" not in row
    assert "Suspicious" in worklist.split(f'data-exam="{elsewhere}"')[1].split("</tr>")[0]
    # A later exam of the same patient shows no score of this one on its timeline.
    later = ExamFactory(patient=exam.patient, exam_date=exam.exam_date + timedelta(days=90))
    timeline = exam_report(exam_id=later.pk, user=reader).timeline["points"]
    assert [point["score"] for point in timeline if point["exam_id"] == exam.pk] == [None]
    assert exam_report(exam_id=later.pk).timeline["points"][0]["score"] is not None
    assert not AIShown.objects.filter(reader=reader, exam=exam).exists()

    # A link handed to someone else does not open for them.
    other = Client()
    other.force_login(UserFactory(role=Role.CLINICIAN))
    assert other.get(heatmap).status_code == 404

    _read_session(client, _session(study, "without_ai"))
    after = client.get(result_url)
    assert after.status_code == 200 and after.json()["result"]["score"] is not None
    assert AIShown.objects.filter(reader=reader, exam=exam).exists()


@pytest.mark.django_db(transaction=True)
async def test_live_worklist_rows_skip_the_exams_a_reader_reads_without_ai():
    reader = await database_sync_to_async(_reader)(Role.CLINICIAN)
    study = await database_sync_to_async(designed_study)(readers=[reader], practice=0)
    await database_sync_to_async(_scored)(study)
    exam_ids = await database_sync_to_async(
        lambda: sorted(study.cases.values_list("exam_id", flat=True))
    )()
    communicator = WebsocketCommunicator(ExamResultConsumer.as_asgi(), "/ws/exam-results/")
    communicator.scope["user"] = reader
    assert (await communicator.connect())[0]
    other = await database_sync_to_async(_scored_elsewhere)()
    await database_sync_to_async(exam_rows_broadcast)(exam_ids[:1])
    await database_sync_to_async(exam_rows_broadcast)([other])
    message = await communicator.receive_json_from(timeout=10)  # in order: the first is skipped
    assert message["row"]["exam_id"] == other
    await communicator.disconnect()


def _scored_elsewhere() -> int:
    study = designed_study(readers=[UserFactory(role=Role.RADIOLOGIST)], practice=0)
    exam = study.cases.first().exam
    exam_result_make(
        exam=exam,
        images=list(exam.images.all()),
        probabilities=[0.9],
        ensemble=ExamResult.objects.first().ensemble,
    )
    return exam.pk
