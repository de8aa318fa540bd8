"""The one signed-link scheme: images and heatmaps alike, a heatmap bound to its viewer."""

import time

import pytest
from django.urls import reverse

from annotation.imaging.links import FILE, PREFIX, LinkError, file_link, sign, verify
from base.roles import Role
from inference.heatmap_links import HEATMAP, heatmap_prediction, heatmap_token, heatmap_url


def test_a_link_bound_to_a_viewer_opens_for_that_viewer_only(settings):
    token = sign(HEATMAP, "7", viewer_id=1)
    assert verify(HEATMAP, token, viewer_id=1) == ("7", settings.HEATMAP_LINK_SECONDS)
    for viewer in (2, None):
        with pytest.raises(LinkError) as refused:
            verify(HEATMAP, token, viewer_id=viewer)
        assert refused.value.status == 404


def test_an_unbound_link_is_not_a_link_for_a_viewer():
    token = sign(FILE, "images/a.png")
    with pytest.raises(LinkError):
        verify(FILE, token, viewer_id=1)


def test_an_expired_link_is_refused(settings):
    handed_out = time.time()
    token = sign(HEATMAP, "7", viewer_id=1, now=handed_out)
    assert verify(HEATMAP, token, viewer_id=1, now=handed_out + settings.HEATMAP_LINK_SECONDS - 1)
    with pytest.raises(LinkError, match="expired") as refused:
        verify(HEATMAP, token, viewer_id=1, now=handed_out + settings.HEATMAP_LINK_SECONDS + 1)
    assert refused.value.status == 403


def test_a_tampered_link_is_refused():
    expires, signature, subject = sign(HEATMAP, "7", viewer_id=1).split(".")
    for forged in (
        f"{expires}.{'0' * len(signature)}.{subject}",
        f"{int(expires) + 60}.{signature}.{subject}",  # a longer life
        f"{expires}.{signature}.8",  # another prediction
        f"{expires}.{signature}",
        f"soon.{signature}.{subject}",
    ):
        with pytest.raises(LinkError):
            verify(HEATMAP, forged, viewer_id=1)


def test_an_image_link_is_no_heatmap_link_and_a_heatmap_link_no_image_link():
    image = sign(FILE, "7")
    with pytest.raises(LinkError):
        verify(HEATMAP, image)
    with pytest.raises(LinkError):
        verify(HEATMAP, image.replace("/", "."))
    heatmap = sign(HEATMAP, "7")
    with pytest.raises(LinkError):
        verify(FILE, heatmap)
    with pytest.raises(LinkError):
        verify(FILE, heatmap.replace(".", "/"))


def _scored(client_for, role=Role.CLINICIAN):
    from tests.inference_tests.test_report import scored_exam

    exam, _, _ = scored_exam((0.9,))
    client = client_for(role)
    result = client.get(reverse("ai-exam-result", args=[exam.pk])).json()
    return client, result["images"][0]["heatmap_url"]


def test_a_heatmap_address_handed_to_one_viewer_is_refused_to_another(client_for, make_user):
    client, address = _scored(client_for)
    assert client.get(address).status_code == 200
    client.force_login(make_user(Role.CLINICIAN))
    assert client.get(address).status_code == 404


def test_a_tampered_or_expired_heatmap_address_is_not_found(client_for, monkeypatch, settings):
    client, address = _scored(client_for)
    token = address.rstrip("/").rsplit("/", 1)[1]
    expires, signature, subject = token.split(".")
    for forged in (f"{expires}.{signature}.{int(subject) + 1}", f"{expires}.{'0' * 40}.{subject}"):
        assert client.get(reverse("inference:heatmap", args=[forged])).status_code == 404
    later = time.time() + settings.HEATMAP_LINK_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get(address).status_code == 404


def test_an_image_link_cannot_open_a_heatmap_nor_a_heatmap_token_a_file(client_for, make_user):
    client, address = _scored(client_for)
    token = address.rstrip("/").rsplit("/", 1)[1]
    _, _, prediction_id = token.split(".")
    user_id = client.session["_auth_user_id"]
    # The same subject signed as an image link, in the heatmap token's shape: refused.
    image_token = sign(FILE, prediction_id, viewer_id=int(user_id)).replace("/", ".")
    assert client.get(reverse("inference:heatmap", args=[image_token])).status_code == 404
    # A heatmap token under the file prefix: refused by the file server.
    assert client.get(PREFIX + token.replace(".", "/")).status_code == 404
    assert client.get(PREFIX + token).status_code == 404


@pytest.mark.django_db
def test_heatmap_tokens_and_addresses_are_the_one_scheme():
    token = heatmap_token(5, viewer_id=3)
    assert heatmap_url(5, viewer_id=3).startswith("/ai/heatmaps/")
    assert verify(HEATMAP, token, viewer_id=3)[0] == "5"
    with pytest.raises(LinkError):
        heatmap_prediction(token, viewer_id=4)
    assert file_link("images/a.png").startswith(PREFIX)
