"""The reading API the reading screen drives (radiologists, their own sessions only), and the
coordinator's progress of a designed study.

A reader's session or case that is not theirs is 404, never 403 with a hint. Refusals carry
a `detail` saying why: 400 a malformed or incomplete answer (`missing` names the questions),
403 a session not open (study state, washout) or going back where the study forbids it,
409 a submitted answer the study does not let change.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from base.api_responses import DetailSerializer
from base.query_params import IdField, query_params
from base.roles import COORDINATION, READING, Policy
from studies.models import ReaderStudy
from studies.reading import serializers as rs
from studies.reading.cases import case_payload, reading_data
from studies.reading.flow import (
    READING_ENGINE,
    ReadingError,
    session_progress,
)
from studies.reading.progress import reader_reading, reader_session, reader_worklist, study_progress
from studies.reading.serializers import AnswersSerializer

ENGINE = READING_ENGINE
STATUS = {"invalid": 400, "unavailable": 403, "conflict": 409}


# The API's own refusal texts, as clients have read them.
READER = Policy("reader", READING.roles, "Reading is for radiologists.")
STUDY_COORDINATION = Policy(
    "study coordination",
    COORDINATION.roles,
    "Reader-study progress is for study coordinators and administrators.",
)


def _refused(error: ReadingError) -> Response:
    body = {"detail": str(error)}
    if error.missing:
        body["missing"] = error.missing
    return Response(body, status=STATUS[error.kind])


def _answers(request) -> tuple[dict, float] | Response:
    if not isinstance(request.data, dict):
        return Response({"detail": "send the answers as a JSON object"}, status=400)
    unknown = sorted(set(request.data) - set(AnswersSerializer().fields))
    if unknown:
        return Response({"detail": f"unknown field {', '.join(unknown)}"}, status=400)
    serializer = AnswersSerializer(data=request.data)
    if not serializer.is_valid():
        return Response({"detail": serializer.errors}, status=400)
    answers = dict(serializer.validated_data)
    return answers, answers.pop("active_seconds_delta", 0.0)


def _next_payload(session, viewer) -> dict | None:
    reading = ENGINE.next(scope=session, reader=viewer)
    return case_payload(reading, session, viewer) if reading else None


CASE = rs.CasePayloadSerializer
REFUSED = rs.RefusedSerializer
CASE_DOC = (
    "`reading` (the reader's own answers and server times), `case` (`images`, the `clinical` "
    "data the arm allows and, with AI only, `ai`: status `withheld` with the `reason` while "
    "the reader reads the exam without AI in an open session), `progress`, `upcoming` "
    "(frames to preload)."
)


@extend_schema(
    responses={200: rs.SessionRowSerializer(many=True)}, description="The reader's sessions."
)
@api_view(["GET"])
@permission_classes([READER.permission])
def reading_sessions(request):
    rows = reader_worklist(reader=request.user)
    return Response(
        [
            {
                "id": row["session"].pk,
                "study": row["study"].name,
                "arm": row["session"].arm,
                "period": row["session"].period,
                "done": row["session"].done,
                "total": row["session"].total,
                "available": row["available"],
                "finished": row["finished"],
                "waiting": row["waiting"],
                "available_from": row["session"].available_from,
            }
            for row in rows
        ]
    )


@extend_schema(
    request=None,
    responses={200: CASE, 204: None, 403: REFUSED, 404: DetailSerializer, 409: REFUSED},
    description="The session's current case (first unanswered), marked shown now if it was "
    "not. 204 when the session is done. " + CASE_DOC,
)
@api_view(["POST"])
@permission_classes([READER.permission])
def reading_next_api(request, pk: int):
    session = reader_session(session_id=pk, reader=request.user)
    try:
        payload = _next_payload(session, request.user)
    except ReadingError as error:
        return _refused(error)
    if payload is None:
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(payload)


class HistoryQuery(serializers.Serializer):
    before = IdField(required=False, allow_null=True, help_text="a case reading id of the session")


@extend_schema(
    parameters=[HistoryQuery],
    responses={200: CASE, 400: DetailSerializer, 403: REFUSED, 404: DetailSerializer},
    description="Going back (where the study allows it and while it is open for reading): "
    "the answered case before `before`, or the last answered. " + CASE_DOC,
)
@api_view(["GET"])
@permission_classes([READER.permission])
def reading_history(request, pk: int):
    session = reader_session(session_id=pk, reader=request.user)
    before_id = query_params(request, HistoryQuery).get("before")
    before = None if before_id is None else get_object_or_404(session.readings, pk=before_id)
    try:
        reading = ENGINE.previous(scope=session, reader=request.user, before=before)
    except ReadingError as error:
        return _refused(error)
    if reading is None:
        raise Http404("No earlier case to go back to")
    return Response(case_payload(reading, session, request.user))


@extend_schema(
    methods=["GET"],
    responses={200: CASE, 404: DetailSerializer, 409: DetailSerializer},
    description="A case the reader has been shown. " + CASE_DOC,
)
@extend_schema(
    methods=["PATCH"],
    request=AnswersSerializer,
    responses={
        200: rs.AutosavedSerializer,
        400: REFUSED,
        403: REFUSED,
        404: DetailSerializer,
        409: REFUSED,
    },
    description="Save draft answers as they are made and add active time; a submitted "
    "answer changes only by submitting again. 403 once the study is closed.",
)
@api_view(["GET", "PATCH"])
@permission_classes([READER.permission])
def reading_case(request, pk: int):
    reading = reader_reading(reading_id=pk, reader=request.user)
    if request.method == "GET":
        if reading.shown_at is None:
            return Response({"detail": "this case has not been shown to you yet"}, status=409)
        return Response(case_payload(reading, reading.session, request.user))
    parsed = _answers(request)
    if isinstance(parsed, Response):
        return parsed
    answers, delta = parsed
    try:
        reading = ENGINE.autosave(
            case=reading, reader=request.user, answers=answers, active_seconds_delta=delta
        )
    except ReadingError as error:
        return _refused(error)
    return Response({"reading": reading_data(reading)})


@extend_schema(
    request=AnswersSerializer,
    responses={
        200: rs.SubmittedSerializer,
        400: REFUSED,
        403: REFUSED,
        404: DetailSerializer,
        409: REFUSED,
    },
    description="Submit the answers; the response carries `reading`, `changed` (false for a "
    "repeated submit), the session's `progress`, and `next`: the session's next case (null "
    "when done), in the same round trip. 409 with the reason for a change the study does not "
    "allow, or for an answer given without AI once the AI output of the exam was shown to "
    "the reader.",
)
@api_view(["POST"])
@permission_classes([READER.permission])
def reading_submit_api(request, pk: int):
    reading = reader_reading(reading_id=pk, reader=request.user)
    parsed = _answers(request)
    if isinstance(parsed, Response):
        return parsed
    answers, delta = parsed
    session = reading.session
    try:
        submitted = ENGINE.submit_then_next(
            case=reading,
            reader=request.user,
            answers=answers,
            active_seconds_delta=delta,
            scope=session,
        )
    except ReadingError as error:
        return _refused(error)
    following = submitted.following
    return Response(
        {
            "reading": reading_data(submitted.case),
            "changed": submitted.changed,
            "progress": session_progress(session),
            "next": case_payload(following, session, request.user) if following else None,
        }
    )


@extend_schema(
    responses={200: rs.StudyProgressSerializer, 404: DetailSerializer},
    description="Live progress of a designed reader study: per reader and arm the cases read "
    "(practice apart) and the median active seconds per case.",
)
@api_view(["GET"])
@permission_classes([STUDY_COORDINATION.permission])
def designed_study_progress(request, pk: int):
    return Response(study_progress(get_object_or_404(ReaderStudy, pk=pk)))
