"""Import jobs: files arrive (an upload, an API client, the command line), then a worker
imports them with live progress and leaves a report."""

import shutil
from pathlib import Path

from django.conf import settings
from django.utils.text import get_valid_filename

from annotation import services
from annotation.importing.images import ImportFailure, import_paths
from annotation.models import Center, ImportJob, ImportSource
from base.jobs import ProgressReporter, job_claim, job_enqueue, job_fail, job_finish
from base.models import JobStatus


class UploadError(ValueError):
    """An uploaded file name or size the import refuses before storing it."""


def import_job_create(
    *,
    source: ImportSource,
    center: Center | None = None,
    paths: list[str] | None = None,
    receiving: bool = False,
    user=None,
) -> ImportJob:
    """A new import job; queued at once unless it is still receiving files."""
    job = ImportJob.objects.create(
        source=source,
        center=center,
        paths=paths or [],
        receiving=receiving,
        created_by=user,
        message="Receiving files" if receiving else "Queued",
    )
    if receiving:
        job.upload_dir = str(settings.UPLOAD_DIR / f"import-{job.pk}")
        job.save(update_fields=["upload_dir"])
    else:
        job_enqueue(job)
    return job


def _safe_relative(name: str) -> Path:
    """A client-given relative path (a dropped folder keeps its layout), without escapes."""
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
    if not parts or any(part == ".." for part in parts):
        raise UploadError(f"refused file name {name!r}")
    return Path(*[get_valid_filename(part) for part in parts])


def _closed(job: ImportJob) -> UploadError:
    if job.status == JobStatus.FAILED:
        return UploadError(f"this import is closed ({job.error}); start a new one")
    return UploadError("this import has started; start a new one for more files")


def import_job_receive(*, job: ImportJob, name: str, chunks) -> Path:
    """Store one uploaded file of a receiving job under its relative name."""
    if not job.receiving:
        raise _closed(job)
    target = Path(job.upload_dir) / _safe_relative(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as sink:
        for chunk in chunks:
            sink.write(chunk)
    if not ImportJob.objects.filter(pk=job.pk, receiving=True).exists():
        # The retention sweep closed the job while this file arrived: keep nothing of it.
        upload_files_remove(job)
        job.refresh_from_db()
        raise _closed(job)
    return target


def import_job_start(*, job: ImportJob) -> None:
    """No more files: queue the import."""
    updated = ImportJob.objects.filter(pk=job.pk, receiving=True).update(
        receiving=False, message="Queued"
    )
    if not updated:
        job.refresh_from_db()
        if job.status == JobStatus.FAILED:
            raise _closed(job)
        raise UploadError("this import has already started")
    job.refresh_from_db()
    job_enqueue(job)


def upload_files_remove(job: ImportJob) -> bool:
    """Delete the job's uploaded files (never anything outside UPLOAD_DIR); True if any were
    there. The files hold whole DICOM headers, so they must not outlive their import."""
    if not job.upload_dir:
        return False
    folder = Path(job.upload_dir).resolve()
    if not folder.is_relative_to(Path(settings.UPLOAD_DIR).resolve()) or not folder.exists():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def import_job_execute(*, job_id: int) -> None:
    """Run a queued import; does nothing if another worker holds it or it has not started."""
    if ImportJob.objects.filter(pk=job_id, receiving=True).exists():
        return
    job = job_claim(ImportJob, job_id)
    if job is None:
        return
    paths = [Path(p) for p in job.paths] or [Path(job.upload_dir)]
    try:
        report = import_paths(
            paths=paths,
            center_code=job.center.code if job.center else None,
            progress=ProgressReporter(job, "Importing images"),
        )
        # An import job is the whole exam: downstream work may start. (The DICOM receiver
        # imports without jobs and completes its exams after a quiet period.)
        for exam_id in sorted(report.exam_ids):
            services.exam_mark_complete(exam_id=exam_id)
    except ImportFailure as error:
        upload_files_remove(job)  # a failed import is not retried: its files go now
        job_fail(job, error)
        return
    except Exception as error:
        upload_files_remove(job)
        job_fail(job, error)
        raise
    upload_files_remove(job)
    job_finish(
        job,
        message=(
            f"{report.imported} imported, {report.duplicates} already present, "
            f"{len(report.failed)} refused"
        ),
        report=_as_sent(report.as_dict(), job.upload_dir),
    )


def _as_sent(report: dict, upload_dir: str) -> dict:
    """The report with uploaded files named as the client sent them (without our folder)."""
    if not upload_dir:
        return report
    folder = str(Path(upload_dir)) + "/"
    report["failed"] = [
        {
            **failure,
            "file": str(failure.get("file", "")).removeprefix(folder),
            "error": str(failure.get("error", "")).replace(folder, ""),
        }
        for failure in report["failed"]
    ]
    return report
