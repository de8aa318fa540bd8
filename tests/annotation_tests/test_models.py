"""The database itself refuses impossible clinical data."""

import datetime

import numpy as np
import pytest
from django.db import IntegrityError, transaction

from annotation.models import (
    CA125Measurement,
    Image,
    ImageSource,
    LesionFeatures,
    PathologyResult,
    Patient,
)
from tests import image_factories
from tests.factories import ExamFactory, PatientFactory

pytestmark = pytest.mark.django_db


def _refused(create) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_birth_year_out_of_range_is_refused():
    _refused(lambda: Patient.objects.create(pseudonym="x" * 64, birth_year=1850))


def test_solid_component_larger_than_the_lesion_is_refused():
    exam = ExamFactory()
    _refused(
        lambda: LesionFeatures.objects.create(
            exam=exam, lesion_diameter_mm=40, solid_diameter_mm=55
        )
    )
    LesionFeatures.objects.create(exam=exam, lesion_diameter_mm=40, solid_diameter_mm=40)


@pytest.mark.parametrize(
    "field,value",
    [
        ("color_score", 5),
        ("color_score", 0),
        ("papillary_projections", 7),
        ("lesion_diameter_mm", 0),
    ],
)
def test_feature_ranges(field, value):
    exam = ExamFactory()
    _refused(lambda: LesionFeatures.objects.create(exam=exam, **{field: value}))


def test_ca125_range_and_one_per_day():
    patient = PatientFactory()
    day = datetime.date(2024, 1, 5)
    _refused(
        lambda: CA125Measurement.objects.create(patient=patient, value_u_per_ml=0, measured_on=day)
    )
    CA125Measurement.objects.create(patient=patient, value_u_per_ml=35, measured_on=day)
    _refused(
        lambda: CA125Measurement.objects.create(patient=patient, value_u_per_ml=40, measured_on=day)
    )


def test_figo_stage_only_for_malignant_and_grade_range():
    exam = ExamFactory()
    _refused(lambda: PathologyResult.objects.create(exam=exam, outcome="benign", figo_stage="IA"))
    _refused(lambda: PathologyResult.objects.create(exam=exam, outcome="malignant", grade=4))
    PathologyResult.objects.create(exam=exam, outcome="malignant", figo_stage="IIIC", grade=3)


def test_an_image_is_unique_by_sop_instance_uid_and_frame():
    exam = ExamFactory()
    pixels = np.full((16, 16), 7, dtype=np.uint8)
    kwargs = dict(
        exam=exam,
        source=ImageSource.DICOM,
        color_model="MONOCHROME2",
        sop_instance_uid="1.2.3.4",
        frame_count=2,
    )
    first, created = image_factories.image_store(pixels=pixels, frame_index=0, **kwargs)
    assert created
    again, created = image_factories.image_store(pixels=pixels + 1, frame_index=0, **kwargs)
    assert not created and again.pk == first.pk
    _, created = image_factories.image_store(pixels=pixels, frame_index=1, **kwargs)
    assert created
    row = Image.objects.get(pk=first.pk)
    _refused(
        lambda: Image.objects.create(
            exam=exam,
            file="x.png",
            sha256="0" * 64,
            source="dicom",
            width=1,
            height=1,
            color_model="RGB",
            sop_instance_uid=row.sop_instance_uid,
            frame_index=0,
            frame_count=2,
        )
    )
    _refused(
        lambda: Image.objects.create(
            exam=exam,
            file="y.png",
            sha256="1" * 64,
            source="dicom",
            width=1,
            height=1,
            color_model="RGB",
            frame_index=3,
            frame_count=2,
        )
    )


def test_image_store_crops_to_the_scan_region_and_fingerprints_the_file():
    exam = ExamFactory()
    pixels = np.zeros((100, 120, 3), dtype=np.uint8)
    pixels[:20] = 255  # a header band of burned-in text
    image, _ = image_factories.image_store(
        exam=exam,
        pixels=pixels,
        source=ImageSource.PNG,
        color_model="RGB",
        scan_region=(10, 30, 109, 89),
    )
    assert (image.width, image.height) == (100, 60)
    import hashlib

    assert hashlib.sha256(image.file.read()).hexdigest() == image.sha256


def test_age_at_exam_is_derived_from_the_birth_year():
    exam = ExamFactory(patient=PatientFactory(birth_year=1961), exam_date=datetime.date(2020, 6, 1))
    assert exam.age_at_exam == 59
