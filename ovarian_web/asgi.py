import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ovarian_web.settings")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: the routing pulls in consumers and models.
from channels.routing import ProtocolTypeRouter  # noqa: E402

from annotation.imaging.links import asgi_with_links  # noqa: E402
from ovarian_web.routing import websocket_application  # noqa: E402

# Daphne (the demo) and the tests; production runs local_services.production_application.
application = ProtocolTypeRouter(
    {"http": asgi_with_links(django_asgi_app), "websocket": websocket_application}
)
