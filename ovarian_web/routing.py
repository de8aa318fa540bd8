import logging

import redis
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from annotation.consumers import LabellingDashboardConsumer
from base.consumers import JobConsumer
from inference.consumers import ExamResultConsumer
from studies.consumers import ReaderStudyProgressConsumer

websocket_urlpatterns = [
    path("ws/jobs/", JobConsumer.as_asgi()),
    path("ws/annotation-sets/<int:set_id>/", LabellingDashboardConsumer.as_asgi()),
    path("ws/exam-results/", ExamResultConsumer.as_asgi()),
    path("ws/reader-studies/<int:study_id>/", ReaderStudyProgressConsumer.as_asgi()),
]

log = logging.getLogger(__name__)

# "Try again later": the page's script shows its live updates paused and reconnects.
CLOSE_TRY_AGAIN_LATER = 1013


class ChannelLayerOutage:
    """ASGI middleware: a socket whose consumer loses the channel layer (Redis down) is
    closed with 1013, in one log line, rather than failing with a traceback per socket."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        try:
            await self.app(scope, receive, send)
        except (redis.RedisError, OSError) as error:
            log.warning(
                "websocket %s closed, the channel layer is unreachable: %s", scope["path"], error
            )
            try:
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
            except Exception:  # noqa: S110  (the socket may be gone already)
                pass


# The websockets of every server: daphne (ovarian_web.asgi) and production (local_services).
websocket_application = ChannelLayerOutage(
    AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
)
