"""What an image import keeps, and for how long.

Uploaded files carry whole DICOM headers (names, IDs, addresses): they are deleted when their
import ends, succeeded or failed, and those of an import never started
IMPORT_UPLOAD_RETENTION_HOURS after it was created (the job is closed with that reason). A
folder in UPLOAD_DIR whose job has ended or is gone is deleted too (a file that arrived while
its job was closed). A report's file paths (client folders are often named after patient IDs
and accession numbers; only the uploader sees them, `ImportJob.report_for`) are replaced by
placeholders IMPORT_REPORT_PATH_DAYS after the import ended, and so are the command line's
paths.

Every worker of the default queue runs `import_retention_sweep` on its heartbeat (at most
once per SWEEP_SECONDS across workers); `manage.py import_retention_purge` runs it at once.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from annotation.importing.jobs import upload_files_remove
from annotation.models import ImportJob
from annotation.models.jobs import file_hidden
from base.jobs import job_fail
from base.models import JobStatus

SWEEP_SECONDS = 600
SWEEP_KEY = "import-retention-sweep"
UPLOAD_FOLDER = re.compile(r"import-(\d+)")


class UploadExpired(RuntimeError):
    """An import that was never started; its uploaded files were deleted."""


@dataclass
class RetentionResult:
    expired_imports: int = 0  # never started, closed and their files deleted
    upload_folders_removed: int = 0  # of ended or deleted jobs
    reports_cleared: int = 0  # file paths replaced by placeholders

    def as_dict(self) -> dict:
        return asdict(self)


def uploads_expire(*, now: datetime) -> int:
    """Close the imports still receiving files IMPORT_UPLOAD_RETENTION_HOURS after they were
    created, deleting their files; how many."""
    hours = settings.IMPORT_UPLOAD_RETENTION_HOURS
    cutoff = now - timedelta(hours=hours)
    expired = 0
    for job in ImportJob.objects.filter(receiving=True, created_at__lt=cutoff):
        # Conditional: a start request at the same moment either wins or finds it closed.
        if not ImportJob.objects.filter(pk=job.pk, receiving=True).update(receiving=False):
            continue
        job.receiving = False
        upload_files_remove(job)
        job_fail(
            job,
            UploadExpired(
                f"not started within {hours} hours of its creation; its uploaded files were deleted"
            ),
        )
        expired += 1
    return expired


def upload_folders_remove() -> int:
    """Delete the upload folders whose job has ended (or no longer exists); how many."""
    root = Path(settings.UPLOAD_DIR)
    if not root.is_dir():
        return 0
    folders = {}
    for folder in root.iterdir():
        match = UPLOAD_FOLDER.fullmatch(folder.name)
        if match and folder.is_dir():
            folders[int(match.group(1))] = folder
    still = Q(receiving=True) | Q(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
    waiting = set(ImportJob.objects.filter(still, pk__in=folders).values_list("pk", flat=True))
    removed = 0
    for pk, folder in folders.items():
        if pk not in waiting:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def report_paths_purge(*, now: datetime) -> int:
    """Replace the file paths of reports that ended IMPORT_REPORT_PATH_DAYS ago by
    placeholders, and empty the command line's paths; how many jobs."""
    days = settings.IMPORT_REPORT_PATH_DAYS
    cutoff = now - timedelta(days=days)
    cleared = 0
    due = ImportJob.objects.filter(paths_purged_at__isnull=True, finished_at__lt=cutoff)
    for job in due.only("pk", "report", "paths"):
        failed = (job.report or {}).get("failed") or []
        report = {
            **(job.report or {}),
            "failed": [
                file_hidden(failure, f"file {number} (name removed after {days} days)")
                for number, failure in enumerate(failed, start=1)
            ],
        }
        cleared += ImportJob.objects.filter(pk=job.pk, paths_purged_at__isnull=True).update(
            report=report, paths=[], paths_purged_at=now
        )
    return cleared


def import_retention_purge(*, now: datetime | None = None) -> RetentionResult:
    """Everything the retention settings say is due, now."""
    now = now or timezone.now()
    result = RetentionResult()
    result.expired_imports = uploads_expire(now=now)
    result.upload_folders_removed = upload_folders_remove()
    result.reports_cleared = report_paths_purge(now=now)
    return result


def import_retention_sweep() -> RetentionResult | None:
    """import_retention_purge, unless a worker ran it within SWEEP_SECONDS (then None)."""
    if not cache.add(SWEEP_KEY, True, SWEEP_SECONDS):
        return None
    return import_retention_purge()
