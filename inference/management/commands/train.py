from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from base.models import JobStatus
from inference.models import Architecture, Borderline, TrainingJob
from inference.training import TrainingError, training_job_create, training_job_execute

BAR = 30


def _bar(out: OutputWrapper):
    """The progress bar, redrawn in place on the command's stderr after each epoch."""

    def draw(job: TrainingJob, done: int, total: int) -> None:
        filled = BAR * done // max(total, 1)
        last = job.history[-1] if job.history else {}
        figures = ""
        if last:
            loss, score = last.get("loss", 0), last.get("score", 0)
            figures = f"  loss {loss:.4f}  validation AUC {score:.3f}"
        line = f"\r[{'#' * filled}{'.' * (BAR - filled)}] epoch {done}/{total}{figures}"
        out.write(line, style_func=str, ending="")  # not in stderr's error colour
        out.flush()

    return draw


class Command(BaseCommand):
    help = (
        "Train a model here (not on a worker) as a training job the Models page follows; "
        "the model is registered when it finishes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--model",
            required=True,
            choices=[*Architecture.values, "triage"],
            help="the network; 'triage' trains the triage classifier (a ResNet-18)",
        )
        parser.add_argument("--input-size", type=int, default=128)
        parser.add_argument("--epochs", type=int, default=8)
        parser.add_argument("--batch-size", type=int, default=32)
        parser.add_argument("--learning-rate", type=float, default=0.001)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--borderline", choices=Borderline.values, default=Borderline.MALIGNANT)

    def handle(self, *args, model: str, **options):
        task, architecture = ("triage", "resnet18") if model == "triage" else ("malignancy", model)
        try:
            job = training_job_create(
                task=task,
                architecture=architecture,
                input_size=options["input_size"],
                epochs=options["epochs"],
                batch_size=options["batch_size"],
                learning_rate=options["learning_rate"],
                seed=options["seed"],
                borderline=options["borderline"],
                enqueue=False,
            )
        except TrainingError as error:
            raise CommandError(str(error)) from None
        training_job_execute(job_id=job.pk, on_progress=_bar(self.stderr))
        self.stderr.write("")
        job.refresh_from_db()
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(job.error or job.message)
        self.stdout.write(job.message)
