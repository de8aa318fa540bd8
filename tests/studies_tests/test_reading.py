"""Reading a designed study: server times, resuming, answers and their rules, the washout,
what readers may never see, and the coordinator's live progress."""

import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.urls import reverse
from django.utils import timezone

from annotation.models import CA125Measurement
from base.roles import Role
from studies.consumers import ReaderStudyProgressConsumer
from studies.design.services import reader_study_close
from studies.models import CaseReading, ReadingSession
from studies.reading.flow import ReadingError, reading_next, reading_submit
from studies.reading.progress import study_progress
from tests.factories import UserFactory
from tests.inference_tests.factories import ensemble_make, exam_result_make
from tests.studies_tests.design_factories import designed_study

YES = {"malignant": True, "confidence": 85}
AI_WORDS = ("probability", "heatmap", "theta", "threshold", "exam score")


def _reader():
    return UserFactory(role=Role.RADIOLOGIST)


def _session(study, arm="without_ai", period=None):
    sessions = study.sessions.filter(arm=arm)
    return (sessions.filter(period=period) if period else sessions).get()


def _api(client, name, pk, method="post", body=None):
    url = reverse(name, args=[pk])
    if method == "patch":
        return client.patch(url, json.dumps(body or {}), content_type="application/json")
    if method == "get":
        return client.get(url)
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def _read_all(client, session, answers=YES):
    response = _api(client, "reading-next", session.pk)
    while response.status_code == 200:
        reading_id = response.json()["reading"]["id"]
        response = _api(client, "reading-submit", reading_id, body=answers)
        assert response.status_code == 200, response.content
        if response.json()["next"] is None:
            return
        response = _api(client, "reading-next", session.pk)


# ---- times, order, resuming ----


@pytest.mark.django_db
def test_practice_cases_come_first_and_the_server_records_shown_and_answered(client):
    reader = _reader()
    study = designed_study(readers=[reader], practice=2)
    session = _session(study)
    client.force_login(reader)
    before = timezone.now()
    first = _api(client, "reading-next", session.pk).json()
    assert first["reading"]["practice"] and first["reading"]["position"] == 0
    assert first["progress"] == {"total": 4, "done": 0, "practice_total": 2, "practice_done": 0}
    reading = CaseReading.objects.get(pk=first["reading"]["id"])
    assert reading.shown_at >= before and reading.answered_at is None
    assert ReadingSession.objects.get(pk=session.pk).started_at == reading.shown_at

    # A closed browser comes back to the same case, shown at the same time.
    again = _api(client, "reading-next", session.pk).json()
    assert again["reading"]["id"] == reading.pk
    assert CaseReading.objects.get(pk=reading.pk).shown_at == reading.shown_at

    submitted = _api(client, "reading-submit", reading.pk, body=YES).json()
    reading.refresh_from_db()
    assert reading.answered_at >= reading.shown_at and reading.confidence == 85
    assert (
        submitted["next"]["reading"]["position"] == 1 and submitted["next"]["reading"]["practice"]
    )
    assert submitted["progress"]["practice_done"] == 1
    third = _api(client, "reading-submit", submitted["next"]["reading"]["id"], body=YES).json()
    assert not third["next"]["reading"]["practice"]  # then the analysed cases


@pytest.mark.django_db
def test_draft_answers_are_kept_so_a_closed_tab_resumes_with_them(client):
    reader = _reader()
    study = designed_study(readers=[reader])
    client.force_login(reader)
    reading_id = _api(client, "reading-next", _session(study).pk).json()["reading"]["id"]
    saved = _api(client, "reading-case", reading_id, "patch", {"malignant": False})
    assert saved.status_code == 200
    resumed = _api(client, "reading-next", _session(study).pk).json()["reading"]
    assert resumed["id"] == reading_id and resumed["malignant"] is False
    assert resumed["answered_at"] is None


