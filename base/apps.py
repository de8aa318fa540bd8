from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BaseConfig(AppConfig):
    name = "base"
    # The label the access log's table and migrations were created under; kept so the
    # database does not change when the shared plumbing moved out of the project root.
    label = "ovarian_web"
    verbose_name = "Ovarian ultrasound AI"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from base.groups import groups_ensure
        from base.session_guard import last_seen_stamp

        post_migrate.connect(groups_ensure, sender=self)
        user_logged_in.connect(last_seen_stamp, dispatch_uid="last_seen_stamp")
