"""The production server's HTTP path: Django's WSGI handler on long-lived request threads,
each body read and capped before a thread is lent."""

import asyncio
import http.client
import select
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.test import Client
from django.urls import reverse
from knox.models import AuthToken

from annotation.importing import clinical_csv
from annotation.models import ImportJob, ImportSource
from base.roles import Role
from ovarian_web.http_threads import BodyLimits, RequestThreads, WsgiOnThreads, wsgi_environ
from ovarian_web.local_services import (
    REQUEST_THREADS,
    free_port,
    production_application,
    uvicorn_command,
    wait_for_port,
)
from ovarian_web.upload_gate import FORM_BYTES, UPLOAD_ROUTES, RoleUploadGate
from tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parents[2]

HOST = (b"host", b"testserver")


def test_the_environ_follows_pep_3333():
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/app/labels/é",
        "root_path": "/app",
        "query_string": b"a=1&b=2",
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("10.0.0.9", 5555),
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", b"2"),
            (b"x-forwarded-for", b"1.1.1.1"),
            (b"x-forwarded-for", b"2.2.2.2"),
        ],
    }
    environ = wsgi_environ(scope, None)
    assert environ["SCRIPT_NAME"] == "/app"
    assert environ["PATH_INFO"] == "/labels/é".encode().decode("latin1")
    assert environ["QUERY_STRING"] == "a=1&b=2"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["CONTENT_LENGTH"] == "2"
    assert environ["HTTP_X_FORWARDED_FOR"] == "1.1.1.1,2.2.2.2"
    assert environ["REMOTE_ADDR"] == "10.0.0.9"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("127.0.0.1", "8000")


class Streamed:
    """A tiny WSGI app: echoes the body, streamed in two chunks when asked; notes close()."""

    def __init__(self) -> None:
        self.closed = 0
        self.threads: set[str] = set()

    def __call__(self, environ, start_response):
        self.threads.add(threading.current_thread().name)
        body = environ["wsgi.input"].read()
        start_response("201 Created", [("Content-Type", "text/plain")])
        app = self

        class Result:
            streaming = environ["QUERY_STRING"] == "stream"

            def __iter__(self):
                return iter([body[:3], body[3:]])

            def close(self):
                app.closed += 1

        return Result()


async def _call(app, method, path, body=b"", headers=()):
    communicator = HttpCommunicator(app, method, path, body=body, headers=[HOST, *headers])
    return await communicator.get_response(timeout=10)


@pytest.mark.parametrize("query", ["", "stream"])
async def test_bodies_go_in_and_come_out_whole_or_streamed_and_the_result_is_closed(query):
    wsgi = Streamed()
    app = RequestThreads(WsgiOnThreads(wsgi), size=2)
    payload = b"x" * (2 * 1024 * 1024) + b"end"  # past the in-memory limit: spooled
    response = await _call(app, "POST", f"/echo?{query}", body=payload)
    assert response["status"] == 201
    assert response["body"] == payload
    head = await _call(app, "HEAD", f"/echo?{query}", body=b"abcdef")
    assert head["status"] == 201 and head["body"] == b""
    assert wsgi.closed == 2
    assert wsgi.threads <= {"request-0_0", "request-1_0"}  # the long-lived threads only


@pytest.mark.django_db(transaction=True)
async def test_django_signs_in_through_the_production_application():
    from asgiref.sync import sync_to_async

    await sync_to_async(UserFactory)(username="reader")
    app = production_application()
    page = await _call(app, "GET", reverse("login"))
    assert page["status"] == 200
    cookies = [value for name, value in page["headers"] if name == b"set-cookie"]
    csrf = next(c for c in cookies if c.startswith(b"csrftoken=")).split(b";")[0]
    token = csrf.split(b"=", 1)[1].decode()
    form = f"username=reader&password={PASSWORD}&csrfmiddlewaretoken={token}".encode()
    signed_in = await _call(
        app,
        "POST",
        reverse("login"),
        body=form,
        headers=[
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"cookie", csrf),
        ],
    )
    assert signed_in["status"] == 302
    assert any(value.startswith(b"sessionid=") for name, value in signed_in["headers"])


