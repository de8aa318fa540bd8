import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.importing.clinical import (
    ClinicalImportError,
    ClinicalImportReport,
    clinical_csv_import,
)
from annotation.importing.clinical_csv import MAX_FILE_BYTES


class Command(BaseCommand):
    help = (
        "Import clinical data from a CSV (docs/clinical_csv.md), one row per exam. "
        "A file with any bad row imports nothing unless --skip-invalid is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the clinical CSV")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print one JSON object"
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="import the good rows and report the bad ones, instead of importing nothing",
        )

    def handle(self, *args, file: Path, as_json: bool, skip_invalid: bool, **options):
        try:
            with file.open("rb") as handle:
                # One byte past the limit is enough for the importer to refuse the file.
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror or error}") from None
        try:
            report = clinical_csv_import(data=data, skip_invalid=skip_invalid)
        except ClinicalImportError as error:
            raise CommandError(str(error)) from None
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
        else:
            self.stdout.write(_summary(report))


def _summary(report: ClinicalImportReport) -> str:
    if report.imported:
        head = (
            f"Imported: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.skipped} bad rows skipped."
        )
    else:
        head = f"Nothing imported: {len(report.errors)} error(s); fix the file and import again."
    lines = [head]
    for error in report.errors:
        column = f", column {error['column']}" if error["column"] else ""
        lines.append(f"line {error['line']}{column}: {error['message']}")
    return "\n".join(lines)
