import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ovarian_web.settings")

# JobTask: a job whose message the broker refuses stays queued in the database, unsent.
app = Celery("ovarian_web", task_cls="base.jobs:JobTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
