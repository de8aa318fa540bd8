"""The demo's models: trained in the background once the demo data is in, then put in service.

Triage (ResNet-18) and the two malignancy networks train at 128 px on the CPU; when both
malignancy models are registered, their ensemble goes into service and every exam is scored.
"""

import logging

from django.conf import settings

from inference.inference_jobs import inference_job_create
from inference.models import Architecture, Ensemble, ModelTask, TrainingJob
from inference.registry import ensemble_create, triage_put_in_service
from inference.training import training_job_create

log = logging.getLogger(__name__)

DEMO_JOBS = (
    (ModelTask.TRIAGE, Architecture.RESNET18),
    (ModelTask.MALIGNANCY, Architecture.RESNET50),
    (ModelTask.MALIGNANCY, Architecture.DARKNET19),
)


def demo_models_start(sender=None, **kwargs) -> list[TrainingJob]:
    """Queue the demo's training jobs, once (again only if the last ones failed)."""
    started = []
    for task, architecture in DEMO_JOBS:
        previous = TrainingJob.objects.filter(demo=True, task=task, architecture=architecture)
        if previous.exclude(status="failed").exists():
            continue
        job = training_job_create(
            task=task,
            architecture=architecture,
            input_size=128,
            epochs=settings.DEMO_TRAINING_EPOCHS,
            seed=1,
            demo=True,  # set on creation: outside a transaction a worker may claim it at once
        )
        started.append(job)
    return started


def demo_training_finished(sender, job: TrainingJob, **kwargs) -> None:
    """base.jobs.job_finished receiver: the demo's follow-up of its own training jobs."""
    if job.demo:
        demo_models_finish(job)


def demo_models_finish(job: TrainingJob) -> Ensemble | None:
    """After a demo job: triage into service; both malignancy models ready → the ensemble."""
    if not job.demo or job.result is None:
        return None
    if job.task == ModelTask.TRIAGE:
        triage_put_in_service(version=job.result)
        return None
    done = {
        j.architecture: j.result
        for j in TrainingJob.objects.filter(
            demo=True, task=ModelTask.MALIGNANCY, result__isnull=False
        ).select_related("result")
    }
    resnet, darknet = done.get(Architecture.RESNET50), done.get(Architecture.DARKNET19)
    if resnet is None or darknet is None or Ensemble.objects.exists():
        return None
    try:
        ensemble = ensemble_create(resnet=resnet, darknet=darknet, in_service=True)
    except ValueError as error:  # RegistryError, or AUCs the weights refuse (an AUC of 0)
        # The job itself succeeded; its message says why the demo has no ensemble yet.
        log.warning("The demo's ensemble was not made: %s", error)
        job.message = f"{job.message}; the demo's ensemble was not made: {error}"
        job.save(update_fields=["message", "updated_at"])
        return None
    from annotation.models import Exam

    exams = list(Exam.objects.filter(images__isnull=False).distinct().values_list("pk", flat=True))
    inference_job_create(exam_ids=exams, scope="demo: every exam", ensemble=ensemble)
    return ensemble
