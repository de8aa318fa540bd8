"""Signing in: lockout per username and address, API tokens instead of HTTP Basic, the idle
timeout, and two-factor with TOTP."""

import base64
import time

import numpy as np
import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from annotation.labelling.sets import annotation_set_create
from annotation.models import ImageSource
from base.roles import Role
from base.session_guard import LAST_SEEN_KEY
from tests import image_factories, labelling_factories
from tests.factories import PASSWORD, ExamFactory, UserFactory

pytestmark = pytest.mark.django_db

HERE, ELSEWHERE = "127.0.0.1", "127.0.0.2"
LOGIN = "/accounts/login/"
TOKEN_URL = "/api/auth/token/"


def sign_in(client, username, password, address=HERE):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def token_request(client, username, password, address=HERE, **extra):
    data = {"username": username, "password": password, **extra}
    return client.post(TOKEN_URL, data, REMOTE_ADDR=address, content_type="application/json")


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def test_25_wrong_passwords_lock_the_sign_in_page_for_that_user_and_address(client, settings):
    reader = UserFactory(role=Role.RADIOLOGIST)
    for _ in range(25):
        response = sign_in(client, reader.username, "wrong")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    response = sign_in(client, reader.username, PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)
    # The same reader from another address is not locked out by the attacker.
    response = sign_in(client, reader.username, PASSWORD, address=ELSEWHERE)
    assert response.status_code == 302
    assert signed_in(client)


def test_25_wrong_passwords_lock_the_token_endpoint_too(client):
    reader = UserFactory(role=Role.RADIOLOGIST)
    statuses = {token_request(client, reader.username, "wrong").status_code for _ in range(25)}
    assert statuses == {400, 429}
    response = token_request(client, reader.username, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.json()["detail"]
    assert not AuthToken.objects.exists()
    # The page and the API count together: the page is locked for this address as well.
    assert sign_in(client, reader.username, PASSWORD).status_code == 429
    assert token_request(client, reader.username, PASSWORD, ELSEWHERE).status_code == 201


def test_failures_below_the_limit_are_forgiven_by_a_successful_sign_in(client, settings):
    reader = UserFactory(role=Role.RADIOLOGIST)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, reader.username, "wrong").status_code == 200
    assert sign_in(client, reader.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, reader.username, "wrong").status_code == 200
    assert sign_in(client, reader.username, PASSWORD).status_code == 302


def test_an_administrator_unlocks_a_locked_out_reader(client, settings):
    reader = UserFactory(role=Role.RADIOLOGIST)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, reader.username, "wrong")
    assert sign_in(client, reader.username, PASSWORD).status_code == 429
    attempt = AccessAttempt.objects.get(username=reader.username, ip_address=HERE)

    admin = UserFactory(role=Role.ADMINISTRATOR)
    client.force_login(admin)
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert reader.username in client.get(changelist).content.decode()
    response = client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    client.logout()
    assert sign_in(client, reader.username, PASSWORD).status_code == 302


def test_http_basic_is_no_longer_accepted(client):
    reader = UserFactory(role=Role.RADIOLOGIST)
    basic = base64.b64encode(f"{reader.username}:{PASSWORD}".encode()).decode()
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code in (401, 403)


def test_a_token_works_until_revoked(client):
    coordinator = UserFactory(role=Role.COORDINATOR)
    response = token_request(client, coordinator.username, PASSWORD)
    assert response.status_code == 201
    body = response.json()
    token, key = body["token"], body["token_key"]
    assert token.startswith(key) and body["expiry"]
    # Only a hash is stored.
    stored = AuthToken.objects.get(token_key=key)
    assert token not in (stored.digest, stored.token_key)
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    assert client.get("/api/me/", **auth).json()["username"] == coordinator.username
    assert client.get("/api/exams/", **auth).status_code == 200
    assert client.post("/api/auth/token/revoke/", **auth).status_code == 204
    assert client.get("/api/me/", **auth).status_code in (401, 403)
    assert not AuthToken.objects.exists()


def test_a_wrong_password_gets_no_token_and_says_why(client):
    reader = UserFactory(role=Role.RADIOLOGIST)
    response = token_request(client, reader.username, "wrong")
    assert response.status_code == 400
    assert "username and password" in response.json()["detail"]
    inactive = UserFactory(role=Role.RADIOLOGIST, is_active=False)
    assert token_request(client, inactive.username, PASSWORD).status_code == 400


def test_the_tokens_page_makes_shows_once_and_revokes(client):
    reader = UserFactory(role=Role.RADIOLOGIST)
    client.force_login(reader)
    page = client.post(reverse("tokens"))
    token = page.context["new_token"]
    assert token in page.content.decode()
    key = AuthToken.objects.get(user=reader).token_key
    assert token not in client.get(reverse("tokens")).content.decode()  # shown only once
    other = UserFactory(role=Role.RADIOLOGIST)
    AuthToken.objects.create(user=other)
    other_key = AuthToken.objects.get(user=other).token_key
    assert client.post(reverse("token_revoke", args=[other_key])).status_code == 404
    assert client.post(reverse("token_revoke", args=[key])).status_code == 302
    assert list(AuthToken.objects.values_list("user", flat=True)) == [other.pk]
    anonymous = client.__class__()
    assert anonymous.get("/api/me/", HTTP_AUTHORIZATION=f"Token {token}").status_code in (401, 403)


