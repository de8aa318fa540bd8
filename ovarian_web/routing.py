from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from inference.consumers import ExamResultConsumer
from studies.consumers import ReaderStudyProgressConsumer

from .consumers import JobConsumer, LabellingDashboardConsumer

websocket_urlpatterns = [
    path("ws/jobs/", JobConsumer.as_asgi()),
    path("ws/annotation-sets/<int:set_id>/", LabellingDashboardConsumer.as_asgi()),
    path("ws/exam-results/", ExamResultConsumer.as_asgi()),
    path("ws/reader-studies/<int:study_id>/", ReaderStudyProgressConsumer.as_asgi()),
]

# The websockets of every server: daphne (ovarian_web.asgi) and production (local_services).
websocket_application = AllowedHostsOriginValidator(
    AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
)
