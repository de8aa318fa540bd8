"""The clinician's report lays the heatmaps over the images (toggle, opacity); the worklist
follows results live, through daphne and Redis."""

import datetime
import threading

import numpy as np
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotation.models import ImageSource
from base.roles import Role
from inference.live import result_broadcast
from tests import image_factories
from tests.factories import PASSWORD, ExamFactory, UserFactory
from tests.inference_tests.factories import ensemble_make, exam_result_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def script_errors():
    errors: list[str] = []
    yield errors
    assert errors == []


def _images(exam, count: int):
    gradient = np.tile(np.linspace(0, 255, 160, dtype=np.uint8), (120, 1))
    return [
        image_factories.image_store(
            exam=exam,
            pixels=np.roll(gradient, 11 * index, axis=1),
            source=ImageSource.PNG,
            color_model="MONOCHROME2",
        )[0]
        for index in range(count)
    ]


def _sign_in(page, server, next_url: str, errors: list[str]) -> None:
    UserFactory(username="clinician", role=Role.CLINICIAN)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server}/accounts/login/?next={next_url}")
    page.fill("#id_username", "clinician")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def test_the_heatmap_overlay_is_toggled_and_faded(page, asgi_server, script_errors):
    exam = ExamFactory(acquisition_completed_at=timezone.now())
    images = _images(exam, 2)
    exam_result_make(exam=exam, images=images, probabilities=[0.3, 0.85])
    _sign_in(page, asgi_server, f"/ai/exams/{exam.pk}/report/", script_errors)
    expect(page.locator("#decision")).to_contain_text("Suspicious for malignancy")
    first = page.locator("figure.scan").first
    expect(first).to_have_attribute("data-image", str(images[1].pk))  # drove the score
    heatmap = first.locator("img.heatmap.resnet")
    darknet = first.locator("img.heatmap.darknet")
    expect(heatmap).to_be_visible()
    expect(darknet).to_be_hidden()
    # The overlay is loaded and covers its image exactly.
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.heatmap.resnet, img.base')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    base = first.locator("img.base").bounding_box()
    overlay = heatmap.bounding_box()
    assert (round(overlay["width"]), round(overlay["height"])) == (
        round(base["width"]),
        round(base["height"]),
    )
    assert abs(overlay["x"] - base["x"]) < 1 and abs(overlay["y"] - base["y"]) < 1

    def opacity() -> float:
        return float(heatmap.evaluate("img => getComputedStyle(img).opacity"))

    assert opacity() == pytest.approx(0.6)
    page.locator("#heatmap-opacity").fill("25")
    assert opacity() == pytest.approx(0.25)
    page.locator("#heatmap-toggle").uncheck()
    expect(heatmap).to_be_hidden()
    page.keyboard.press("h")
    expect(heatmap).to_be_visible()
    assert opacity() == pytest.approx(0.25)
    # M shows the other network's map, and back.
    page.keyboard.press("m")
    expect(darknet).to_be_visible()
    expect(heatmap).to_be_hidden()
    expect(page.locator("#heatmap-model")).to_have_value("darknet")
    page.keyboard.press("m")
    expect(heatmap).to_be_visible()
    expect(darknet).to_be_hidden()
    # Printing keeps the overlay as shown and drops the page furniture.
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator("#heatmap-controls")).to_be_hidden()
    expect(heatmap).to_be_visible()


def _broadcast(result) -> None:
    # From a thread of its own, as a worker would: this one runs Playwright's event loop.
    sender = threading.Thread(target=result_broadcast, args=(result,))
    sender.start()
    sender.join()


def test_the_worklist_row_changes_when_a_result_is_stored(page, asgi_server, script_errors):
    ensemble = ensemble_make()
    exam = ExamFactory(acquisition_completed_at=timezone.now())
    images = _images(exam, 1)
    _sign_in(page, asgi_server, "/ai/worklist/", script_errors)
    expect(page.locator("#live-status")).to_have_text("live")
    row = page.locator(f"tr[data-exam='{exam.pk}']")
    expect(row.locator(".status")).to_have_text("Not scored yet")

    result = exam_result_make(exam=exam, images=images, probabilities=[0.9], ensemble=ensemble)
    _broadcast(result)  # as the scoring job does once the result is stored
    expect(row.locator(".status")).to_have_text("Scored")
    expect(row.locator(".score")).to_have_text(f"{result.score:.3f}")
    expect(row.locator(".decision")).to_have_text("Suspicious")

    # An exam the page did not show yet appears at the top, in date order.
    newer = ExamFactory(
        acquisition_completed_at=timezone.now(), exam_date=datetime.date(2025, 1, 2)
    )
    result = exam_result_make(
        exam=newer, images=_images(newer, 1), probabilities=[0.05], ensemble=ensemble
    )
    _broadcast(result)
    first = page.locator("#worklist tbody tr").first
    expect(first).to_have_attribute("data-exam", str(newer.pk))
    expect(first.locator(".decision")).to_have_text("Not flagged")
    assert page.locator("#worklist tbody tr").count() == 2


def test_a_report_waiting_for_its_result_shows_it_when_it_is_stored(
    page, asgi_server, script_errors
):
    ensemble = ensemble_make()
    exam = ExamFactory(acquisition_completed_at=timezone.now())
    images = _images(exam, 1)
    _sign_in(page, asgi_server, f"/ai/exams/{exam.pk}/report/", script_errors)
    expect(page.locator("#pending[data-live='1']")).to_contain_text("No result")
    expect(page.locator("#decision")).to_have_count(0)

    other = ExamFactory(acquisition_completed_at=timezone.now())
    _broadcast(
        exam_result_make(
            exam=other, images=_images(other, 1), probabilities=[0.2], ensemble=ensemble
        )
    )
    result = exam_result_make(exam=exam, images=images, probabilities=[0.9], ensemble=ensemble)
    _broadcast(result)  # the page reloads for its own exam only
    expect(page.locator("#decision")).to_contain_text("Suspicious for malignancy")
    expect(page.locator("#pending")).to_have_count(0)
