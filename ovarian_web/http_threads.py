"""How the production server hands HTTP requests to Django: whole, on long-lived threads.

Django's own ASGI handler runs each synchronous middleware hook and signal through its
own hop between the event loop and a thread; measured under load, a bare page cost 8.3 ms
of server CPU that way against 5.5 ms through Django's WSGI handler, which runs the whole
request (middleware, view, signals) in one call. So the event loop reads the request,
one of a few long-lived threads runs Django's WSGI handler on it, and the loop sends the
response: in one piece, or chunk by chunk when it is streamed. Websockets stay on
Channels' ASGI side. Long-lived threads also let a database connection outlive its
request (CONN_MAX_AGE).

The body is read on the event loop before a thread is lent (`read_body`), so a client that
sends slowly, or not at all, holds only its connection: never one of the few threads. The
body is capped (413 at once when Content-Length says it is too long, or as soon as a
chunked body passes the cap) and each read must arrive within a timeout (408 after it).
"""

import asyncio
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from io import BytesIO
from tempfile import SpooledTemporaryFile

from asgiref.sync import ThreadSensitiveContext, async_to_sync, sync_to_async

logger = logging.getLogger(__name__)
SPOOL_BYTES = 1024 * 1024  # request bodies larger than this wait on disk (uploads)
BODY = "ovascan.body"  # the scope key under which RequestThreads hands on the read body


class UploadGate:
    """Which requests may send more than `BodyLimits.max_bytes`, and how much.

    `route` runs on the event loop and must be cheap; `cap` (only asked when `route` said
    yes) runs on a request thread, so it may read the session or the database.
    """

    def route(self, scope: dict) -> bool:
        return False

    def cap(self, scope: dict) -> int | None:
        """The larger cap this request may use, or None for the ordinary one."""
        return None


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int = 4 * 1024 * 1024  # any request the gate gives no larger cap
    read_timeout: float = 30.0  # seconds a client may pause while sending its body
    gate: UploadGate = field(default_factory=UploadGate)


class RequestThreads:
    """ASGI middleware: each HTTP request runs its synchronous code on one of `size`
    long-lived threads, lent to it for the request; other scopes (websockets) pass through.

    The body is read first, within `limits`, and handed on in the scope under BODY (a
    file); only then is a thread lent. A request waits for a free thread when all are
    lent; the event loop goes on serving websockets and reading other bodies meanwhile.
    """

    def __init__(self, app, size: int, limits: BodyLimits | None = None) -> None:
        self.app = app
        self.size = size
        self.limits = limits or BodyLimits()
        self.idle = None  # an asyncio.Queue of executors, made on the server's event loop

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.limits.max_bytes
        if scope["method"] == "POST" and self.limits.gate.route(scope):
            # The headers are all here, so this holds a thread only for a session lookup.
            async with self._thread():
                cap = await sync_to_async(self._cap, thread_sensitive=True)(scope) or cap
        body = await read_body(scope, receive, send, cap, self.limits.read_timeout)
        if body is None:
            return  # answered (413, 408) or the client left
        try:
            async with self._thread():
                await self.app({**scope, BODY: body}, receive, send)
        finally:
            body.close()

    def _cap(self, scope: dict) -> int | None:
        try:
            return self.limits.gate.cap(scope)
        except Exception:  # a failed check leaves the ordinary cap, never a server error
            logger.exception("the upload check failed for %s", scope.get("path"))
            return None

    @asynccontextmanager
    async def _thread(self):
        """Lend a thread: thread-sensitive sync_to_async calls inside run on it."""
        if self.idle is None:
            self.idle = asyncio.Queue()
            for number in range(self.size):
                self.idle.put_nowait(
                    ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"request-{number}")
                )
        executor = await self.idle.get()
        try:
            async with ThreadSensitiveContext(executor=executor):
                yield
        finally:
            self.idle.put_nowait(executor)


def _declared_length(scope: dict) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server's parser refuses these before us
    return None


