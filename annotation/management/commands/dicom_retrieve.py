import json
import logging
import sys
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from annotation.importing.images import ImportFailure
from annotation.models import Center
from annotation.pacs.query import Pacs, PacsError, studies_retrieve, study_date_range


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)  # YYYY-MM-DD, or DICOM's YYYYMMDD
    except ValueError:
        raise CommandError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Ask a PACS for the ultrasound studies of a date range and/or patients (C-FIND), then "
        "have them sent to our listener (C-MOVE, the default) or fetch them here (--get)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", help="first study date, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", help="last study date, YYYY-MM-DD")
        parser.add_argument(
            "--patient",
            dest="patients",
            action="append",
            default=[],
            help="hospital patient ID (repeatable)",
        )
        parser.add_argument(
            "--get", action="store_true", help="C-GET: import here instead of C-MOVE"
        )
        parser.add_argument(
            "--move-to",
            default=settings.DICOM_AE_TITLE,
            help="C-MOVE destination AE title (default: ours, DICOM_AE_TITLE)",
        )
        parser.add_argument("--center", default=settings.DICOM_DEFAULT_CENTER)
        parser.add_argument("--pacs-host", default=settings.DICOM_PACS_HOST)
        parser.add_argument("--pacs-port", type=int, default=settings.DICOM_PACS_PORT)
        parser.add_argument("--pacs-ae", default=settings.DICOM_PACS_AE_TITLE)
        parser.add_argument("--timeout", type=float, default=30, help="seconds per DICOM step")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args, date_from, date_to, patients, **options):
        start = _date(date_from) if date_from else None
        end = _date(date_to) if date_to else None
        if start and end and start > end:
            raise CommandError("--from is after --to")
        if not (start or end or patients):
            raise CommandError("give --from/--to and/or --patient: not the whole PACS at once")
        center = options["center"]
        if options["get"] and center and not Center.objects.filter(code=center).exists():
            raise CommandError(f"unknown centre code {center!r}")
        logging.getLogger("pynetdicom").setLevel(logging.WARNING)
        try:
            summary = studies_retrieve(
                pacs=Pacs(options["pacs_host"], options["pacs_port"], options["pacs_ae"]),
                calling_ae_title=settings.DICOM_AE_TITLE,
                study_date=study_date_range(start, end),
                patient_ids=patients,
                use_get=options["get"],
                move_destination=options["move_to"],
                center_code=center,
                spool_dir=settings.DICOM_SPOOL_DIR,
                timeout=options["timeout"],
            )
        except (PacsError, ImportFailure) as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(summary.as_dict()))
            return
        line = f"{summary.studies_found} ultrasound studies found, {summary.studies_retrieved} "
        if summary.method == "get":
            line += (
                f"retrieved: {summary.images_received} images received, {summary.imported} "
                f"imported, {summary.duplicates} already present, {len(summary.failed)} refused"
            )
        else:
            line += (
                f"moved to {options['move_to']}: the PACS sent {summary.images_received} images "
                f"({summary.images_failed} failed); the listener imports them"
            )
        self.stdout.write(line)
        for failure in summary.failed:
            where = failure.get("file") or failure.get("study")
            sys.stderr.write(f"  {where}: {failure['error']}\n")
