"""A job's progress reaches the coordinator's browser live, through daphne and Redis."""

import threading

import pytest

from annotation.demo import demo_data_job_execute
from annotation.models import DemoDataJob
from base.roles import Role
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_jobs_page_follows_a_running_job(page, asgi_server, settings, tmp_path):
    settings.DEMO_DATA_DIR = tmp_path / "demo"
    UserFactory(username="coord", role=Role.COORDINATOR)
    page.goto(f"{asgi_server}/accounts/login/?next=/jobs/")
    page.fill("#id_username", "coord")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#live-status:text('live')")

    job = DemoDataJob.objects.create(patients=1, seed=3)
    # The worker's code, in a thread of its own as in a worker process.
    worker = threading.Thread(target=demo_data_job_execute, kwargs={"job_id": job.pk})
    worker.start()
    worker.join()
    job.refresh_from_db()
    assert job.status == "succeeded", job.error

    row = page.locator(f"[data-job='demodatajob-{job.pk}']")
    row.locator(".status:text('Succeeded')").wait_for()
    assert row.locator(".count").inner_text() == f"{job.progress_total}/{job.progress_total}"
    assert row.locator(".bar").get_attribute("style") == "width: 100%;"
