from django.core.management.base import BaseCommand

from annotation.demo import demo_data_job_create
from annotation.models import DemoDataJob
from annotation.synthetic import DEFAULT_PATIENTS
from base.jobs import job_enqueue
from base.models import JobStatus


class Command(BaseCommand):
    help = "Queue the demo data job unless the same data set is loaded or on its way."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=DEFAULT_PATIENTS)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, patients: int, seed: int, **options):
        existing = DemoDataJob.objects.filter(
            patients=patients,
            seed=seed,
            status__in=[JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED],
        ).first()
        if existing is not None and existing.status == JobStatus.SUCCEEDED:
            self.stdout.write(f"Demo data already loaded (job {existing.pk}).")
            return
        if existing is not None:
            # Left by an earlier demo whose worker is gone: queue it again for the new worker.
            DemoDataJob.objects.filter(pk=existing.pk).update(status=JobStatus.QUEUED)
            job_enqueue(existing)
            self.stdout.write(f"Demo data job {existing.pk} sent to the worker again.")
            return
        job = demo_data_job_create(patients=patients, seed=seed)
        self.stdout.write(
            f"Demo data job {job.pk} queued: it loads while the site is up "
            "(progress on the Jobs page)."
        )
