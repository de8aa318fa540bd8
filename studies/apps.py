from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "studies"
    verbose_name = "Validation and reader studies"

    def ready(self) -> None:
        from annotation.signals import demo_data_loaded
        from inference.selectors import ai_gate_register
        from studies.demo import demo_reader_study_load
        from studies.reading.blinding import ai_gate

        demo_data_loaded.connect(demo_reader_study_load, dispatch_uid="studies-demo-reads")
        # Readers stay blind to the AI output of what they read without AI, everywhere.
        ai_gate_register(ai_gate)
