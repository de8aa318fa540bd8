"""Reading a designed study: the reader's next case (marked shown), answers saved as they are
made, submitting, and going back where the study allows it.

Times are the server's: `shown_at` when a case is first handed to the reader, `answered_at`
when it is first submitted. The client reports its active (focused) time in deltas; the
total is clamped to shown→now, and at submit to shown→answered. A closed browser resumes at
the first unanswered case of the session. These functions check the rules of the study and
the session; the views check that the session is the requesting reader's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from base.broadcast import broadcast
from base.reading_flow import (
    MAX_ACTIVE_DELTA,  # noqa: F401  (studies.demo reads it here)
    ActiveTimeError,
    ReadingEngine,
    Refusal,
    active_seconds_delta,
)
from studies.models import CaseReading, CaseReadingRevision, ReaderStudy, ReadingSession
from studies.reading.blinding import frozen_reason

ANSWERS = ("malignant", "confidence", "orads", "comment")
MAX_COMMENT = 2000


class ReadingError(Refusal):
    """A request the reading rules refuse. `kind`: invalid (400), unavailable (403),
    conflict (409); `missing` names unanswered questions."""


def progress_group(study_id: int) -> str:
    return f"reader-study-{study_id}"


def session_unavailable_reason(session: ReadingSession, now: datetime | None = None) -> str | None:
    """Why the session cannot be read now (study state, washout), or None."""
    now = now or timezone.now()
    study = session.study
    if study.state == ReaderStudy.State.DRAFT:
        return "the study is not open for reading yet"
    if study.state == ReaderStudy.State.CLOSED:
        return "the study is closed"
    if session.available_from is None:
        return (
            f"this session opens {study.washout_days} days after you finish the first period "
            "(the washout)"
        )
    if session.available_from > now:
        return f"this session opens on {session.available_from:%Y-%m-%d %H:%M} UTC (the washout)"
    return None


def session_progress(session: ReadingSession) -> dict:
    counts = session.readings.aggregate(
        total=Count("pk", filter=Q(practice=False)),
        done=Count("pk", filter=Q(practice=False, answered_at__isnull=False)),
        practice_total=Count("pk", filter=Q(practice=True)),
        practice_done=Count("pk", filter=Q(practice=True, answered_at__isnull=False)),
    )
    return counts


def _answers(reading: CaseReading) -> dict:
    return {name: getattr(reading, name) for name in ANSWERS}


def _validated(study: ReaderStudy, answers: dict) -> dict:
    unknown = sorted(set(answers) - set(ANSWERS))
    if unknown:
        raise ReadingError(f"unknown answer {', '.join(unknown)} (answers: {', '.join(ANSWERS)})")
    clean = {}
    if "malignant" in answers:
        value = answers["malignant"]
        if value is not None and not isinstance(value, bool):
            raise ReadingError("malignant must be true, false or null")
        clean["malignant"] = value
    for name, high in (("confidence", 100), ("orads", 5)):
        if name not in answers:
            continue
        value = answers[name]
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high
        ):
            raise ReadingError(f"{name} must be a whole number from 0 to {high}, or null")
        clean[name] = value
    if clean.get("orads") is not None and not study.ask_orads:
        raise ReadingError("this study does not ask for an O-RADS category")
    if "comment" in answers:
        value = answers["comment"] or ""
        if not isinstance(value, str) or len(value) > MAX_COMMENT:
            raise ReadingError(f"comment must be text of at most {MAX_COMMENT} characters")
        if value.strip() and not study.ask_comment:
            raise ReadingError("this study does not ask for a comment")
        clean["comment"] = value.strip()
    return clean


def _missing(study: ReaderStudy, answers: dict) -> list[str]:
    required = ["malignant", "confidence"] + (["orads"] if study.ask_orads else [])
    return [name for name in required if answers.get(name) is None]


def _delta(value) -> float:
    try:  # refused, not clamped: a reader's time is a measured outcome of the study
        return active_seconds_delta(value, refuse_out_of_range=True)
    except ActiveTimeError as error:
        raise ReadingError(str(error)) from None


def _clamped(reading: CaseReading, active: float, until: datetime) -> float:
    return max(0.0, min(active, (until - reading.shown_at).total_seconds()))


def _mark_started(study: ReaderStudy, now: datetime) -> None:
    """The first case shown locks the design; the study's row lock orders it with edits."""
    if study.reading_started_at is not None:
        return
    locked = ReaderStudy.objects.select_for_update().get(pk=study.pk)
    if locked.state != ReaderStudy.State.OPEN:
        raise ReadingError("the study is not open for reading", kind="unavailable")
    if locked.reading_started_at is None:
        locked.reading_started_at = now
        locked.save(update_fields=["reading_started_at"])
    study.reading_started_at = locked.reading_started_at


