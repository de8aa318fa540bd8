"""Designing a reader study: creating and editing it, opening it (the sessions and each
reader's stored case order), closing it, and each reader's experience.

Every write is a service here. A study is edited freely as a draft, and while open until
the first case is shown to a reader; from then on (`reading_started_at`) it is locked:
`reader_study_update` raises ReaderStudyError saying why. Editing an open study that no one
has started rebuilds its sessions.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.models import Exam, Image
from base.roles import READING
from studies.models import (
    CLINICAL_DATA,
    MAX_WASHOUT_DAYS,
    Arm,
    CaseReading,
    Design,
    ReaderStudy,
    ReaderStudyCase,
    ReaderStudyReader,
    ReadingSession,
    Specialty,
)

SHOWN = 10  # exams named in one message


class ReaderStudyError(ValueError):
    """A design the rules refuse, or an edit of a locked study; the message says why."""


def exam_truth(exam: Exam) -> int | None:
    """1 for malignant or borderline pathology, 0 for benign, None without pathology."""
    pathology = getattr(exam, "pathology", None)
    if pathology is None:
        return None
    return int(pathology.outcome != "benign")


# ---- the reading plan: pure, so the order can be checked without a database ----


@dataclass(frozen=True)
class PlannedSession:
    arm: str
    period: int
    practice: tuple[int, ...]  # exam ids read first, left out of the analysis
    cases: tuple[int, ...]  # exam ids in the reader's random order


def _shuffled(items: Iterable[int], seed: int, *parts: object) -> list[int]:
    ordered = sorted(items)
    random.Random(":".join(str(part) for part in (seed, *parts))).shuffle(ordered)
    return ordered


def reading_plan(
    *,
    design: str,
    seed: int,
    reader_key: int,
    cases: Sequence[tuple[int, int]],
    practice: Sequence[int] = (),
) -> list[PlannedSession]:
    """The sessions of one reader: arms, periods and case orders, from the study's seed.

    `cases` are (exam id, truth). Sequential: every case without AI in period 1, then with
    AI in period 2. Crossover: the cases split in two halves, stratified by truth so each
    half has its share of cancers; one half is read with AI in period 1 and without in
    period 2, the other the other way round. Practice cases open the first session of each
    arm. Each session's order is its own shuffle, so the same seed gives the same order.
    """
    practice = tuple(practice)
    if design == Design.SEQUENTIAL:
        all_cases = [exam_id for exam_id, _ in cases]
        return [
            PlannedSession(
                arm, period, practice, tuple(_shuffled(all_cases, seed, reader_key, arm, period))
            )
            for arm, period in ((Arm.WITHOUT_AI, 1), (Arm.WITH_AI, 2))
        ]
    if design != Design.CROSSOVER:
        raise ReaderStudyError(f"unknown design {design!r}")
    first: list[int] = []
    second: list[int] = []
    for truth in (1, 0):
        stratum = _shuffled((e for e, t in cases if t == truth), seed, reader_key, "split", truth)
        half = (len(stratum) + (len(first) <= len(second))) // 2
        first += stratum[:half]
        second += stratum[half:]

    def session(arm: str, period: int, exams: list[int]) -> PlannedSession:
        shown = practice if period == 1 else ()
        return PlannedSession(arm, period, shown, tuple(_shuffled(exams, seed, reader_key, arm)))

    return [
        session(Arm.WITH_AI, 1, first),
        session(Arm.WITHOUT_AI, 1, second),
        session(Arm.WITHOUT_AI, 2, first),
        session(Arm.WITH_AI, 2, second),
    ]


# ---- checks ----


def _named(exams: Iterable[Exam]) -> str:
    ids = [str(exam.pk) for exam in exams]
    return ", ".join(ids[:SHOWN]) + (f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")


def locked_reason(study: ReaderStudy) -> str | None:
    """Why the study's design can no longer change, or None while it can."""
    if study.state == ReaderStudy.State.CLOSED:
        return "the study is closed"
    if study.reading_started_at is not None:
        return (
            f"reading started on {study.reading_started_at:%Y-%m-%d %H:%M} UTC, so the cases, "
            "readers and design stay as they were read; create a new study to change them"
        )
    return None


