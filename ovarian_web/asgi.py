import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ovarian_web.settings")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: the routing pulls in consumers and models.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from annotation.image_links import asgi_with_links  # noqa: E402

from .routing import websocket_urlpatterns  # noqa: E402

websocket_application = AllowedHostsOriginValidator(
    AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
)
# Daphne (the demo) and the tests; production runs local_services.production_application.
application = ProtocolTypeRouter(
    {"http": asgi_with_links(django_asgi_app), "websocket": websocket_application}
)
