"""Each role signs in through the real login page and sees its own navigation."""

import pytest

from base.roles import Role
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPECTED_NAVIGATION = {
    Role.RADIOLOGIST: ["Home", "Labelling", "Reading", "Images", "API"],
    Role.CLINICIAN: ["Home", "Exams", "Worklist", "Find patient", "API"],
    Role.COORDINATOR: [
        "Home", "Annotation sets", "Reader studies", "Images", "Exams", "Worklist",
        "Disagreements", "Data overview", "Models", "Import images", "Import clinical data",
        "Jobs", "API",
    ],
    Role.ADMINISTRATOR: [
        "Home", "Annotation sets", "Reader studies", "Images", "Exams", "Worklist",
        "Disagreements", "Find patient", "Data overview", "Models", "Import images",
        "Import clinical data", "Jobs", "API", "Flagged images", "Access log", "Admin",
    ],
}  # fmt: skip


def _sign_in(page, live_server, username):
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url  # anonymous users land on the login page
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#main-nav")


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_each_role_signs_in_and_sees_its_navigation(page, live_server, role):
    user = UserFactory(username=f"demo-{role.value}", role=role)
    _sign_in(page, live_server, user.username)
    links = page.locator("#main-nav a").all_inner_texts()
    assert links == EXPECTED_NAVIGATION[role]
    assert page.locator(f"[data-role-card='{role.value}']").count() == 1
    # Every link in the navigation opens for this role.
    for href in page.locator("#main-nav a").evaluate_all("els => els.map(e => e.href)"):
        response = page.goto(href)
        assert response.status == 200, href
    page.goto(f"{live_server.url}/")
    page.click("text=Log out")
    page.wait_for_url("**/accounts/login/")


def test_a_wrong_password_is_refused_with_a_message(page, live_server):
    UserFactory(username="someone", role=Role.CLINICIAN)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "someone")
    page.fill("#id_password", "not the password")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text().startswith("Your username and password")


def test_a_radiologist_gets_403_on_a_clinical_page(page, live_server):
    UserFactory(username="reader", role=Role.RADIOLOGIST)
    _sign_in(page, live_server, "reader")
    response = page.goto(f"{live_server.url}/exams/")
    assert response.status == 403
    assert "Not allowed" in page.content()