@pytest.mark.django_db
def test_active_time_is_clamped_to_the_time_between_shown_and_answered():
    reader = _reader()
    study = designed_study(readers=[reader], practice=0)
    session = _session(study)
    start = timezone.now()
    reading = reading_next(session=session, now=start)
    reading, _ = reading_submit(
        reading=reading,
        answers=YES,
        active_seconds_delta=500,
        now=start + timedelta(seconds=40),
    )
    assert reading.active_seconds == 40
    with pytest.raises(ReadingError, match="active_seconds_delta must be 0 to 600"):
        reading_submit(reading=reading, answers=YES, active_seconds_delta=-1)


@pytest.mark.django_db
def test_a_double_submit_is_stored_once_and_a_change_is_refused_without_going_back(client):
    reader = _reader()
    study = designed_study(readers=[reader], practice=0)
    client.force_login(reader)
    reading_id = _api(client, "reading-next", _session(study).pk).json()["reading"]["id"]
    first = _api(client, "reading-submit", reading_id, body=YES).json()
    answered_at = CaseReading.objects.get(pk=reading_id).answered_at
    repeat = _api(client, "reading-submit", reading_id, body=YES)
    assert repeat.status_code == 200 and repeat.json()["changed"] is False
    assert first["changed"] is True
    assert CaseReading.objects.get(pk=reading_id).answered_at == answered_at
    changed = _api(client, "reading-submit", reading_id, body={**YES, "confidence": 10})
    assert changed.status_code == 409
    assert "does not allow changing answers" in changed.json()["detail"]
    back = client.get(reverse("reading-history", args=[_session(study).pk]))
    assert back.status_code == 403 and "does not allow going back" in back.json()["detail"]
    autosave = _api(client, "reading-case", reading_id, "patch", {"malignant": False})
    assert autosave.status_code == 409
    assert CaseReading.objects.get(pk=reading_id).confidence == 85


@pytest.mark.django_db
def test_where_going_back_is_allowed_an_answer_is_revised_and_reading_resumes(client):
    reader = _reader()
    study = designed_study(readers=[reader], practice=0, allow_going_back=True)
    session = _session(study)
    client.force_login(reader)
    first_id = _api(client, "reading-next", session.pk).json()["reading"]["id"]
    now_on = _api(client, "reading-submit", first_id, body=YES).json()["next"]["reading"]["id"]
    back = client.get(reverse("reading-history", args=[session.pk]), {"before": now_on})
    assert back.status_code == 200 and back.json()["reading"]["id"] == first_id
    revised = _api(client, "reading-submit", first_id, body={"malignant": False, "confidence": 5})
    assert revised.json()["changed"] is True
    assert revised.json()["next"]["reading"]["id"] == now_on  # back where the reader was
    reading = CaseReading.objects.get(pk=first_id)
    assert (reading.malignant, reading.confidence) == (False, 5)
    assert reading.revised_at is not None and reading.revised_at >= reading.answered_at


@pytest.mark.django_db
def test_incomplete_and_malformed_answers_are_refused_with_a_reason(client):
    reader = _reader()
    study = designed_study(readers=[reader], practice=0, ask_orads=True)
    client.force_login(reader)
    reading_id = _api(client, "reading-next", _session(study).pk).json()["reading"]["id"]
    missing = _api(client, "reading-submit", reading_id, body={"malignant": True})
    assert missing.status_code == 400
    assert missing.json()["missing"] == ["confidence", "orads"]
    for body in (
        {"confidence": 101},
        {"confidence": "lots"},
        {"orads": 6},
        {"truth": 1},
        {"active_seconds_delta": -5},
    ):
        response = _api(client, "reading-submit", reading_id, body={**YES, "orads": 4, **body})
        assert response.status_code == 400, body
    ok = _api(client, "reading-submit", reading_id, body={**YES, "orads": 4})
    assert ok.status_code == 200
    assert CaseReading.objects.get(pk=reading_id).orads == 4


