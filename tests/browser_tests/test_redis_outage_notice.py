"""With Redis stopped, the jobs page says its live updates are paused; when Redis is back,
it reconnects by itself and is live again. The production server runs on a Redis of this
test's own (tests/ovarian_web_tests/test_redis_outage.py), never on CI's shared one."""

import pytest
from django.conf import global_settings
from playwright.sync_api import expect

from base.roles import Role
from ovarian_web.local_services import free_port, uvicorn_command, wait_for_port
from tests.factories import PASSWORD, UserFactory
from tests.ovarian_web_tests.test_redis_outage import RedisServer, _end, _start

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 120_000  # for a slow machine; a page that never changes fails, it does not hang


@pytest.fixture
def server_on_own_redis(settings, server_env, tmp_path):
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    port = free_port()
    env = {**server_env, "REDIS_URL": redis_server.url, "PYTHONUNBUFFERED": "1"}
    server = _start(uvicorn_command("127.0.0.1", port, workers=1), env, tmp_path / "server.log")
    try:
        wait_for_port(port, process=server, seconds=600)
        yield redis_server, f"http://127.0.0.1:{port}"
    finally:
        _end(server)
        redis_server.stop()


def test_the_jobs_page_says_live_updates_are_paused_and_resumes(page, server_on_own_redis):
    redis_server, url = server_on_own_redis
    UserFactory(username="coord", role=Role.COORDINATOR)
    page.goto(f"{url}/accounts/login/?next=/jobs/")
    page.fill("#id_username", "coord")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#live-status")).to_have_text("live", timeout=WAIT_MS)

    redis_server.stop()
    notice = page.locator("#live-notice")
    expect(notice).to_be_visible(timeout=WAIT_MS)
    expect(notice).to_have_text("Live updates paused — reconnecting…")
    expect(page.locator("#live-status")).to_have_text("paused, reconnecting…")
    assert page.reload().status == 200  # the page itself still works, from the database
    expect(notice).to_be_visible(timeout=WAIT_MS)

    redis_server.start()
    expect(page.locator("#live-status")).to_have_text("live", timeout=WAIT_MS)
    expect(page.locator("#live-notice")).to_be_hidden()
