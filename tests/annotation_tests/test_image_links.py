"""Signed file links: served to whoever holds one, refused when tampered with or expired."""

import time

import numpy as np
import pytest
from channels.testing import HttpCommunicator

from annotation import services
from annotation.image_links import LINK_SECONDS, PREFIX, file_link, linked_file
from annotation.models import ImageSource
from ovarian_web.asgi import application
from tests.factories import ExamFactory


@pytest.fixture
def image(db):
    stored, _ = services.image_store(
        exam=ExamFactory(),
        pixels=np.arange(32 * 48, dtype=np.uint8).reshape(32, 48),
        source=ImageSource.PNG,
        color_model="MONOCHROME2",
    )
    return stored


def test_a_link_serves_the_file_without_a_session(client, image):
    response = client.get(file_link(image.file.name))
    assert response.status_code == 200
    assert response.content == image.file.read()
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"].startswith("private, max-age=")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_links_handed_out_in_one_period_are_equal_and_live_one_to_two_periods(image):
    start = (int(time.time()) // LINK_SECONDS) * LINK_SECONDS
    assert file_link(image.file.name, now=start) == file_link(image.file.name, now=start + 10)
    *_, left = linked_file(file_link(image.file.name, now=start), now=start)
    assert left == 2 * LINK_SECONDS
    *_, left = linked_file(file_link(image.file.name, now=start - 1), now=start)
    assert left == LINK_SECONDS


def test_a_tampered_link_is_not_found(client, image):
    expires, signature, name = file_link(image.file.name)[len(PREFIX) :].split("/", 2)
    forged = "0" * len(signature)
    later = str(int(expires) + LINK_SECONDS)
    for path in (
        f"{PREFIX}{expires}/{forged}/{name}",
        f"{PREFIX}{later}/{signature}/{name}",  # a longer life for the same signature
        f"{PREFIX}{expires}/{signature}/{name}x",  # another file
        f"{PREFIX}{expires}/{signature}",
        f"{PREFIX}soon/{signature}/{name}",
    ):
        assert client.get(path).status_code == 404, path


def test_an_expired_link_says_so(client, image):
    response = client.get(file_link(image.file.name, now=time.time() - 3 * LINK_SECONDS))
    assert response.status_code == 403
    assert b"expired" in response.content


def test_even_a_signed_link_cannot_leave_the_media_folder(client, image, settings):
    (settings.MEDIA_ROOT.parent / "outside.txt").write_text("secret")
    assert client.get(file_link("../outside.txt")).status_code == 404
    assert client.get(file_link("images")).status_code == 404  # a folder, not a file


def test_a_link_is_only_read(client, image):
    assert client.post(file_link(image.file.name)).status_code == 405


async def _asgi(method: str, path: str) -> dict:
    communicator = HttpCommunicator(application, method, path, headers=[(b"host", b"testserver")])
    return await communicator.get_response()


@pytest.mark.django_db(transaction=True)
async def test_the_asgi_server_answers_links_before_django(image):
    link = file_link(image.file.name)
    response = await _asgi("GET", link)
    assert response["status"] == 200
    assert response["body"] == image.file.read()
    headers = dict(response["headers"])
    assert headers[b"content-type"] == b"image/png"
    assert int(headers[b"content-length"]) == image.file.size
    head = await _asgi("HEAD", link)
    assert head["status"] == 200 and head["body"] == b""
    assert (await _asgi("GET", link + "x"))["status"] == 404
    assert (await _asgi("DELETE", link))["status"] == 405
    assert (await _asgi("GET", file_link("images")))["status"] == 404  # a folder
    assert (await _asgi("GET", file_link("../outside.txt")))["status"] == 404
    login = await _asgi("GET", "/accounts/login/")  # everything else goes on to Django
    assert login["status"] == 200 and b"password" in login["body"]
