"""Choosing a reader study's cases: exams with pathology and images, by centre (the external,
validation centres), by a random draw from a stored seed, or from a list of exam IDs or
accession numbers. Reads only; the design services store the choice.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence

from django.db.models import Exists, OuterRef, QuerySet

from annotation.models import Center, Exam, Image
from annotation.patients.identity import IdentifierError, accession_key


class CaseChoiceError(ValueError):
    """Exams that cannot be found from what was typed; the message names them."""


def eligible_exams(
    *, centers: Sequence[Center] = (), external_only: bool = False
) -> QuerySet[Exam]:
    """Exams with a pathology result (the truth) and at least one visible image."""
    exams = (
        Exam.objects.filter(pathology__isnull=False)
        .filter(Exists(Image.objects.filter(exam_id=OuterRef("pk"), hidden=False)))
        .select_related("pathology", "center")
        .order_by("pk")
    )
    if centers:
        exams = exams.filter(center__in=centers)
    if external_only:
        exams = exams.filter(center__is_internal=False)
    return exams


def _tokens(text: str) -> list[str]:
    return [token for token in re.split(r"[\s,;]+", text or "") if token]


def exams_from_ids(text: str) -> list[Exam]:
    """Exams by ID, in the order typed; unknown or malformed IDs are named in the error."""
    tokens = _tokens(text)
    bad = [token for token in tokens if not token.isdigit()]
    if bad:
        raise CaseChoiceError(f"not exam IDs (whole numbers): {', '.join(bad[:10])}")
    ids = [int(token) for token in tokens]
    found = Exam.objects.select_related("pathology").in_bulk(ids)
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        raise CaseChoiceError(f"no exam with ID {', '.join(missing[:10])}")
    return [found[pk] for pk in dict.fromkeys(ids)]


def exams_from_accessions(text: str) -> list[Exam]:
    """Exams by accession number (matched through its keyed hash; never stored in clear)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    keys = {}
    for line in lines:
        try:
            keys[line] = accession_key(line)
        except IdentifierError:
            continue
    found = {
        exam.accession_key: exam
        for exam in Exam.objects.filter(accession_key__in=keys.values()).select_related("pathology")
    }
    missing = [line for line in lines if keys.get(line) not in found]
    if missing:
        raise CaseChoiceError(f"no exam with accession number {', '.join(missing[:10])}")
    return list({found[keys[line]].pk: found[keys[line]] for line in lines}.values())


def draw(exams: Iterable[Exam], *, count: int | None, seed: int, salt: str = "cases") -> list[Exam]:
    """`count` exams drawn at random (all when count is None), the same for the same seed."""
    pool = sorted(exams, key=lambda exam: exam.pk)
    if count is None or count >= len(pool):
        return pool
    return sorted(random.Random(f"{seed}:{salt}").sample(pool, count), key=lambda exam: exam.pk)
