"""Reads about reading: the coordinator's live progress of a study, a reader's worklist, a
reader's own session (anyone else's is simply not found), and the answers changed by going
back."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from studies.models import Arm, CaseReading, CaseReadingRevision, ReaderStudy, ReadingSession
from studies.reading.flow import session_unavailable_reason


def reader_session(*, session_id: int, reader) -> ReadingSession:
    """The reader's own session; another reader's raises Http404 (no hint that it exists)."""
    try:
        return ReadingSession.objects.select_related("study").get(pk=session_id, reader=reader)
    except ReadingSession.DoesNotExist:
        raise Http404("No such reading session among yours") from None


def reader_reading(*, reading_id: int, reader) -> CaseReading:
    """The reader's own case reading, with its session and study; else Http404."""
    try:
        return CaseReading.objects.select_related("session__study", "exam__patient").get(
            pk=reading_id, session__reader=reader
        )
    except CaseReading.DoesNotExist:
        raise Http404("No such case among yours") from None


def _with_counts(sessions: QuerySet[ReadingSession]) -> QuerySet[ReadingSession]:
    return sessions.annotate(
        total=Count("readings", filter=Q(readings__practice=False)),
        done=Count(
            "readings", filter=Q(readings__practice=False, readings__answered_at__isnull=False)
        ),
        practice_total=Count("readings", filter=Q(readings__practice=True)),
        practice_done=Count(
            "readings", filter=Q(readings__practice=True, readings__answered_at__isnull=False)
        ),
        last_answered_at=Max("readings__answered_at"),
    )


def reader_worklist(*, reader, now: datetime | None = None) -> list[dict[str, Any]]:
    """The reader's sessions in open studies: readable now, waiting (with the date it opens),
    or done."""
    now = now or timezone.now()
    sessions = _with_counts(
        ReadingSession.objects.filter(reader=reader, study__state=ReaderStudy.State.OPEN)
        .select_related("study")
        .order_by("-study__opened_at", "study_id", "period", "arm")
    )
    rows = []
    for session in sessions:
        finished = session.finished_at is not None
        reason = None if finished else session_unavailable_reason(session, now)
        rows.append(
            {
                "session": session,
                "study": session.study,
                "finished": finished,
                "available": not finished and reason is None,
                "waiting": reason,
                "started": session.started_at is not None,
                "percent": round(100 * session.done / session.total) if session.total else 100,
            }
        )
    return rows


def study_progress(study: ReaderStudy) -> dict[str, Any]:
    """Per reader and arm: cases read (practice apart), median active seconds per case, last
    answer, and where the reader stands; with totals per arm. A fixed number of queries."""
    sessions = _with_counts(study.sessions.select_related("reader").order_by("reader__username"))
    seconds: dict[tuple[int, str], list[float]] = defaultdict(list)
    for reader_id, arm, active in CaseReading.objects.filter(
        session__study=study, practice=False, answered_at__isnull=False
    ).values_list("session__reader_id", "session__arm", "active_seconds"):
        seconds[(reader_id, arm)].append(active)

    cells: dict[tuple[int, str], dict[str, Any]] = {}
    names: dict[int, str] = {}
    for session in sessions:
        names[session.reader_id] = session.reader.get_username()
        cell = cells.setdefault(
            (session.reader_id, session.arm),
            {"done": 0, "total": 0, "practice_done": 0, "practice_total": 0, "last": None},
        )
        for key in ("done", "total", "practice_done", "practice_total"):
            cell[key] += getattr(session, key)
        if session.last_answered_at and (
            cell["last"] is None or session.last_answered_at > cell["last"]
        ):
            cell["last"] = session.last_answered_at
        cell.setdefault("sessions", []).append(
            {
                "period": session.period,
                "done": session.done,
                "total": session.total,
                "finished": session.finished_at is not None,
                "available_from": session.available_from,
            }
        )

    readers = []
    for reader_id, name in names.items():
        arms = {}
        for arm in Arm.values:
            cell = cells.get((reader_id, arm))
            if cell is None:
                continue
            times = seconds.get((reader_id, arm), [])
            arms[arm] = {
                "done": cell["done"],
                "total": cell["total"],
                "practice_done": cell["practice_done"],
                "practice_total": cell["practice_total"],
                "median_seconds": statistics.median(times) if times else None,
                "last_answered_at": cell["last"],
                "sessions": sorted(cell["sessions"], key=lambda s: s["period"]),
            }
        readers.append({"reader_id": reader_id, "reader": name, "arms": arms})

    totals = {}
    for arm in Arm.values:
        arm_cells = [cell for (_, a), cell in cells.items() if a == arm]
        times = [t for (_, a), values in seconds.items() if a == arm for t in values]
        totals[arm] = {
            "label": Arm(arm).label,
            "done": sum(cell["done"] for cell in arm_cells),
            "total": sum(cell["total"] for cell in arm_cells),
            "median_seconds": statistics.median(times) if times else None,
        }
    return {
        "study": study.pk,
        "state": study.state,
        "reading_started_at": study.reading_started_at,
        "arms": totals,
        "readers": readers,
    }


def study_revisions(study: ReaderStudy) -> list[dict]:
    """Every answer changed by going back, oldest first: reader, case, modality, practice,
    the first submit (`answered_at`), the change (`revised_at`, ISO 8601) and the answers
    before and after (`old`, `new`). The results count the answer after the last change."""
    revisions = (
        CaseReadingRevision.objects.filter(reading__session__study=study)
        .select_related("reading__session__reader")
        .order_by("revised_at", "pk")
    )
    return [
        {
            "reader": revision.reading.session.reader.get_username(),
            "case": str(revision.reading.exam_id),
            "modality": Arm(revision.reading.session.arm).label,
            "practice": revision.reading.practice,
            "answered_at": revision.reading.answered_at.isoformat(),
            "revised_at": revision.revised_at.isoformat(),
            "old": revision.old,
            "new": revision.new,
        }
        for revision in revisions
    ]
