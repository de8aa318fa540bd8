from django.core.management.base import BaseCommand, CommandError

from annotation.models import Exam
from base.models import JobStatus
from inference.inference_jobs import NoModelInService, inference_job_create, inference_job_execute


class Command(BaseCommand):
    help = "Score exams here with the ensemble in service (exams already scored are left as is)."

    def add_arguments(self, parser):
        parser.add_argument("exam_ids", nargs="*", type=int)
        parser.add_argument("--center", help="every exam of this centre code")
        parser.add_argument("--all", action="store_true", help="every exam with images")

    def handle(self, *args, exam_ids: list[int], center: str | None, all: bool, **options):
        exams = Exam.objects.filter(images__isnull=False)
        if center:
            exams = exams.filter(center__code=center)
        elif not all:
            exams = exams.filter(pk__in=exam_ids)
        ids = sorted(set(exams.values_list("pk", flat=True)))
        if not ids:
            raise CommandError("No exams to score: give exam ids, --center or --all.")
        try:
            job = inference_job_create(exam_ids=ids, scope="command line", enqueue=False)
        except NoModelInService as error:
            raise CommandError(str(error)) from None
        inference_job_execute(job_id=job.pk)
        job.refresh_from_db()
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(job.error)
        self.stdout.write(job.message)
