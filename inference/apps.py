from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = "Models and inference"

    def ready(self) -> None:
        from annotation.signals import demo_data_loaded, exam_completed
        from inference.demo import demo_models_start
        from inference.inference_jobs import exam_completed_score

        exam_completed.connect(exam_completed_score, dispatch_uid="inference-score-new-exams")
        demo_data_loaded.connect(demo_models_start, dispatch_uid="inference-demo-models")