class Scripted:
    """An ASGI client side: the body messages it will give, and what the app sent back."""

    def __init__(self, chunks: list[bytes] | None, *, silent: bool = False) -> None:
        self.chunks = list(chunks or [])
        self.silent = silent
        self.reads = 0
        self.sent: list[dict] = []

    async def receive(self) -> dict:
        self.reads += 1
        if self.silent:
            await asyncio.Event().wait()  # a client that never sends
        chunk = self.chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}

    async def send(self, message: dict) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return self.sent[0]["status"]


def _post_scope(headers=()) -> dict:
    return {"type": "http", "method": "POST", "path": "/x", "headers": [HOST, *headers]}


async def test_a_declared_oversized_body_gets_413_without_being_read():
    wsgi = Streamed()
    app = RequestThreads(WsgiOnThreads(wsgi), size=1, limits=BodyLimits(max_bytes=1000))
    client = Scripted([b"abc"])
    await app(_post_scope([(b"content-length", b"100000000")]), client.receive, client.send)
    assert client.status == 413 and client.reads == 0
    assert (b"connection", b"close") in client.sent[0]["headers"]
    assert b"100000000 bytes" in client.sent[1]["body"]
    assert wsgi.threads == set()  # never reached a request thread


async def test_a_chunked_body_gets_413_as_soon_as_it_passes_the_cap():
    wsgi = Streamed()
    app = RequestThreads(WsgiOnThreads(wsgi), size=1, limits=BodyLimits(max_bytes=1000))
    client = Scripted([b"x" * 600] * 10)
    await app(_post_scope(), client.receive, client.send)
    assert client.status == 413 and client.reads == 2  # the second chunk passed the cap
    assert wsgi.threads == set()


async def test_a_client_that_stops_sending_its_body_gets_408():
    wsgi = Streamed()
    limits = BodyLimits(max_bytes=1000, read_timeout=0.05)
    app = RequestThreads(WsgiOnThreads(wsgi), size=1, limits=limits)
    client = Scripted(None, silent=True)
    await app(_post_scope([(b"content-length", b"10")]), client.receive, client.send)
    assert client.status == 408 and wsgi.threads == set()


def test_every_upload_route_resolves():
    from django.urls import resolve

    for name in UPLOAD_ROUTES:
        path = reverse(name, args=[1]) if name == "import-files" else reverse(name)
        assert resolve(path).view_name == name


def _auth_scope(path: str, *, cookie: str = "", token: str = "") -> dict:
    headers = [HOST]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    if token:
        headers.append((b"authorization", f"Token {token}".encode()))
    return {"type": "http", "method": "POST", "path": path, "headers": headers}


@pytest.mark.django_db(transaction=True)  # the gate tidies connections as a request does
def test_the_upload_gate_gives_the_large_cap_only_to_signed_in_roles_that_may_upload():
    gate = RoleUploadGate(upload_bytes=5_000_000)
    files = reverse("import-files", args=[7])
    assert gate.route(_auth_scope(files)) and not gate.route(_auth_scope(reverse("login")))
    assert gate.cap(_auth_scope(files)) is None  # anonymous
    for role, cap in ((Role.COORDINATOR, 5_000_000), (Role.RADIOLOGIST, None)):
        user = UserFactory(role=role)
        client = Client()
        client.force_login(user)
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        assert gate.cap(_auth_scope(files, cookie=cookie)) == cap
        _, token = AuthToken.objects.create(user)
        assert gate.cap(_auth_scope(files, token=token)) == cap
        assert gate.cap(_auth_scope(files, token=token[:-4] + "0000")) is None
        assert gate.cap(_auth_scope(files, cookie="sessionid=forged")) is None
    admin = Client()
    admin.force_login(UserFactory(role=Role.ADMINISTRATOR))
    cookie = f"sessionid={admin.cookies['sessionid'].value}"
    clinical = gate.cap(_auth_scope(reverse("annotation:clinical_upload"), cookie=cookie))
    assert clinical == clinical_csv.MAX_FILE_BYTES + FORM_BYTES  # that page's own cap