@pytest.mark.django_db
def test_questions_the_study_does_not_ask_are_refused():
    reader = _reader()
    study = designed_study(readers=[reader], practice=0)
    reading = reading_next(session=_session(study))
    with pytest.raises(ReadingError, match="does not ask for an O-RADS"):
        reading_submit(reading=reading, answers={**YES, "orads": 3})
    with pytest.raises(ReadingError, match="does not ask for a comment"):
        reading_submit(reading=reading, answers={**YES, "comment": "looks odd"})


# ---- the washout and the study's state ----


@pytest.mark.django_db
def test_the_second_period_opens_only_after_the_washout(client):
    reader = _reader()
    study = designed_study(readers=[reader], practice=1, washout_days=14)
    client.force_login(reader)
    aided = _session(study, "with_ai")
    locked = _api(client, "reading-next", aided.pk)
    assert locked.status_code == 403
    assert "opens 14 days after you finish the first period" in locked.json()["detail"]
    worklist = client.get(reverse("studies:reading_list")).content.decode()
    assert "opens 14 days after you finish the first period" in worklist

    _read_all(client, _session(study))
    finished = ReadingSession.objects.get(pk=_session(study).pk).finished_at
    aided.refresh_from_db()
    assert aided.available_from == finished + timedelta(days=14)
    refused = _api(client, "reading-next", aided.pk)
    assert refused.status_code == 403 and "opens on" in refused.json()["detail"]
    screen = client.get(reverse("studies:reading_screen", args=[aided.pk])).content.decode()
    assert "opens on" in screen and 'id="reading"' not in screen
    later = reading_next(session=aided, now=aided.available_from + timedelta(minutes=1))
    assert later is not None and later.practice  # practice opens the aided arm too


@pytest.mark.django_db
def test_under_the_crossover_the_second_period_opens_only_after_the_washout(client):
    reader = _reader()
    study = designed_study(readers=[reader], practice=1, design="crossover", washout_days=14)
    client.force_login(reader)
    first = [_session(study, arm, period=1) for arm in ("with_ai", "without_ai")]
    second = [_session(study, arm, period=2) for arm in ("without_ai", "with_ai")]
    for session in second:
        locked = _api(client, "reading-next", session.pk)
        assert locked.status_code == 403
        assert "opens 14 days after you finish the first period" in locked.json()["detail"]

    _read_all(client, first[0])  # half the cases, aided first
    for session in second:  # the other period-1 session is not read yet: no date at all
        session.refresh_from_db()
        assert session.available_from is None
        assert _api(client, "reading-next", session.pk).status_code == 403

    _read_all(client, first[1])
    finished = max(ReadingSession.objects.get(pk=s.pk).finished_at for s in first)
    for session in second:
        session.refresh_from_db()
        assert session.available_from == finished + timedelta(days=14)
        refused = _api(client, "reading-next", session.pk)
        assert refused.status_code == 403 and "opens on" in refused.json()["detail"]
        with pytest.raises(ReadingError, match="the washout"):
            reading_next(session=session, now=session.available_from - timedelta(minutes=1))
        later = reading_next(session=session, now=session.available_from + timedelta(minutes=1))
        assert later is not None and later.exam_id in {
            r.exam_id for r in CaseReading.objects.filter(session__in=first, practice=False)
        }


@pytest.mark.django_db
def test_a_closed_study_refuses_autosave_and_going_back_with_a_reason(client):
    reader = _reader()
    study = designed_study(readers=[reader], practice=0, allow_going_back=True)
    session = _session(study)
    client.force_login(reader)
    first_id = _api(client, "reading-next", session.pk).json()["reading"]["id"]
    current = _api(client, "reading-submit", first_id, body=YES).json()["next"]["reading"]["id"]
    draft = _api(client, "reading-case", current, "patch", {"confidence": 40})
    assert draft.status_code == 200
    assert _api(client, "reading-history", session.pk, "get").status_code == 200

    reader_study_close(study=study)
    autosave = _api(client, "reading-case", current, "patch", {"confidence": 60})
    assert autosave.status_code == 403 and autosave.json()["detail"] == "the study is closed"
    assert CaseReading.objects.get(pk=current).confidence == 40
    back = _api(client, "reading-history", session.pk, "get")
    assert back.status_code == 403 and back.json()["detail"] == "the study is closed"
    submit = _api(client, "reading-submit", current, body=YES)
    assert submit.status_code == 403  # as it was


