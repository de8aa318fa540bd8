"""The production server's HTTP path: Django's WSGI handler on long-lived request threads."""

import threading

import pytest
from channels.testing import HttpCommunicator
from django.urls import reverse

from ovarian_web.http_threads import RequestThreads, WsgiOnThreads, wsgi_environ
from ovarian_web.local_services import production_application
from tests.factories import PASSWORD, UserFactory

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
