from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = "Models and inference"

    def ready(self) -> None:
        from annotation.signals import demo_data_loaded, exam_completed
        from base.jobs import job_finished
        from inference import tasks  # noqa: F401  (registers the job kinds' tasks)
        from inference.demo import demo_models_start, demo_training_finished
        from inference.inference_jobs import exam_completed_score
        from inference.models import TrainingJob

        exam_completed.connect(exam_completed_score, dispatch_uid="inference-score-new-exams")
        demo_data_loaded.connect(demo_models_start, dispatch_uid="inference-demo-models")
        job_finished.connect(
            demo_training_finished, sender=TrainingJob, dispatch_uid="inference-demo-finish"
        )