async def refuse(send, status: int, message: str) -> None:
    """A plain-text answer that also closes the connection: the rest of the body, if the
    client goes on sending it, is not read."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": message.encode()})


async def read_body(scope: dict, receive, send, cap: int, read_timeout: float):
    """The request body as a file at position 0 (memory, or disk past SPOOL_BYTES); or None
    once the request is answered (413 past `cap`, 408 after `read_timeout` seconds without
    data) or the client has left."""
    declared = _declared_length(scope)
    if declared is not None and declared > cap:
        await refuse(send, 413, f"The request body is {declared} bytes; the limit here is {cap}.")
        return None
    body = BytesIO()
    size = 0
    while True:
        try:
            message = await asyncio.wait_for(receive(), read_timeout)
        except TimeoutError:
            body.close()
            await refuse(send, 408, f"No part of the request body came for {read_timeout:g} s.")
            return None
        if message["type"] == "http.disconnect":
            body.close()
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            body.close()
            await refuse(send, 413, f"The request body is over the limit here ({cap} bytes).")
            return None
        body.write(chunk)
        if size > SPOOL_BYTES and isinstance(body, BytesIO):
            spooled = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115  # caller closes
            spooled.write(body.getvalue())
            body = spooled
        if not message.get("more_body"):
            body.seek(0)
            return body


def wsgi_environ(scope: dict, body) -> dict:
    """The WSGI environ of an ASGI HTTP scope (PEP 3333), with `body` as wsgi.input."""
    root = scope.get("root_path", "")
    path = scope["path"]
    if root and path.startswith(root):
        path = path[len(root) :]
    server = scope.get("server") or ("localhost", 80)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root.encode().decode("latin1"),
        "PATH_INFO": path.encode().decode("latin1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin1"),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if scope.get("client"):
        environ["REMOTE_ADDR"] = scope["client"][0]
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin1").upper().replace("-", "_")
        if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = f"HTTP_{name}"
        value = raw_value.decode("latin1")
        environ[name] = f"{environ[name]},{value}" if name in environ else value
    return environ


class WsgiOnThreads:
    """ASGI application that runs a WSGI application (Django's) on the request's thread
    (within RequestThreads, which reads the body) and sends its response from the event loop."""

    def __init__(self, wsgi_application) -> None:
        self.wsgi_application = wsgi_application

    async def __call__(self, scope, receive, send) -> None:
        body = scope[BODY]  # read (and closed) by RequestThreads
        environ = wsgi_environ(scope, body)
        # The whole body is here: its length is known even when it came in chunks.
        environ.setdefault("CONTENT_LENGTH", str(body.seek(0, 2)))
        body.seek(0)
        start, content = await sync_to_async(self._run, thread_sensitive=True)(environ, send)
        if start is not None:  # not streamed: everything comes back here, sent in one piece
            await send(start)
            await send({"type": "http.response.body", "body": content})

    def _run(self, environ: dict, send) -> tuple[dict | None, bytes]:
        started: dict = {}

        def start_response(status: str, headers: list, exc_info=None) -> None:
            if exc_info and started.get("sent"):
                raise exc_info[1].with_traceback(exc_info[2])
            started["message"] = {
                "type": "http.response.start",
                "status": int(status.split(" ", 1)[0]),
                "headers": [
                    # Django's Set-Cookie values start with a space (cookie.output(header=""))
                    (name.lower().encode("latin1"), value.strip().encode("latin1"))
                    for name, value in headers
                ],
            }

        result = self.wsgi_application(environ, start_response)
        head = environ["REQUEST_METHOD"] == "HEAD"
        try:
            if not getattr(result, "streaming", False):
                return started["message"], b"" if head else b"".join(result)
            # Streamed (file downloads, exports): each chunk goes out as it is made.
            started["sent"] = True
            send_from_thread = async_to_sync(send)
            send_from_thread(started["message"])
            for chunk in () if head else result:
                if chunk:
                    more = {"type": "http.response.body", "body": chunk, "more_body": True}
                    send_from_thread(more)
        finally:
            if hasattr(result, "close"):
                result.close()  # Django's request_finished: connections and caches tidied
        send_from_thread({"type": "http.response.body", "body": b""})
        return None, b""
