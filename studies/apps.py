from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "studies"
    verbose_name = "Validation and reader studies"

    def ready(self) -> None:
        from annotation.signals import demo_data_loaded

        from .demo import demo_reader_study_load

        demo_data_loaded.connect(demo_reader_study_load, dispatch_uid="studies-demo-reads")
