from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OvarianWebConfig(AppConfig):
    name = "ovarian_web"
    verbose_name = "Ovarian ultrasound AI"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from ovarian_web.groups import groups_ensure
        from ovarian_web.session_guard import last_seen_stamp

        post_migrate.connect(groups_ensure, sender=self)
        user_logged_in.connect(last_seen_stamp, dispatch_uid="last_seen_stamp")
