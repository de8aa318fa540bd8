"""The named policies: what templates see, and the refusals API clients read."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from base.roles import COORDINATION, POLICIES, RESOURCE_REFUSAL, Role, role_context

pytestmark = pytest.mark.django_db


def test_templates_see_each_policy_by_name(make_user):
    request = RequestFactory().get("/")
    request.user = make_user(Role.CLINICIAN)
    can = role_context(request)["can"]
    assert set(can) == set(POLICIES)
    assert can["results"] and can["identifiers"] and can["report_review"]
    assert not can["coordination"] and not can["reading"] and not can["administration"]


def test_a_worded_policy_keeps_its_roles_and_changes_only_its_refusal():
    worded = COORDINATION.worded("another text")
    assert worded.roles == COORDINATION.roles and worded.message == "another text"
    assert COORDINATION.message != "another text"


@pytest.mark.parametrize(
    ("route", "args", "detail"),
    [
        ("exam-list", [], RESOURCE_REFUSAL),
        ("import-list", [], RESOURCE_REFUSAL),
        ("ai-result-list", [], RESOURCE_REFUSAL),
        (
            "imported-study-list",
            [],
            "Reader-study results are for study coordinators and administrators.",
        ),
    ],
)
def test_api_refusals_keep_the_words_clients_read(client_for, route, args, detail):
    response = client_for(Role.RADIOLOGIST).get(reverse(route, args=args))
    assert response.status_code == 403
    assert response.json() == {"detail": detail}


def test_only_administrators_start_demo_data_jobs(client_for):
    response = client_for(Role.COORDINATOR).post(
        reverse("demo-data-job-list"), {"patients": 1, "seed": 1}
    )
    assert response.status_code == 403
    assert response.json() == {"detail": RESOURCE_REFUSAL}
    assert client_for(Role.COORDINATOR).get(reverse("demo-data-job-list")).status_code == 200