def _multipart(name: str, data: bytes) -> tuple[bytes, bytes]:
    boundary = "----upload-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}".encode()


@pytest.mark.django_db(transaction=True)
async def test_only_importers_may_send_an_upload_larger_than_the_ordinary_cap(settings, tmp_path):
    settings.HTTP_MAX_BODY_BYTES = 64 * 1024
    settings.HTTP_MAX_UPLOAD_BYTES = 1024 * 1024
    settings.UPLOAD_DIR = tmp_path
    coordinator = await sync_to_async(UserFactory)(role=Role.COORDINATOR)
    radiologist = await sync_to_async(UserFactory)(role=Role.RADIOLOGIST)
    job = await sync_to_async(ImportJob.objects.create)(
        source=ImportSource.API, receiving=True, upload_dir=str(tmp_path / "job")
    )
    body, content_type = _multipart("big.dcm", b"x" * 200_000)
    app = production_application()

    async def post(user) -> dict:
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        if user is not None:
            _, token = await sync_to_async(AuthToken.objects.create)(user)
            headers.append((b"authorization", f"Token {token}".encode()))
        path = reverse("import-files", args=[job.pk])
        return await _call(app, "POST", path, body=body, headers=headers)

    assert (await post(None))["status"] == 413
    assert (await post(radiologist))["status"] == 413
    received = await post(coordinator)
    assert received["status"] == 201, received["body"]
    assert (tmp_path / "job" / "big.dcm").stat().st_size == 200_000


@pytest.fixture
def production_server(server_env):
    """The production server (uvicorn, production_application) on the test database; slow
    clients are never timed out while a test holds them."""
    env = {**server_env, "HTTP_BODY_TIMEOUT_SECONDS": "3600", "HTTP_MAX_BODY_BYTES": "262144"}
    port = free_port()
    process = subprocess.Popen(
        uvicorn_command("127.0.0.1", port, workers=1),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process=process, seconds=180)  # a busy machine starts slowly
        yield port
    finally:
        process.kill()
        process.wait()


def _connect(port: int) -> socket.socket:
    # The timeout only stops a hung test; no assertion depends on how long anything takes.
    return socket.create_connection(("127.0.0.1", port), timeout=120)


def _status(sock: socket.socket) -> int:
    """The status code of the next response (or 100 Continue) on the socket."""
    head = b""
    while b"\r\n" not in head:
        data = sock.recv(4096)
        if not data:
            break
        head += data
    return int(head.split(b" ", 2)[1])


def test_slow_clients_hold_no_request_thread_of_the_production_server(production_server):
    port = production_server
    slow = []
    for _ in range(3 * REQUEST_THREADS):
        sock = _connect(port)
        sock.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 1000\r\nExpect: 100-continue\r\n\r\n"
        )
        # The server asks for the body once its application reads it (before, that was
        # only once a request thread was free: the ninth client waited here for ever).
        assert _status(sock) == 100
        sock.sendall(b"a=b")  # 3 of the 1000 bytes, and then nothing
        slow.append(sock)
    page = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    page.request("GET", "/accounts/login/")
    assert page.getresponse().status == 200
    still_held = [sock for sock in slow if not select.select([sock], [], [], 0)[0]]
    assert len(still_held) == len(slow)  # none answered, none closed: all still sending
    slow[0].sendall(b"&" * 997)  # one finishes its body: Django answers it (no CSRF token)
    assert _status(slow[0]) == 403
    for sock in slow:
        sock.close()


def test_oversized_bodies_get_413_from_the_production_server_without_being_read(
    production_server,
):
    with _connect(production_server) as sock:  # the 100 MB anonymous login
        sock.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Length: 100000000\r\n\r\nabc"
        )
        assert _status(sock) == 413
    with _connect(production_server) as sock:
        sock.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"  # 64 KiB; the cap here is 256 KiB
        for _sent in range(64):  # 4 MiB if the server never answered; it never sees the end
            sock.sendall(chunk)
            if select.select([sock], [], [], 1)[0]:
                break
        assert _status(sock) == 413