def _session_finish(session: ReadingSession, now: datetime) -> None:
    """Mark the session done; the reader's last first-period session starts the washout."""
    if not ReadingSession.objects.filter(pk=session.pk, finished_at__isnull=True).update(
        finished_at=now
    ):
        return
    session.finished_at = now
    if session.period != 1:
        return
    first_period = ReadingSession.objects.filter(
        study_id=session.study_id, reader_id=session.reader_id, period=1
    )
    if first_period.filter(finished_at__isnull=True).exists():
        return
    ended = first_period.aggregate(ended=Max("finished_at"))["ended"]
    ReadingSession.objects.filter(
        study_id=session.study_id, reader_id=session.reader_id, period=2
    ).update(available_from=ended + timedelta(days=session.study.washout_days))


def reading_next(*, session: ReadingSession, now: datetime | None = None) -> CaseReading | None:
    """The session's first unanswered case, marked shown now if it was not; None when done.

    Practice cases come first (they have the first positions). Raises ReadingError
    (unavailable) when the study is not open or the washout has not passed.
    """
    now = now or timezone.now()
    reason = session_unavailable_reason(session, now)
    if reason:
        raise ReadingError(reason, kind="unavailable")
    with transaction.atomic():
        reading = (
            session.readings.filter(answered_at__isnull=True)
            .select_related("exam__patient")
            .order_by("position")
            .first()
        )
        if reading is None:
            _session_finish(session, now)
            return None
        if reading.shown_at is None:
            _mark_started(session.study, now)
            if not CaseReading.objects.filter(pk=reading.pk, shown_at__isnull=True).update(
                shown_at=now
            ):
                if not CaseReading.objects.filter(pk=reading.pk).exists():
                    raise ReadingError("the study changed; reload the page", kind="conflict")
            ReadingSession.objects.filter(pk=session.pk, started_at__isnull=True).update(
                started_at=now
            )
            reading.refresh_from_db(fields=["shown_at"])
    return reading


def reading_autosave(
    *,
    reading: CaseReading,
    answers: dict,
    active_seconds_delta: float = 0,
    now: datetime | None = None,
) -> CaseReading:
    """Save draft answers as they are made, and add active time; a closed tab loses nothing.

    A submitted answer is never half-changed here: it changes only by submitting again.
    Raises ReadingError (unavailable) once the study is closed, as submitting does: nothing
    more of a closed study's reads is stored.
    """
    now = now or timezone.now()
    delta = _delta(active_seconds_delta)
    reason = session_unavailable_reason(reading.session, now)
    if reason:
        raise ReadingError(reason, kind="unavailable")
    study = reading.session.study
    changes = _validated(study, answers)
    with transaction.atomic():
        reading = CaseReading.objects.select_for_update().get(pk=reading.pk)
        if reading.shown_at is None:
            raise ReadingError("this case has not been shown to you yet", kind="conflict")
        if reading.answered_at is not None and any(
            getattr(reading, name) != value for name, value in changes.items()
        ):
            raise ReadingError(
                "this case is submitted: change it by submitting again"
                if study.allow_going_back
                else "this case is submitted and this study does not allow changing answers",
                kind="conflict",
            )
        for name, value in changes.items():
            setattr(reading, name, value)
        reading.active_seconds = _clamped(
            reading, reading.active_seconds + delta, reading.answered_at or now
        )
        reading.save(update_fields=[*changes, "active_seconds"])
    return reading


