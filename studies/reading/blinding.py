"""The blinding rule of reader studies: who may see the AI output of which exam, and when an
answer given without AI is frozen.

Per reader and exam, across all open studies: once the reader's session without AI that
holds the exam is open (period 1, or period 2 once the first period is done, washout
included), no page, API or file link gives the reader the exam's AI output until their
reading of it without AI is submitted. Every showing of AI output to a reader who has a
reading without AI of the exam in an open study is recorded (`AIShown`); a submitted
answer without AI is frozen once the AI output reached its reader after the case was
shown. Practice readings are outside the rule: the crossover shows the practice cases in
both arms of period 1 by design, and they are not analysed.

`inference` cannot import this app: `StudiesConfig.ready` registers `ai_gate` with
`inference.selectors.ai_gate_register`, and every place that hands out AI output asks
`inference.selectors.ai_release` / `ai_withheld`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.utils import timezone

from studies.models import AIShown, Arm, CaseReading, ReaderStudy

WITHHELD = (
    "you are reading this exam without AI in the reader study {study}; its AI output is "
    "withheld from you until you submit that reading"
)


def _unaided(reader, exam_ids: Collection[int] | None):
    readings = CaseReading.objects.filter(
        session__reader=reader,
        session__arm=Arm.WITHOUT_AI,
        session__study__state=ReaderStudy.State.OPEN,
        practice=False,
    )
    if exam_ids is not None:
        readings = readings.filter(exam_id__in=list(exam_ids))
    return readings.values_list(
        "exam_id", "answered_at", "session__available_from", "session__study__name"
    )


def ai_gate(
    user, exam_ids: Collection[int] | None, *, now: datetime | None = None, record: bool = False
) -> tuple[dict[int, str], set[int]]:
    """(withheld, watched) among `exam_ids` (None: every exam) for this user.

    withheld: exam id -> why its AI output may not reach the user now. watched: exams whose
    AI output may reach the user but is recorded when it does (the user has a reading
    without AI of them in an open study). With `record`, the watched exams are recorded as
    shown now. One query, two when recording.
    """
    if not getattr(user, "is_authenticated", False) or (exam_ids is not None and not exam_ids):
        return {}, set()
    withheld: dict[int, str] = {}
    watched: set[int] = set()
    for exam_id, answered_at, available_from, study in _unaided(user, exam_ids):
        if answered_at is None and available_from is not None:
            withheld.setdefault(exam_id, WITHHELD.format(study=repr(study)))
        else:
            watched.add(exam_id)
    watched -= set(withheld)
    if record and watched:
        ai_shown_record(reader=user, exam_ids=watched, now=now)
    return withheld, watched


def ai_shown_record(*, reader, exam_ids: Collection[int], now: datetime | None = None) -> None:
    """Record that the AI output of these exams reached the reader now (one statement)."""
    now = now or timezone.now()
    AIShown.objects.bulk_create(
        [
            AIShown(reader=reader, exam_id=exam_id, first_shown_at=now, last_shown_at=now)
            for exam_id in sorted(exam_ids)
        ],
        update_conflicts=True,
        unique_fields=["reader", "exam"],
        update_fields=["last_shown_at"],
    )


def frozen_reason(reading: CaseReading) -> str | None:
    """Why a submitted answer without AI may no longer change, or None."""
    if reading.session.arm != Arm.WITHOUT_AI or reading.practice or reading.shown_at is None:
        return None
    shown = AIShown.objects.filter(
        reader_id=reading.session.reader_id,
        exam_id=reading.exam_id,
        last_shown_at__gte=reading.shown_at,
    ).first()
    if shown is None:
        return None
    return (
        "this answer was given without AI, and the AI output for this exam was shown to you "
        f"on {shown.last_shown_at:%Y-%m-%d %H:%M} UTC; it can no longer change"
    )
