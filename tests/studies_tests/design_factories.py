"""Exams with pathology and images, and designed reader studies made through the services."""

import itertools

import numpy as np

from annotation.models import ImageSource, PathologyResult
from base.roles import Role
from studies.design.services import reader_study_create, reader_study_open
from tests import image_factories
from tests.factories import ExamFactory, UserFactory

_unique = itertools.count(1)


def exam_with_images(*, outcome: str | None = "benign", images: int = 1, **fields):
    """An exam with `images` distinct small images and, unless outcome is None, pathology."""
    exam = ExamFactory(**fields)
    for _ in range(images):
        n = next(_unique)
        pixels = np.tile(np.linspace(0, 255, 48, dtype=np.uint8), (32, 1)) // (n % 5 + 1)
        pixels = np.roll(pixels, n % 48, axis=1)
        pixels[0, 0] = n % 256
        image_factories.image_store(
            exam=exam,
            pixels=pixels,
            source=ImageSource.PNG,
            color_model="MONOCHROME2",
            source_sha256=f"{n:064d}",
        )
    if outcome:
        PathologyResult.objects.create(exam=exam, outcome=outcome)
    return exam


def case_exams(malignant: int, benign: int, **fields) -> list:
    return [exam_with_images(outcome="malignant", **fields) for _ in range(malignant)] + [
        exam_with_images(outcome="benign", **fields) for _ in range(benign)
    ]


def designed_study(
    *,
    readers=None,
    malignant: int = 2,
    benign: int = 2,
    practice: int = 1,
    opened: bool = True,
    name: str | None = None,
    **settings,
):
    """A study through the real services (opened unless asked not to)."""
    readers = readers if readers is not None else [UserFactory(role=Role.RADIOLOGIST)]
    study = reader_study_create(
        name=name or f"Study {next(_unique)}",
        cases=case_exams(malignant, benign),
        practice_cases=[exam_with_images(outcome="benign") for _ in range(practice)],
        readers=readers,
        seed=settings.pop("seed", 7),
        **settings,
    )
    if opened:
        study = reader_study_open(study=study)
    return study