def _check(
    *,
    name: str,
    design: str,
    washout_days: int,
    cases: Sequence[Exam],
    practice_cases: Sequence[Exam],
    readers: Sequence,
    clinical_without_ai: Iterable[str],
    clinical_with_ai: Iterable[str],
    study: ReaderStudy | None,
) -> None:
    problems = []
    if not name.strip():
        problems.append("the study needs a name")
    elif (
        ReaderStudy.objects.filter(name=name.strip())
        .exclude(pk=getattr(study, "pk", None))
        .exists()
    ):
        problems.append(f"a reader study named {name.strip()!r} already exists")
    if design not in Design.values:
        problems.append(f"the design must be one of {', '.join(Design.values)}")
    if not 0 <= washout_days <= MAX_WASHOUT_DAYS:
        problems.append(f"the washout must be 0 to {MAX_WASHOUT_DAYS} days")
    for what in (*clinical_without_ai, *clinical_with_ai):
        if what not in CLINICAL_DATA:
            problems.append(f"unknown clinical data {what!r} (one of {', '.join(CLINICAL_DATA)})")
    if not cases:
        problems.append("choose the cases to read")
    without_truth = [exam for exam in cases if exam_truth(exam) is None]
    if without_truth:
        problems.append(
            f"exams without a pathology result cannot be cases (no truth): {_named(without_truth)}"
        )
    ids = [exam.pk for exam in cases]
    practice_ids = [exam.pk for exam in practice_cases]
    if len(set(ids)) != len(ids) or len(set(practice_ids)) != len(practice_ids):
        problems.append("an exam is listed twice")
    both = [exam for exam in practice_cases if exam.pk in set(ids)]
    if both:
        problems.append(f"exams cannot be both a case and a practice case: {_named(both)}")
    with_images = set(
        Image.objects.filter(exam_id__in=[*ids, *practice_ids], hidden=False).values_list(
            "exam_id", flat=True
        )
    )
    imageless = [exam for exam in (*cases, *practice_cases) if exam.pk not in with_images]
    if imageless:
        problems.append(f"exams without images cannot be read: {_named(imageless)}")
    if not readers:
        problems.append("choose at least one reader")
    not_radiologists = [user.get_username() for user in readers if not READING.allows(user)]
    if not_radiologists:
        problems.append(f"readers must be radiologists: {', '.join(not_radiologists)}")
    if problems:
        raise ReaderStudyError("; ".join(problems))


def _overlaps(study: ReaderStudy) -> list[str]:
    """A reader may read an exam in one open study at a time: the AI output one study shows
    would reach the reading without AI in the other (and the other's reading without AI
    would keep the AI output from this one's arm with AI)."""
    exam_ids = list(study.cases.values_list("exam_id", flat=True))
    reader_ids = list(study.readers.values_list("reader_id", flat=True))
    # Two studies with a reader in common opening at once: the readers' rows order them.
    list(get_user_model().objects.select_for_update().filter(pk__in=reader_ids).values("pk"))
    shared = (
        ReaderStudyCase.objects.filter(
            study__state=ReaderStudy.State.OPEN,
            study__readers__reader_id__in=reader_ids,
            exam_id__in=exam_ids,
        )
        .exclude(study=study)
        .values_list("study__name", "study__readers__reader__username", "exam_id")
        .order_by("study__name", "study__readers__reader__username", "exam_id")
    )
    found: dict[tuple[str, str], list[int]] = {}
    for name, username, exam_id in shared:
        found.setdefault((name, username), []).append(exam_id)
    return [
        f"{username} already reads exam{'s' if len(ids) > 1 else ''} "
        f"{', '.join(map(str, ids[:SHOWN]))}{' and more' if len(ids) > SHOWN else ''} in the "
        f"open study {name!r}; a reader reads an exam in one open study at a time (the AI "
        "output of one would reach the reading without AI of the other), so close that study "
        "first or leave the reader or the exams out"
        for (name, username), ids in found.items()
    ]


# ---- services ----