@pytest.mark.django_db
def test_a_closed_study_is_not_read_any_more(client):
    reader = _reader()
    study = designed_study(readers=[reader])
    reader_study_close(study=study)
    client.force_login(reader)
    response = _api(client, "reading-next", _session(study).pk)
    assert response.status_code == 403 and response.json()["detail"] == "the study is closed"


# ---- what readers never see ----


@pytest.mark.django_db
def test_a_reader_never_reaches_another_readers_session_or_cases(client):
    owner, other = _reader(), _reader()
    study = designed_study(readers=[owner, other])
    session = ReadingSession.objects.get(study=study, reader=owner, arm="without_ai")
    reading = reading_next(session=session)
    reading_submit(reading=reading, answers=YES)
    client.force_login(other)
    assert client.get(reverse("studies:reading_screen", args=[session.pk])).status_code == 404
    assert _api(client, "reading-next", session.pk).status_code == 404
    assert _api(client, "reading-history", session.pk, "get").status_code == 404
    assert _api(client, "reading-case", reading.pk, "get").status_code == 404
    assert _api(client, "reading-submit", reading.pk, body=YES).status_code == 404
    assert _api(client, "reading-case", reading.pk, "patch", {"confidence": 1}).status_code == 404
    listed = client.get(reverse("reading-sessions")).json()
    assert {row["id"] for row in listed} == set(
        ReadingSession.objects.filter(reader=other).values_list("pk", flat=True)
    )
    own = _api(client, "reading-next", _session_of(study, other).pk).json()
    assert own["reading"]["malignant"] is None and own["reading"]["confidence"] is None
    assert CaseReading.objects.get(pk=reading.pk).confidence == 85
    coordinator = UserFactory(role=Role.COORDINATOR)
    client.force_login(coordinator)
    assert _api(client, "reading-next", session.pk).status_code == 403


def _session_of(study, reader):
    return ReadingSession.objects.get(study=study, reader=reader, arm="without_ai")


def _scored(study):
    """An AI result for every case of the study (and its practice cases)."""
    ensemble = ensemble_make(threshold=0.4)
    for case in study.cases.select_related("exam"):
        images = list(case.exam.images.all())
        exam_result_make(
            exam=case.exam, images=images, probabilities=[0.7] * len(images), ensemble=ensemble
        )


@pytest.mark.django_db
def test_the_arm_without_ai_shows_no_ai_output_in_the_page_or_the_api(client):
    reader = _reader()
    study = designed_study(readers=[reader], washout_days=0)
    _scored(study)
    client.force_login(reader)
    session = _session(study)
    page = client.get(reverse("studies:reading_screen", args=[session.pk])).content.decode()
    assert 'id="reading"' in page
    for word in (*AI_WORDS, "ai-panel"):
        assert word not in page.lower(), word
    response = _api(client, "reading-next", session.pk)
    body = response.content.decode().lower()
    assert "ai" not in response.json()["case"]
    for word in (*AI_WORDS, "/ai/", "pathology", "outcome", "benign"):
        assert word not in body, word
    reading_id = response.json()["reading"]["id"]
    for response in (
        _api(client, "reading-case", reading_id, "get"),
        _api(client, "reading-submit", reading_id, body=YES),
        client.get(reverse("reading-sessions")),
    ):
        body = response.content.decode().lower()
        for word in (*AI_WORDS, "pathology", "outcome"):
            assert word not in body, word


