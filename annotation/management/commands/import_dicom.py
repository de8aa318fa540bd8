import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.importing.images import ImportFailure
from annotation.importing.jobs import import_job_execute
from annotation.models import Center, ImportJob, ImportSource
from base.models import JobStatus


class Command(BaseCommand):
    help = (
        "Import DICOM, PNG and JPEG files, folders (recursively) and zip archives. "
        "Runs here, as an import job that the Jobs page follows live."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--center", help="centre code for exams that do not exist yet")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print the report as JSON"
        )

    def handle(self, *args, paths: list[Path], center: str | None, as_json: bool, **options):
        center_row = None
        if center:
            center_row = Center.objects.filter(code=center).first()
            if center_row is None:
                known = ", ".join(Center.objects.values_list("code", flat=True)) or "none yet"
                raise CommandError(f"unknown centre code {center!r} (known: {known})")
        job = ImportJob.objects.create(
            source=ImportSource.COMMAND,
            center=center_row,
            paths=[str(path.resolve()) for path in paths],
            message="Starting",
        )
        try:
            import_job_execute(job_id=job.pk)
        except ImportFailure as error:
            raise CommandError(str(error)) from None
        job.refresh_from_db()
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(f"the import could not run: {job.error}")
        if as_json:
            self.stdout.write(json.dumps(job.report))
            return
        report = job.report
        self.stdout.write(
            f"{report['imported']} images imported, {report['duplicates']} already present, "
            f"{len(report['failed'])} files refused"
        )
        for failure in report["failed"]:
            sys.stderr.write(f"  {failure['file']}: {failure['error']}\n")