def _write(
    study: ReaderStudy,
    *,
    cases: Sequence[Exam],
    practice_cases: Sequence[Exam],
    readers: Sequence,
    clinical_without_ai: Iterable[str],
    clinical_with_ai: Iterable[str],
) -> None:
    without, with_ai = set(clinical_without_ai), set(clinical_with_ai)
    for item in CLINICAL_DATA:
        setattr(study, f"{item}_{Arm.WITHOUT_AI}", item in without)
        setattr(study, f"{item}_{Arm.WITH_AI}", item in with_ai)
    try:
        study.save()
    except IntegrityError:  # the same name, created between the check and the save
        raise ReaderStudyError(f"a reader study named {study.name!r} already exists") from None
    study.cases.all().delete()
    ReaderStudyCase.objects.bulk_create(
        [ReaderStudyCase(study=study, exam=exam) for exam in cases]
        + [ReaderStudyCase(study=study, exam=exam, practice=True) for exam in practice_cases]
    )
    keep = [user.pk for user in readers]
    study.readers.exclude(reader_id__in=keep).delete()
    known = set(study.readers.values_list("reader_id", flat=True))
    ReaderStudyReader.objects.bulk_create(
        [ReaderStudyReader(study=study, reader=user) for user in readers if user.pk not in known]
    )


def reader_study_create(
    *,
    name: str,
    cases: Sequence[Exam],
    readers: Sequence,
    practice_cases: Sequence[Exam] = (),
    design: str = Design.SEQUENTIAL,
    washout_days: int = 28,
    seed: int,
    ask_orads: bool = False,
    ask_comment: bool = False,
    clinical_without_ai: Iterable[str] = ("age", "ca125"),
    clinical_with_ai: Iterable[str] = ("age", "ca125"),
    allow_going_back: bool = False,
    description: str = "",
    created_by=None,
) -> ReaderStudy:
    """A draft study with its cases (exams with pathology), practice cases and readers.

    Raises ReaderStudyError listing every problem; then nothing is stored.
    """
    clinical_without_ai, clinical_with_ai = list(clinical_without_ai), list(clinical_with_ai)
    _check(
        name=name,
        design=design,
        washout_days=washout_days,
        cases=cases,
        practice_cases=practice_cases,
        readers=readers,
        clinical_without_ai=clinical_without_ai,
        clinical_with_ai=clinical_with_ai,
        study=None,
    )
    with transaction.atomic():
        study = ReaderStudy(
            name=name.strip(),
            description=description,
            design=design,
            washout_days=washout_days,
            seed=seed,
            ask_orads=ask_orads,
            ask_comment=ask_comment,
            allow_going_back=allow_going_back,
            created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        )
        _write(
            study,
            cases=cases,
            practice_cases=practice_cases,
            readers=readers,
            clinical_without_ai=clinical_without_ai,
            clinical_with_ai=clinical_with_ai,
        )
    return study


def reader_study_update(
    *,
    study: ReaderStudy,
    name: str,
    cases: Sequence[Exam],
    readers: Sequence,
    practice_cases: Sequence[Exam] = (),
    design: str,
    washout_days: int,
    seed: int,
    ask_orads: bool,
    ask_comment: bool,
    clinical_without_ai: Iterable[str],
    clinical_with_ai: Iterable[str],
    allow_going_back: bool,
    description: str = "",
) -> ReaderStudy:
    """Change the whole design; refused (ReaderStudyError) once the study is locked.

    The study's row is locked first, so a reader cannot start while it changes; an open
    study gets its sessions rebuilt for the new design.
    """
    clinical_without_ai, clinical_with_ai = list(clinical_without_ai), list(clinical_with_ai)
    with transaction.atomic():
        study = ReaderStudy.objects.select_for_update().get(pk=study.pk)
        reason = locked_reason(study)
        if reason:
            raise ReaderStudyError(f"{study.name} cannot be changed: {reason}")
        _check(
            name=name,
            design=design,
            washout_days=washout_days,
            cases=cases,
            practice_cases=practice_cases,
            readers=readers,
            clinical_without_ai=clinical_without_ai,
            clinical_with_ai=clinical_with_ai,
            study=study,
        )
        study.name, study.description, study.design = name.strip(), description, design
        study.washout_days, study.seed = washout_days, seed
        study.ask_orads, study.ask_comment = ask_orads, ask_comment
        study.allow_going_back = allow_going_back
        study.sessions.all().delete()  # the readings are not started: nothing is lost
        _write(
            study,
            cases=cases,
            practice_cases=practice_cases,
            readers=readers,
            clinical_without_ai=clinical_without_ai,
            clinical_with_ai=clinical_with_ai,
        )
        if study.state == ReaderStudy.State.OPEN:
            overlaps = _overlaps(study)
            if overlaps:
                raise ReaderStudyError(f"{study.name} cannot be changed: " + "; ".join(overlaps))
            _sessions_build(study, now=timezone.now())
    return study