@pytest.mark.django_db
def test_going_back_in_the_arm_without_ai_shows_no_ai_output_either(client):
    reader = _reader()
    study = designed_study(readers=[reader], washout_days=0, practice=0, allow_going_back=True)
    _scored(study)
    client.force_login(reader)
    session = _session(study)
    first_id = _api(client, "reading-next", session.pk).json()["reading"]["id"]
    second_id = _api(client, "reading-submit", first_id, body=YES).json()["next"]["reading"]["id"]
    _api(client, "reading-submit", second_id, body=YES)
    for query in ({}, {"before": second_id}):
        response = client.get(reverse("reading-history", args=[session.pk]), query)
        assert response.status_code == 200, response.content
        assert response.json()["reading"]["id"] == (second_id if not query else first_id)
        assert "ai" not in response.json()["case"]
        body = response.content.decode().lower()
        for word in (*AI_WORDS, "/ai/", "pathology", "outcome", "benign"):
            assert word not in body, word
    # The same history in the aided arm does carry the AI output: the check above can fail.
    _read_all(client, session)
    aided = _session(study, "with_ai")
    aided_id = _api(client, "reading-next", aided.pk).json()["reading"]["id"]
    _api(client, "reading-submit", aided_id, body=YES)
    back = client.get(reverse("reading-history", args=[aided.pk])).json()
    assert back["reading"]["id"] == aided_id and back["case"]["ai"]["theta"] is not None


@pytest.mark.django_db
def test_the_arm_with_ai_shows_the_score_decision_and_per_image_maps(client):
    reader = _reader()
    study = designed_study(readers=[reader], washout_days=0, practice=0)
    _scored(study)
    client.force_login(reader)
    _read_all(client, _session(study))
    session = _session(study, "with_ai")
    page = client.get(reverse("studies:reading_screen", args=[session.pk])).content.decode()
    assert 'id="ai-panel"' in page
    case = _api(client, "reading-next", session.pk).json()["case"]
    ai = case["ai"]
    assert ai["decision"] == "malignant" and ai["theta"] > ai["threshold"] == 0.4
    assert ai["sensitivity"] == 0.9 and len(ai["models"]) == 2
    image_id = case["images"]["id"]
    [entry] = [entry for entry in ai["images"] if entry["image_id"] == image_id]
    assert entry["probability"] == pytest.approx(0.7) and entry["heatmap_url"]
    assert "pathology" not in json.dumps(case) and "outcome" not in json.dumps(case)


@pytest.mark.django_db
def test_an_aided_case_without_an_ai_result_says_so(client):
    reader = _reader()
    study = designed_study(readers=[reader], washout_days=0, practice=0)
    client.force_login(reader)
    _read_all(client, _session(study))
    case = _api(client, "reading-next", _session(study, "with_ai").pk).json()["case"]
    assert case["ai"] is None


@pytest.mark.django_db
def test_clinical_data_follow_the_arm(client):
    reader = _reader()
    study = designed_study(
        readers=[reader],
        practice=0,
        washout_days=0,
        clinical_without_ai=[],
        clinical_with_ai=["age", "ca125", "report"],
    )
    for case in study.cases.select_related("exam"):
        CA125Measurement.objects.create(
            patient=case.exam.patient,
            exam=case.exam,
            value_u_per_ml=240,
            measured_on=case.exam.exam_date,
        )
    client.force_login(reader)
    unaided = _api(client, "reading-next", _session(study).pk).json()["case"]
    assert unaided["clinical"] == {}
    _read_all(client, _session(study))
    aided = _api(client, "reading-next", _session(study, "with_ai").pk).json()["case"]
    assert aided["clinical"]["age"] == 54
    assert aided["clinical"]["ca125"]["value_u_per_ml"] == 240
    assert set(aided["clinical"]["report"]) == {"lesion_size_mm", "mass_type", "text"}


# ---- worklist and live progress ----


