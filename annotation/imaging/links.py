"""Signed, expiring links to stored files, served without a session or a query: the one
link scheme of the project (images here, heatmaps in inference.heatmap_links).

The labelling and reading screens fetch one image per answer, the busiest request there is.
Its permission is checked once, by the API call that hands out the link (that call checks
the role and the object); the link then names what it opens, an expiry time and an HMAC of
both, as a pre-signed storage URL does. `sign` makes a token and `verify` reads one back;
a `LinkKind` is signed in, so a link of one kind never opens another, and so is the viewer a
link is bound to, if any (a heatmap), so it opens for no one else. The ASGI server serves
image links before Django (`asgi_with_links`), and a Django view serves the same URLs where
there is no ASGI server (the test client, WSGI).

An image link lives settings.FILE_LINK_SECONDS (minutes) to twice that: it needs no session,
so it works after a logout until then. Its expiry time is rounded up, so links handed out in
the same period are equal and the browser's cache serves a revisited image. That is also how
long a browser keeps an image it was shown (`Cache-Control: private`), so a link exposes
nothing for longer than the cache already does; an image flagged or hidden later gets no
new links. The screens ask for a fresh payload when the links of one they hold expired.
"""

import asyncio
import functools
import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

PREFIX = "/files/"
THREAD_BYTES = 256 * 1024  # larger files are read off the event loop
CHUNK_BYTES = 1024 * 1024
CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


class LinkError(Exception):
    """A link that is malformed, tampered with or expired; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class LinkKind:
    """What a link opens. Its name is signed in, so one kind's link never opens another."""

    name: str
    lifetime_setting: str  # the setting that holds its life in seconds
    # Rounded expiry: one link per period, which the browser caches; it lives one to two
    # lifetimes. Unrounded: it lives exactly one lifetime.
    rounded: bool
    # Between expiry, signature and subject: "/" where the token is the rest of a path,
    # another where it must fit in one path segment.
    separator: str = "/"

    def seconds(self) -> int:
        return getattr(settings, self.lifetime_setting)


FILE = LinkKind("file", "FILE_LINK_SECONDS", rounded=True)


@functools.lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.sha256(b"ovascan image links:" + secret.encode()).digest()


def _signature(kind: LinkKind, subject: str, expires: int, viewer_id: int | None) -> str:
    viewer = "" if viewer_id is None else str(viewer_id)
    message = f"{kind.name}\n{viewer}\n{expires}\n{subject}"
    return hmac.new(_key(settings.SECRET_KEY), message.encode(), hashlib.sha256).hexdigest()[:40]


def sign(
    kind: LinkKind, subject: str, *, viewer_id: int | None = None, now: float | None = None
) -> str:
    """A token that opens `subject` (a storage name, a primary key) for `kind.seconds()`,
    for anyone or, with viewer_id, for that user only."""
    now = int(time.time() if now is None else now)
    seconds = kind.seconds()
    expires = (now // seconds + 2) * seconds if kind.rounded else now + seconds
    join = kind.separator
    return f"{expires}{join}{_signature(kind, subject, expires, viewer_id)}{join}{subject}"


def verify(
    kind: LinkKind, token: str, *, viewer_id: int | None = None, now: float | None = None
) -> tuple[str, int]:
    """(subject, seconds left) of a token `sign` made for this kind and viewer.

    LinkError (404) when malformed, forged, of another kind or for another viewer;
    LinkError (403) when expired.
    """
    parts = token.split(kind.separator, 2)
    if len(parts) != 3 or not parts[0].isdigit():
        raise LinkError("not a file link")
    expires, signature, subject = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(signature, _signature(kind, subject, expires, viewer_id)):
        raise LinkError("not a file link")
    left = expires - int(time.time() if now is None else now)
    if left <= 0:
        raise LinkError("this link has expired: reload the page", status=403)
    return subject, left


def link_seconds() -> int:
    return FILE.seconds()


def file_link(name: str, now: float | None = None) -> str:
    """The signed URL of stored file `name` (a storage name, as FileField keeps it)."""
    return PREFIX + sign(FILE, name, now=now)


def linked_file(path: str, now: float | None = None) -> tuple[Path, str, int]:
    """The file a link's path names (under MEDIA_ROOT; opening it tells whether it is
    there), its content type and the seconds the link stays valid.

    Raises LinkError for anything but a well-formed, unexpired link this server signed.
    """
    if not path.startswith(PREFIX):
        raise LinkError("not a file link")
    name, left = verify(FILE, path[len(PREFIX) :], now=now)
    # Only this server signs links, for storage names; still, none may climb out of media.
    # (Checked on the text: resolving the path costs a system call per folder.)
    if name.startswith("/") or ".." in name.split("/"):
        raise LinkError("no such file")
    target = Path(settings.MEDIA_ROOT, name)
    return target, CONTENT_TYPES.get(target.suffix.lower(), "application/octet-stream"), left


def response_headers(content_type: str, size: int, left: int) -> list[tuple[str, str]]:
    return [
        ("Content-Type", content_type),
        ("Content-Length", str(size)),
        ("Cache-Control", f"private, max-age={left}"),
        ("X-Content-Type-Options", "nosniff"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ]


async def _serve(scope, send) -> None:
    try:
        if scope["method"] not in ("GET", "HEAD"):
            raise LinkError("file links are read with GET", status=405)
        path, content_type, left = linked_file(scope["path"])
    except LinkError as error:
        await _refuse(send, error)
        return
    try:
        handle = path.open("rb")
    except OSError:  # gone, or a folder
        await _refuse(send, LinkError("no such file"))
        return
    with handle:
        await _send_file(scope, send, handle, content_type, left)


async def _refuse(send, error: LinkError) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": str(error).encode()})


async def _send_file(scope, send, handle, content_type: str, left: int) -> None:
    size = os.fstat(handle.fileno()).st_size
    headers = [
        (name.lower().encode(), value.encode())
        for name, value in response_headers(content_type, size, left)
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if scope["method"] == "HEAD":
        await send({"type": "http.response.body", "body": b""})
        return
    if size <= THREAD_BYTES:  # from the page cache, quicker than a thread hop
        await send({"type": "http.response.body", "body": handle.read()})
        return
    while True:
        chunk = await asyncio.to_thread(handle.read, CHUNK_BYTES)
        more = len(chunk) == CHUNK_BYTES
        await send({"type": "http.response.body", "body": chunk, "more_body": more})
        if not more:
            return


def asgi_with_links(app):
    """ASGI middleware: file links are answered here; everything else goes on to `app`."""

    async def application(scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await _serve(scope, send)
        else:
            await app(scope, receive, send)

    return application
