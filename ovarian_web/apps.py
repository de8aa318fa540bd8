from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OvarianWebConfig(AppConfig):
    name = "ovarian_web"
    verbose_name = "Ovarian ultrasound AI"

    def ready(self) -> None:
        from .groups import groups_ensure

        post_migrate.connect(groups_ensure, sender=self)