@pytest.mark.django_db
def test_the_worklist_shows_open_sessions_and_progress_counts_per_reader_and_arm(client):
    readers = [_reader(), _reader()]
    study = designed_study(readers=readers, practice=1, washout_days=0)
    client.force_login(readers[0])
    page = client.get(reverse("studies:reading_list")).content.decode()
    session = _session_of(study, readers[0])
    assert reverse("studies:reading_screen", args=[session.pk]) in page
    _read_all(client, session)
    progress = study_progress(study)
    row = next(r for r in progress["readers"] if r["reader_id"] == readers[0].pk)
    assert row["arms"]["without_ai"]["done"] == 4 and row["arms"]["without_ai"]["total"] == 4
    assert row["arms"]["without_ai"]["practice_done"] == 1
    assert row["arms"]["without_ai"]["median_seconds"] is not None
    assert progress["arms"]["without_ai"] == {
        "label": "without AI",
        "done": 4,
        "total": 8,
        "median_seconds": row["arms"]["without_ai"]["median_seconds"],
    }
    assert "Done" in client.get(reverse("studies:reading_list")).content.decode()


@pytest.mark.django_db(transaction=True)
async def test_the_coordinators_progress_socket_is_nudged_by_each_answer():
    def setup():
        reader = _reader()
        study = designed_study(readers=[reader], practice=0)
        return study, _session(study), UserFactory(role=Role.COORDINATOR)

    study, session, coordinator = await database_sync_to_async(setup)()
    communicator = WebsocketCommunicator(
        ReaderStudyProgressConsumer.as_asgi(), f"/ws/reader-studies/{study.pk}/"
    )
    communicator.scope["user"] = coordinator
    communicator.scope["url_route"] = {"kwargs": {"study_id": study.pk}}
    connected, _ = await communicator.connect()
    assert connected

    def answer():
        reading_submit(reading=reading_next(session=session), answers=YES)

    await database_sync_to_async(answer)()
    message = await communicator.receive_json_from(timeout=10)
    assert message == {"type": "reading.progress", "study": study.pk}  # no answers travel
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", [Role.RADIOLOGIST, Role.CLINICIAN])
async def test_other_roles_cannot_listen_to_a_studys_progress(role):
    user = await database_sync_to_async(UserFactory)(role=role)
    communicator = WebsocketCommunicator(
        ReaderStudyProgressConsumer.as_asgi(), "/ws/reader-studies/1/"
    )
    communicator.scope["user"] = user
    communicator.scope["url_route"] = {"kwargs": {"study_id": 1}}
    connected, _ = await communicator.connect()
    assert not connected


@pytest.mark.django_db
def test_the_reading_bodies_are_the_shapes_the_openapi_document_declares(client):
    from studies.reading import serializers as shapes
    from tests.response_shapes import fits

    reader = _reader()
    study = designed_study(readers=[reader], washout_days=0, practice=0, allow_going_back=True)
    _scored(study)
    client.force_login(reader)
    fits(shapes.SessionRowSerializer(many=True), client.get(reverse("reading-sessions")).json())
    _read_all(client, _session(study))
    session = _session(study, "with_ai")
    first = _api(client, "reading-next", session.pk).json()
    fits(shapes.CasePayloadSerializer, first)
    reading_id = first["reading"]["id"]
    fits(shapes.CasePayloadSerializer, _api(client, "reading-case", reading_id, "get").json())
    saved = _api(client, "reading-case", reading_id, "patch", {"malignant": True}).json()
    fits(shapes.AutosavedSerializer, saved)
    fits(shapes.RefusedSerializer, _api(client, "reading-submit", reading_id, body={}).json())
    fits(shapes.SubmittedSerializer, _api(client, "reading-submit", reading_id, body=YES).json())
    fits(shapes.CasePayloadSerializer, _api(client, "reading-history", session.pk, "get").json())
    client.force_login(UserFactory(role=Role.COORDINATOR))
    progress = _api(client, "designed-study-progress", study.pk, "get").json()
    fits(shapes.StudyProgressSerializer, progress)