def _sessions_build(study: ReaderStudy, *, now: datetime) -> None:
    study_cases = list(study.cases.select_related("exam__pathology").order_by("pk"))
    cases = [(c.exam_id, exam_truth(c.exam)) for c in study_cases if not c.practice]
    practice = [c.exam_id for c in study_cases if c.practice]
    readings = []
    for participant in study.readers.order_by("reader_id"):
        for planned in reading_plan(
            design=study.design,
            seed=study.seed,
            reader_key=participant.reader_id,
            cases=cases,  # type: ignore[arg-type]
            practice=practice,
        ):
            session = ReadingSession.objects.create(
                study=study,
                reader_id=participant.reader_id,
                arm=planned.arm,
                period=planned.period,
                available_from=now if planned.period == 1 else None,
            )
            order = [(exam_id, True) for exam_id in planned.practice]
            order += [(exam_id, False) for exam_id in planned.cases]
            readings += [
                CaseReading(session=session, exam_id=exam_id, position=index, practice=is_practice)
                for index, (exam_id, is_practice) in enumerate(order)
            ]
    CaseReading.objects.bulk_create(readings, batch_size=2000)


def reader_study_open(*, study: ReaderStudy, now: datetime | None = None) -> ReaderStudy:
    """Open a draft for reading: every reader's sessions and case order are made now."""
    now = now or timezone.now()
    with transaction.atomic():
        study = ReaderStudy.objects.select_for_update().get(pk=study.pk)
        if study.state != ReaderStudy.State.DRAFT:
            raise ReaderStudyError(f"{study.name} is {study.get_state_display().lower()} already")
        truths = [
            exam_truth(case.exam)
            for case in study.cases.filter(practice=False).select_related("exam__pathology")
        ]
        problems = []
        if not study.readers.exists():
            problems.append("it has no readers")
        if truths.count(1) < 1 or truths.count(0) < 1:
            problems.append(
                f"its cases need at least one malignant and one benign exam for an ROC "
                f"analysis ({truths.count(1)} malignant, {truths.count(0)} benign)"
            )
        problems += _overlaps(study)
        if problems:
            raise ReaderStudyError(f"{study.name} cannot open: " + "; ".join(problems))
        study.state, study.opened_at = ReaderStudy.State.OPEN, now
        study.save(update_fields=["state", "opened_at", "updated_at"])
        _sessions_build(study, now=now)
    return study


def reader_study_close(*, study: ReaderStudy, now: datetime | None = None) -> ReaderStudy:
    """Stop the reading; what was answered stays and is analysed."""
    with transaction.atomic():
        study = ReaderStudy.objects.select_for_update().get(pk=study.pk)
        if study.state != ReaderStudy.State.OPEN:
            raise ReaderStudyError(
                f"only an open study can be closed ({study.name} is "
                f"{study.get_state_display().lower()})"
            )
        study.state, study.closed_at = ReaderStudy.State.CLOSED, now or timezone.now()
        study.save(update_fields=["state", "closed_at", "updated_at"])
    return study


def reader_study_reader_update(
    *, participant: ReaderStudyReader, experience_years: int | None, specialty: str
) -> ReaderStudyReader:
    """A reader's experience, for subgroup results; it may change at any time."""
    if experience_years is not None and not 0 <= experience_years <= 70:
        raise ReaderStudyError("years of experience must be 0 to 70")
    if specialty and specialty not in Specialty.values:
        raise ReaderStudyError(f"unknown specialty {specialty!r}")
    participant.experience_years, participant.specialty = experience_years, specialty
    participant.save(update_fields=["experience_years", "specialty"])
    return participant
