"""Generating the synthetic demo data set and loading it into the database.

Loading is idempotent: patients, exams and images are matched by their natural keys
(pseudonym, accession number, SOP Instance UID and frame), so a second run adds nothing.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import transaction

from ovarian_web.jobs import ProgressReporter, job_claim, job_fail, job_finish, job_retry

from . import services
from .dicom import read_dicom
from .models import DemoDataJob, Dimension, ImageSource
from .synthetic import generate_dataset

Progress = Callable[[int, int], None]


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _load_clinical(manifest: dict) -> dict[str, object]:
    """Centres, patients, exams and their clinical data; returns exams by accession number."""
    centers = {
        c["code"]: services.center_upsert(
            code=c["code"],
            name=c["name"],
            is_internal=c["is_internal"],
            is_oncology_center=c["is_oncology_center"],
        )
        for c in manifest["centers"]
    }
    birth_years = {p["hospital_id"]: p["birth_year"] for p in manifest["patients"]}
    exams = {}
    for record in manifest["exams"]:
        patient = services.patient_get_or_create(
            hospital_id=record["hospital_id"], birth_year=birth_years[record["hospital_id"]]
        )
        report = record["report"]
        exam = services.exam_upsert(
            patient=patient,
            center=centers[record["center"]],
            exam_date=date.fromisoformat(record["exam_date"]),
            accession_number=record["accession_number"],
            study_instance_uid=record["study_instance_uid"],
            report_lesion_size_mm=report.get("lesion_size_mm"),
            report_mass_type=report.get("mass_type") or "",
            report_text=report.get("text", ""),
        )
        if record.get("features"):
            features = dict(record["features"])
            features["mass_type"] = features.get("mass_type") or ""
            services.features_set(exam=exam, **features)
        if record.get("pathology"):
            pathology = record["pathology"]
            services.pathology_set(
                exam=exam,
                outcome=pathology["outcome"],
                histological_type=pathology.get("histology") or "",
                figo_stage=pathology.get("figo_stage") or "",
                grade=pathology.get("grade") or None,
                operation_date=_date(pathology.get("operation_date")),
            )
        if record.get("ca125"):
            services.ca125_set(
                patient=patient,
                exam=exam,
                value_u_per_ml=record["ca125"]["value"],
                measured_on=date.fromisoformat(record["ca125"]["date"]),
            )
        exams[record["accession_number"]] = exam
    return exams


def demo_dataset_load(*, data_dir: Path, manifest: dict, progress: Progress | None = None) -> dict:
    """Load a generated data set from its DICOM files; returns counts of what was stored."""
    with transaction.atomic():
        exams = _load_clinical(manifest)
    imported = skipped = 0
    images = manifest["images"]
    for done, record in enumerate(images, start=1):
        path = data_dir / record["dicom"]
        dicom = read_dicom(path)
        source_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        region = dicom.tissue_region or tuple(record["scan_region"])
        dimension = (
            Dimension.THREE_D if dicom.is_3d or record["dimension"] == "3d" else Dimension.TWO_D
        )
        for frame_index, pixels in enumerate(dicom.frames):
            _, created = services.image_store(
                exam=exams[record["exam"]],
                pixels=pixels,
                source=ImageSource.DICOM,
                color_model=dicom.color_model,
                sop_instance_uid=dicom.sop_instance_uid,
                series_instance_uid=dicom.series_instance_uid,
                frame_index=frame_index,
                frame_count=len(dicom.frames),
                scan_region=region,
                pixel_spacing_mm=dicom.pixel_spacing_mm or record.get("pixel_spacing_mm"),
                dimension=dimension,
                doppler=dicom.doppler or record["doppler"],
                source_sha256=source_sha256,
            )
            imported += created
            skipped += not created
        if progress:
            progress(done, len(images))
    return {
        "centers": len(manifest["centers"]),
        "patients": len(manifest["patients"]),
        "exams": len(exams),
        "images_imported": imported,
        "images_already_present": skipped,
    }


def demo_data_generate(
    *,
    patients: int,
    seed: int,
    data_dir: Path | None = None,
    generate_progress: Progress | None = None,
    load_progress: Progress | None = None,
) -> dict:
    data_dir = data_dir or settings.DEMO_DATA_DIR
    manifest_path = data_dir / "manifest.json"
    manifest = None
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("seed") != seed or manifest.get("patient_count") != patients:
            manifest = None
    if manifest is None:
        manifest = generate_dataset(
            data_dir, patients=patients, seed=seed, progress=generate_progress
        )
    return demo_dataset_load(data_dir=data_dir, manifest=manifest, progress=load_progress)


def demo_data_job_create(*, patients: int, seed: int, user=None) -> DemoDataJob:
    from .tasks import demo_data_job_run  # tasks import this module

    job = DemoDataJob.objects.create(
        patients=patients, seed=seed, created_by=user, message="Queued"
    )
    transaction.on_commit(lambda: demo_data_job_run.delay(job_id=job.pk))
    return job


def demo_data_job_retry(*, job: DemoDataJob) -> None:
    from .tasks import demo_data_job_run

    job_retry(job)
    transaction.on_commit(lambda: demo_data_job_run.delay(job_id=job.pk))


def demo_data_job_execute(*, job_id: int) -> None:
    """Run a queued demo-data job; does nothing if another worker holds it."""
    job = job_claim(DemoDataJob, job_id)
    if job is None:
        return
    try:
        result = demo_data_generate(
            patients=job.patients,
            seed=job.seed,
            generate_progress=ProgressReporter(job, "Generating synthetic images"),
            load_progress=ProgressReporter(job, "Loading images into the database"),
        )
    except Exception as error:
        job_fail(job, error)
        raise
    job_finish(
        job,
        message=(
            f"{result['images_imported']} images stored, "
            f"{result['images_already_present']} already present"
        ),
        result=result,
    )