def test_one_token_is_revoked_by_its_key_from_the_session(client):
    reader = UserFactory(role=Role.RADIOLOGIST)
    keep, _ = AuthToken.objects.create(user=reader)
    drop, _ = AuthToken.objects.create(user=reader)
    client.force_login(reader)
    revoke = "/api/auth/token/revoke/"
    assert client.post(revoke, {"token_key": "nothere"}).status_code == 404
    assert client.post(revoke, {}).status_code == 400
    assert client.post(revoke, {"token_key": drop.token_key}).status_code == 204
    assert list(AuthToken.objects.values_list("token_key", flat=True)) == [keep.token_key]


def _session_last_seen(client, seconds_ago: int) -> None:
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - seconds_ago
    session.save()


@pytest.fixture
def labelling_reader():
    reader = UserFactory(role=Role.RADIOLOGIST)
    image_factories.image_store(
        exam=ExamFactory(),
        pixels=np.zeros((32, 48), dtype=np.uint8),
        source=ImageSource.PNG,
        color_model="MONOCHROME2",
    )
    annotation_set = annotation_set_create(name="idle", readers=[reader], size=1, seed=1)
    label = labelling_factories.label_next(annotation_set=annotation_set, reader=reader)
    return reader, label


def test_an_idle_session_is_signed_out(client, settings, labelling_reader):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 600
    reader, label = labelling_reader
    client.force_login(reader)
    assert client.get(reverse("annotation:labelling_list")).status_code == 200
    _session_last_seen(client, 601)
    response = client.get(reverse("annotation:labelling_list"))
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
    assert not signed_in(client)
    client.force_login(reader)
    _session_last_seen(client, 601)
    response = client.patch(
        reverse("labelling-label", args=[label.pk]), {}, content_type="application/json"
    )
    assert response.status_code == 401
    assert "without activity" in response.json()["detail"]
    assert not signed_in(client)


def test_autosaves_keep_the_session_alive(client, settings, labelling_reader):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 600
    reader, label = labelling_reader
    client.force_login(reader)
    _session_last_seen(client, 590)  # ten seconds left
    before = int(time.time())
    response = client.patch(
        reverse("labelling-label", args=[label.pk]),
        {"active_seconds_delta": 1},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert client.session[LAST_SEEN_KEY] >= before  # the autosave counted as activity
    assert client.get(reverse("annotation:labelling_list")).status_code == 200


def test_a_token_has_no_session_to_time_out(client, settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 60
    _, token = AuthToken.objects.create(user=UserFactory(role=Role.COORDINATOR))
    assert client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


def test_enrolment_then_every_sign_in_asks_for_the_code(client):
    clinician = UserFactory(role=Role.CLINICIAN)
    client.force_login(clinician)
    page = client.get(reverse("two_factor"))
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=clinician, confirmed=False)
    assert page.context["uri"].startswith("otpauth://totp/OvaScan")
    assert page.context["qr"].startswith("data:image/svg+xml;base64,")
    assert client.post(reverse("two_factor"), {"code": "000000"}).status_code == 200
    device.refresh_from_db()
    assert not device.confirmed
    device.throttle_reset()
    response = client.post(reverse("two_factor"), {"code": current_code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    client.logout()

    # The password alone no longer signs in: a code step follows.
    response = sign_in(client, clinician.username, PASSWORD)
    assert response.status_code == 302 and response.url == reverse("login_code")
    assert not signed_in(client)
    assert client.get(reverse("home")).status_code == 302
    response = client.post(reverse("login_code"), {"code": "000000"})
    assert response.status_code == 200 and not signed_in(client)
    assert "not right" in response.content.decode()
    device.refresh_from_db()
    device.throttle_reset()
    device.last_t = -1  # the enrolment used this period's code; a new one is due
    device.save()
    response = client.post(reverse("login_code"), {"code": current_code(device)})
    assert response.status_code == 302
    assert signed_in(client)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id


def test_the_code_step_needs_the_password_step_first(client):
    response = client.post(reverse("login_code"), {"code": "123456"})
    assert response.status_code == 200
    assert response.context["expired"] and not signed_in(client)


def test_an_enrolled_user_needs_the_code_for_a_token(client):
    admin = UserFactory(role=Role.ADMINISTRATOR)
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    response = token_request(client, admin.username, PASSWORD)
    assert response.status_code == 400
    assert "code" in response.json()["detail"]
    device.throttle_reset()
    response = token_request(client, admin.username, PASSWORD, code=current_code(device))
    assert response.status_code == 201


def test_required_two_factor_holds_clinicians_and_administrators_at_enrolment(client, settings):
    settings.TWO_FACTOR_REQUIRED = True
    clinician = UserFactory(role=Role.CLINICIAN)
    client.force_login(clinician)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url == reverse("two_factor")
    assert client.get("/api/me/").status_code == 403
    assert client.get(reverse("two_factor")).status_code == 200
    response = token_request(client.__class__(), clinician.username, PASSWORD)
    assert response.status_code == 400 and "two-factor" in response.json()["detail"]
    reader = UserFactory(role=Role.RADIOLOGIST)
    client.force_login(reader)
    assert client.get(reverse("home")).status_code == 200
