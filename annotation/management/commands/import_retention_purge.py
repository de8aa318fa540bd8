import json

from django.core.management.base import BaseCommand

from annotation.importing.retention import import_retention_purge


class Command(BaseCommand):
    help = (
        "Delete uploaded files of imports never started within IMPORT_UPLOAD_RETENTION_HOURS "
        "or already ended, and remove file paths from reports older than "
        "IMPORT_REPORT_PATH_DAYS. Workers do this on their own every few minutes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, as_json: bool, **options):
        result = import_retention_purge()
        if as_json:
            self.stdout.write(json.dumps(result.as_dict()))
            return
        self.stdout.write(
            f"{result.expired_imports} imports never started closed, "
            f"{result.upload_folders_removed} other upload folders deleted, "
            f"{result.reports_cleared} reports cleared of file paths."
        )