def reading_submit(
    *,
    reading: CaseReading,
    answers: dict,
    active_seconds_delta: float = 0,
    now: datetime | None = None,
) -> tuple[CaseReading, bool]:
    """Submit the answers; (reading, changed). The same submit again changes nothing.

    A different answer for a submitted case is a revision: allowed only where the study
    allows going back, and for an answer given without AI only until the AI output of the
    exam reached the reader (`reading_blinding.frozen_reason`); each revision is audited
    (`CaseReadingRevision`), `revised_at` is the last, `answered_at` keeps the first submit.
    The session's last case finishes it; the last first-period session starts the washout.
    """
    now = now or timezone.now()
    delta = _delta(active_seconds_delta)
    session = reading.session
    study = session.study
    if study.state != ReaderStudy.State.OPEN:
        raise ReadingError("the study is not open for reading", kind="unavailable")
    changes = _validated(study, answers)
    with transaction.atomic():
        reading = CaseReading.objects.select_for_update().get(pk=reading.pk)
        if reading.shown_at is None:
            raise ReadingError("this case has not been shown to you yet", kind="conflict")
        merged = {**_answers(reading), **changes}
        missing = _missing(study, merged)
        if missing:
            raise ReadingError(f"answer {', '.join(missing)} first", missing=missing)
        if reading.answered_at is not None:
            if merged == _answers(reading):
                return reading, False  # a double submit is stored once
            if not study.allow_going_back:
                raise ReadingError(
                    "this case is already submitted and this study does not allow changing answers",
                    kind="conflict",
                )
            reading.session = session
            frozen = frozen_reason(reading)
            if frozen:
                raise ReadingError(frozen, kind="conflict")
            CaseReadingRevision.objects.create(
                reading=reading, revised_at=now, old=_answers(reading), new=merged
            )
            reading.revised_at = now
            until = now
        else:
            reading.answered_at = until = now
        for name, value in merged.items():
            setattr(reading, name, value)
        reading.active_seconds = _clamped(reading, reading.active_seconds + delta, until)
        reading.save()
        if not session.readings.filter(answered_at__isnull=True).exists():
            _session_finish(session, now)
        broadcast(progress_group(study.pk), "reading.progress", {"study": study.pk})
    return reading, True


def reading_previous(*, session: ReadingSession, before: CaseReading | None) -> CaseReading | None:
    """The answered case before `before` (or the last answered), where going back is allowed.

    Raises ReadingError (unavailable) in a study that is not open for reading (closed), as
    for the next case, or one that does not allow going back.
    """
    reason = session_unavailable_reason(session)
    if reason:
        raise ReadingError(reason, kind="unavailable")
    if not session.study.allow_going_back:
        raise ReadingError("this study does not allow going back", kind="unavailable")
    readings = session.readings.filter(answered_at__isnull=False)
    if before is not None:
        readings = readings.filter(position__lt=before.position)
    return readings.select_related("exam__patient").order_by("-position").first()


class StudyReadingEngine(ReadingEngine):
    """Reader-study reading on the shared reading engine: the scope is a session, which hands
    out its cases in order (practice first); a case is a case reading."""

    refusal = ReadingError

    def next(self, *, scope: ReadingSession, reader, exclude: tuple[int, ...] = ()):
        return reading_next(session=scope)

    def autosave(self, *, case: CaseReading, reader, answers: dict, active_seconds_delta=0):
        return reading_autosave(
            reading=case, answers=answers, active_seconds_delta=active_seconds_delta
        )

    def submit(self, *, case: CaseReading, reader, answers: dict, active_seconds_delta=0):
        return reading_submit(
            reading=case, answers=answers, active_seconds_delta=active_seconds_delta
        )

    def previous(self, *, scope: ReadingSession, reader, before: CaseReading | None):
        return reading_previous(session=scope, before=before)

    def scope_of(self, case: CaseReading) -> ReadingSession:
        return case.session


READING_ENGINE = StudyReadingEngine()
