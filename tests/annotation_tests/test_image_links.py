"""Signed file links: served to whoever holds one, refused when tampered with or expired."""

import time

import numpy as np
import pytest
from channels.testing import HttpCommunicator
from django.urls import reverse

from annotation.imaging.links import PREFIX, LinkError, file_link, link_seconds, linked_file
from annotation.models import ImageSource
from base.roles import Role
from ovarian_web.asgi import application
from tests import image_factories
from tests.factories import ExamFactory


@pytest.fixture
def image(db):
    stored, _ = image_factories.image_store(
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
    period = link_seconds()
    start = (int(time.time()) // period) * period
    assert file_link(image.file.name, now=start) == file_link(image.file.name, now=start + 10)
    *_, left = linked_file(file_link(image.file.name, now=start), now=start)
    assert left == 2 * period
    *_, left = linked_file(file_link(image.file.name, now=start - 1), now=start)
    assert left == period


def test_a_tampered_link_is_not_found(client, image):
    expires, signature, name = file_link(image.file.name)[len(PREFIX) :].split("/", 2)
    forged = "0" * len(signature)
    later = str(int(expires) + link_seconds())
    for path in (
        f"{PREFIX}{expires}/{forged}/{name}",
        f"{PREFIX}{later}/{signature}/{name}",  # a longer life for the same signature
        f"{PREFIX}{expires}/{signature}/{name}x",  # another file
        f"{PREFIX}{expires}/{signature}",
        f"{PREFIX}soon/{signature}/{name}",
    ):
        assert client.get(path).status_code == 404, path


def test_an_expired_link_says_so(client, image):
    response = client.get(file_link(image.file.name, now=time.time() - 3 * link_seconds()))
    assert response.status_code == 403
    assert b"expired" in response.content


def test_a_link_lives_minutes_then_a_fresh_one_is_needed(client, image, settings):
    assert settings.FILE_LINK_SECONDS <= 10 * 60  # minutes, not the half hour it was
    settings.FILE_LINK_SECONDS = 60
    handed_out = time.time()
    link = file_link(image.file.name, now=handed_out)
    *_, left = linked_file(link, now=handed_out)
    assert 60 <= left <= 120
    with pytest.raises(LinkError, match="expired") as refused:
        linked_file(link, now=handed_out + 121)
    assert refused.value.status == 403
    fresh = file_link(image.file.name, now=handed_out + 121)
    assert linked_file(fresh, now=handed_out + 121)[0].is_file()
    assert client.get(file_link(image.file.name)).status_code == 200


def test_a_link_needs_no_session_and_a_logout_does_not_end_it_early(client, image, make_user):
    # Served without a session or a query: a logout cannot reach it, hence the short life.
    client.force_login(make_user(Role.RADIOLOGIST))
    link = file_link(image.file.name)
    client.post(reverse("logout"))
    assert client.get(link).status_code == 200


def test_a_heatmap_link_lasts_minutes(client_for, monkeypatch, settings):
    from tests.inference_tests.test_report import scored_exam

    HEATMAP_MAX_AGE = settings.HEATMAP_LINK_SECONDS
    assert HEATMAP_MAX_AGE <= 15 * 60  # it was 12 hours
    exam, _, _ = scored_exam((0.9,))
    client = client_for(Role.CLINICIAN)
    result = client.get(reverse("ai-exam-result", args=[exam.pk])).json()
    heatmap = result["images"][0]["heatmap_url"]
    response = client.get(heatmap)
    assert response.status_code == 200
    # The browser keeps it no longer than the address lives.
    assert response["Cache-Control"] == f"private, max-age={HEATMAP_MAX_AGE}"
    later = time.time() + HEATMAP_MAX_AGE + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get(heatmap).status_code == 404
    monkeypatch.undo()
    fresh = client.get(reverse("ai-exam-result", args=[exam.pk])).json()
    assert client.get(fresh["images"][0]["heatmap_url"]).status_code == 200


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
