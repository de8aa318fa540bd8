"""The demo's reader studies: the generator's simulated reads as an imported study, and a
designed study of validation cases that the demo radiologist can read (the simulated
readers have read it already, through the same services, so its results show at once)."""

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from annotation.demo_labels import simulated_reader
from annotation.patients.identity import accession_key
from base.csv_cells import csv_writer
from studies.design.cases import draw, eligible_exams
from studies.design.services import (
    exam_truth,
    reader_study_create,
    reader_study_open,
    reader_study_reader_update,
)
from studies.models import ImportedReaderStudy, ReaderStudy, Specialty
from studies.reading.flow import MAX_ACTIVE_DELTA, reading_next, reading_submit
from studies.reading.imported import reader_study_import

DEMO_STUDY = "Demo: simulated readers without and with AI"
DESIGNED_DEMO_STUDY = "Demo: validation cases read without and with AI"
DESIGNED_CASES, DESIGNED_PRACTICE, SIMULATED_READERS = 20, 2, 4
SPECIALTIES = {
    "general radiology": Specialty.GENERAL_RADIOLOGY,
    "gynaecological ultrasound": Specialty.GYNAECOLOGICAL_ULTRASOUND,
}


def demo_reader_study_load(*, data_dir: Path, **kwargs) -> None:
    """Both demo reader studies, once each."""
    demo_imported_study_load(data_dir=data_dir)
    demo_designed_study_load(data_dir=data_dir)


def demo_imported_study_load(*, data_dir: Path) -> None:
    """Load reader_reads.csv once; truth from pathology, borderline counting as malignant.
    Its cases are accession numbers: the study keeps their exams' keys, not the numbers."""
    if ImportedReaderStudy.objects.filter(name=DEMO_STUDY).exists():
        return
    manifest = json.loads((data_dir / "manifest.json").read_text())
    truth = {
        exam["accession_number"]: int(exam["pathology"]["outcome"] != "benign")
        for exam in manifest["exams"]
        if exam["pathology"]
    }
    with (data_dir / "reader_reads.csv").open(newline="") as handle:
        reads = list(csv.DictReader(handle))
    if not reads:  # a tiny demo has no operated exam, so nothing was read
        return
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(["reader", "case", "modality", "truth", "rating", "decision", "seconds"])
    for row in reads:
        writer.writerow(
            [
                row["reader"],
                row["accession_number"],
                row["arm"],
                truth[row["accession_number"]],
                row["confidence"],
                row["malignant"],
                row["seconds_spent"],
            ]
        )
    reader_study_import(
        name=DEMO_STUDY,
        data=out.getvalue().encode(),
        reference="unaided",
        source_filename="reader_reads.csv",
        accession_cases=True,  # stored as the exams' pseudonymous keys, never in clear
    )


def demo_designed_study_load(*, data_dir: Path) -> None:
    """A designed study of 20 external (validation) cases and 2 practice cases, open, with a
    washout of 0 days so the demo radiologist can read both arms in one sitting. Simulated
    readers read it a month ago, with the generator's answers and reading times."""
    if ReaderStudy.objects.filter(name=DESIGNED_DEMO_STUDY).exists():
        return
    manifest = json.loads((data_dir / "manifest.json").read_text())
    with (data_dir / "reader_reads.csv").open(newline="") as handle:
        reads = {(r["reader"], r["accession_number"], r["arm"]): r for r in csv.DictReader(handle)}
    cases = draw(eligible_exams(external_only=True), count=DESIGNED_CASES, seed=2026)
    truths = [exam_truth(exam) for exam in cases]
    if not reads or 1 not in truths or 0 not in truths:
        return  # a tiny demo has too few operated exams at the external centres
    taken = {exam.pk for exam in cases}
    others = [exam for exam in eligible_exams() if exam.pk not in taken]
    practice = draw(others, count=DESIGNED_PRACTICE, seed=2026, salt="practice")
    profiles = manifest.get("study_readers", [])[:SIMULATED_READERS]
    simulated = [simulated_reader(profile["code"]) for profile in profiles]
    trainee = get_user_model().objects.filter(username="radiologist").first()
    readers = simulated + ([trainee] if trainee else [])
    accessions = {
        accession_key(exam["accession_number"]): exam["accession_number"]
        for exam in manifest["exams"]
    }
    month_ago = timezone.now() - timedelta(days=30)
    with transaction.atomic():
        study = reader_study_create(
            name=DESIGNED_DEMO_STUDY,
            description="Validation cases from the external centres. The washout is 0 days "
            "so that the demo can be read in one sitting; a real study waits weeks.",
            cases=cases,
            practice_cases=practice,
            readers=readers,
            design="sequential",
            washout_days=0,
            seed=2026,
            ask_orads=True,
            clinical_without_ai=["age", "ca125"],
            clinical_with_ai=["age", "ca125"],
        )
        study = reader_study_open(study=study, now=month_ago)
        for profile, user in zip(profiles, simulated, strict=True):
            reader_study_reader_update(
                participant=study.readers.get(reader=user),
                experience_years=profile["years"],
                specialty=SPECIALTIES.get(profile["specialty"], Specialty.OTHER),
            )
            _simulate(study, user, profile["code"], reads, accessions, start=month_ago)


def _simulate(
    study: ReaderStudy, user, code: str, reads: dict, accessions: dict[str, str], *, start
) -> None:
    """The simulated reader's answers from the generator, at its pace, from `start` on."""
    now = start
    for session in study.sessions.filter(reader=user).order_by("period"):
        session.refresh_from_db()  # the first period's end opened the second
        arm = "unaided" if session.arm == "without_ai" else "aided"
        while (reading := reading_next(session=session, now=now)) is not None:
            read = reads.get((code, accessions.get(reading.exam.accession_key), arm))
            seconds = float(read["seconds_spent"]) if read else 40.0
            confidence = int(read["confidence"]) if read else 50
            answers = {
                "malignant": bool(int(read["malignant"])) if read else confidence >= 50,
                "confidence": confidence,
                "orads": 2 + round(3 * confidence / 100),  # 2..5, rising with suspicion
            }
            now += timedelta(seconds=seconds)
            reading_submit(
                reading=reading,
                answers=answers,
                active_seconds_delta=min(seconds, MAX_ACTIVE_DELTA),
                now=now,
            )
            now += timedelta(seconds=2)
