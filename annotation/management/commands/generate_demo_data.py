import json
import sys

from django.core.management.base import BaseCommand, CommandError

from annotation.demo import demo_data_generate, demo_data_job_create
from annotation.synthetic import DEFAULT_PATIENTS, GeneratorError


class Command(BaseCommand):
    help = "Generate the synthetic demo data set (DICOM, PNG, clinical CSV) and load it."

    def add_arguments(self, parser):
        parser.add_argument(
            "--patients",
            type=int,
            default=DEFAULT_PATIENTS,
            help=f"number of patients (default {DEFAULT_PATIENTS})",
        )
        parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
        parser.add_argument(
            "--background",
            action="store_true",
            help="queue it as a job for the Celery worker and return at once",
        )

    def handle(self, *args, patients: int, seed: int, background: bool, **options):
        if not 1 <= patients <= 20000:
            raise CommandError(f"--patients must be between 1 and 20000, got {patients}")
        if seed < 0 or seed > 2**31 - 1:
            raise CommandError(f"--seed must be between 0 and 2147483647, got {seed}")
        if background:
            job = demo_data_job_create(patients=patients, seed=seed)
            self.stdout.write(f"Queued demo data job {job.pk}; follow it on /jobs/.")
            return

        def progress(label):
            def report(done: int, total: int) -> None:
                sys.stderr.write(f"\r{label}: {done}/{total}")
                if done == total:
                    sys.stderr.write("\n")

            return report

        try:
            result = demo_data_generate(
                patients=patients,
                seed=seed,
                generate_progress=progress("Generating images"),
            )
        except GeneratorError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(result))
