"""The demo data set: generated, loaded through the real acquisition path, idempotent.

De-identification of what it loads is tested with the image import (test_importing.py).
"""

import json

import pytest
from django.core.management import CommandError, call_command

from annotation.demo import demo_data_generate
from annotation.models import Exam, Image, PathologyResult, Patient

pytestmark = pytest.mark.django_db

PATIENTS = 4


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DEMO_DATA_DIR = tmp_path / "demo"
    return settings.DEMO_DATA_DIR


def test_loading_twice_adds_nothing(data_dir):
    first = demo_data_generate(patients=PATIENTS, seed=11)
    counts = (Patient.objects.count(), Exam.objects.count(), Image.objects.count())
    assert counts[0] == PATIENTS and counts[2] == first["images_imported"] > 0
    second = demo_data_generate(patients=PATIENTS, seed=11)
    assert second["clinical"]["unchanged"] == first["clinical"]["created"] == first["exams"]
    assert second["images_imported"] == 0
    assert second["images_already_present"] == first["images_imported"]
    assert (Patient.objects.count(), Exam.objects.count(), Image.objects.count()) == counts


def test_loaded_images_match_the_manifest(data_dir):
    demo_data_generate(patients=PATIENTS, seed=12)
    manifest = json.loads((data_dir / "manifest.json").read_text())
    frames = sum(record["frames"] for record in manifest["images"])
    assert Image.objects.count() == frames
    outcomes = [e["pathology"]["outcome"] for e in manifest["exams"] if e["pathology"]]
    assert PathologyResult.objects.count() == len(outcomes)
    image = Image.objects.filter(pixel_spacing_mm__isnull=False).first()
    assert image is not None and 0.05 < image.pixel_spacing_mm < 1.0


@pytest.mark.parametrize("args", [["--patients", "0"], ["--patients", "-5"], ["--seed", "-1"]])
def test_the_command_refuses_nonsense(data_dir, args):
    with pytest.raises(CommandError, match="--patients|--seed"):
        call_command("generate_demo_data", *args)


def test_the_simulated_radiologists_labels_come_with_the_demo(data_dir):
    from annotation.demo_labels import DEMO_SET, TRY_SET
    from annotation.labelling.stats import set_progress
    from annotation.models import AnnotationSet, Label
    from base.roles import Role
    from tests.factories import UserFactory

    trainee = UserFactory(username="radiologist", role=Role.RADIOLOGIST)
    first = demo_data_generate(patients=PATIENTS, seed=14)
    rows = (data_dir / "annotation_labels.csv").read_text().strip().splitlines()[1:]
    assert first["labels"]["labels"] == len(rows) == Label.objects.count()
    demo_set = AnnotationSet.objects.get(name=DEMO_SET)
    assert demo_set.adjudicator == trainee
    progress = set_progress(demo_set)
    assert progress["readings_done"] == progress["readings_planned"] == len(rows)
    assert AnnotationSet.objects.get(name=TRY_SET).readers.get().reader == trainee
    again = demo_data_generate(patients=PATIENTS, seed=14)
    assert again["labels"] == {"labels": 0} and Label.objects.count() == len(rows)


def test_the_simulated_reader_study_comes_with_the_demo(data_dir):
    from studies.demo import DEMO_STUDY
    from studies.models import ImportedReaderStudy
    from studies.results import reader_study_results

    demo_data_generate(patients=30, seed=15)
    study = ImportedReaderStudy.objects.get(name=DEMO_STUDY)
    results = reader_study_results(study)
    assert set(results["pooled"]) == {"unaided", "aided"}
    assert results["mrmc"]["auc"]["rrrc"]["difference"] is not None
    demo_data_generate(patients=30, seed=15)  # a second run adds nothing
    assert ImportedReaderStudy.objects.filter(name=DEMO_STUDY).count() == 1
