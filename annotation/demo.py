"""The synthetic demo data set: generated, then loaded through the real acquisition path.

Centres come from the generator's manifest; the clinical CSV goes through the clinical
importer and the DICOM files through the image import, exactly as a hospital's would.
Both are idempotent, so loading twice adds nothing.
"""

import json
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

from annotation import services
from annotation.demo_labels import demo_labels_load
from annotation.importing.clinical import clinical_csv_import
from annotation.importing.jobs import import_job_execute
from annotation.models import DemoDataJob, ImportJob, ImportSource
from annotation.signals import demo_data_loaded
from annotation.synthetic import generate_dataset
from base.jobs import ProgressReporter, job_claim, job_enqueue, job_fail, job_finish, job_retry

Progress = Callable[[int, int], None]


def _manifest(data_dir: Path, patients: int, seed: int, progress: Progress | None) -> dict:
    """The data set for these parameters, generated unless it is already on disk."""
    manifest_path = data_dir / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("seed") == seed and manifest.get("patient_count") == patients:
            return manifest
    return generate_dataset(data_dir, patients=patients, seed=seed, progress=progress)


def centers_from_manifest(manifest: dict) -> None:
    """The generator's centres; a hospital adds its own in the admin."""
    for center in manifest["centers"]:
        services.center_upsert(
            code=center["code"],
            name=center["name"],
            is_internal=center["is_internal"],
            is_oncology_center=center["is_oncology_center"],
        )


def demo_data_generate(
    *,
    patients: int,
    seed: int,
    data_dir: Path | None = None,
    generate_progress: Progress | None = None,
    user=None,
) -> dict:
    """Generate (or reuse) the data set and import it; returns what each step did."""
    data_dir = data_dir or settings.DEMO_DATA_DIR
    manifest = _manifest(data_dir, patients, seed, generate_progress)
    centers_from_manifest(manifest)
    clinical = clinical_csv_import(data=(data_dir / "clinical.csv").read_bytes())
    if not clinical.imported:
        raise ValueError(f"the generated clinical CSV was refused: {clinical.errors[:3]}")
    job = ImportJob.objects.create(
        source=ImportSource.DEMO,
        paths=[str(data_dir / "dicom")],
        created_by=user,
        message="Queued",
    )
    import_job_execute(job_id=job.pk)
    job.refresh_from_db()
    if job.status != "succeeded":
        raise ValueError(f"the demo image import failed: {job.error}")
    trainee = get_user_model().objects.filter(username="radiologist").first()
    labels = demo_labels_load(data_dir=data_dir, trainee=trainee)
    demo_data_loaded.send(sender=DemoDataJob, data_dir=data_dir)
    return {
        "labels": labels,
        "centers": len(manifest["centers"]),
        "patients": len(manifest["patients"]),
        "exams": len(manifest["exams"]),
        "clinical": clinical.as_dict(),
        "import_job": job.pk,
        "images_imported": job.report["imported"],
        "images_already_present": job.report["duplicates"],
        "files_refused": len(job.report["failed"]),
    }


def demo_data_job_create(*, patients: int, seed: int, user=None) -> DemoDataJob:
    job = DemoDataJob.objects.create(
        patients=patients, seed=seed, created_by=user, message="Queued"
    )
    job_enqueue(job)
    return job


def demo_data_job_retry(*, job: DemoDataJob) -> None:
    job_retry(job)


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
            user=job.created_by,
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
