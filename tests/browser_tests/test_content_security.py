"""The Content Security Policy: sent with every page, and no page of ours breaks it."""

import pytest

from base.roles import Role
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    "/",
    "/access-log/",
    "/accounts/two-factor/",
    "/accounts/tokens/",
    "/api/docs/",
    "/admin/",
    "/admin/ovarian_web/accesslogentry/",
    "/jobs/",
    "/annotation-sets/",
    "/studies/reader-studies/",
    "/ai/models/",
    "/ai/worklist/",
    "/exams/",
    "/data/",
    "/imports/new/",
]


def test_pages_keep_to_the_policy_and_a_breach_would_be_seen(page, live_server):
    admin = UserFactory(username="csp-admin", role=Role.ADMINISTRATOR)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#main-nav")
    for path in PAGES:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style")[0]
        page.wait_for_load_state("networkidle")
        assert page.csp_violations == [], path
    # The check itself: an inline script is refused, and the refusal is seen.
    with page.expect_console_message(lambda message: "script-src" in message.text):
        page.evaluate(
            """() => { const s = document.createElement("script");
            s.textContent = "window.ran = true"; document.body.appendChild(s); }"""
        )
    assert page.evaluate("() => window.ran === undefined")
    assert any("script-src" in text for text in page.csp_violations)
    page.csp_violations.clear()  # made on purpose; the fixture checks for any others
