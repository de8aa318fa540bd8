"""A radiologist reads a reader study with the keyboard alone: the practice case first, then
the cases without AI; the tab closes half way and reading resumes on the same case with its
draft answer; after the washout the arm with AI shows the AI's score and decision."""

import re

import pytest
from playwright.sync_api import expect

from base.roles import Role
from studies.models import CaseReading
from tests.factories import PASSWORD, UserFactory
from tests.inference_tests.factories import ensemble_make, exam_result_make
from tests.studies_tests.design_factories import designed_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

_page_errors: list[str] = []


@pytest.fixture(autouse=True)
def no_script_errors():
    """Every page this module opens must run without a JavaScript error."""
    _page_errors.clear()
    yield
    assert _page_errors == []


def _study():
    reader = UserFactory(username="reader", role=Role.RADIOLOGIST)
    study = designed_study(readers=[reader], malignant=2, benign=2, practice=1, washout_days=0)
    ensemble = ensemble_make(threshold=0.4)
    for case in study.cases.select_related("exam"):
        images = list(case.exam.images.all())
        exam_result_make(
            exam=case.exam, images=images, probabilities=[0.7] * len(images), ensemble=ensemble
        )
    return study


def _login(page, server, url):
    page.on("pageerror", lambda error: _page_errors.append(str(error)))
    page.goto(f"{server}/accounts/login/?next={url}")
    page.fill("#id_username", "reader")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")  # the last click: from here on, keys only


def _open(page, url):
    page.on("pageerror", lambda error: _page_errors.append(str(error)))
    page.goto(url)


def _reading_id(page) -> int:
    label = page.locator("#case-label")
    expect(label).to_have_attribute("data-reading-id", re.compile(r"^\d+$"))
    return int(label.get_attribute("data-reading-id"))


def _value(page, field):
    return page.locator(f'.answer[data-field="{field}"] .value')


def _settle(page):
    expect(page.locator("#reading")).to_have_attribute("data-requests", "0")


def _answer_and_next(page, keys: list[str], expected_confidence: str) -> int:
    before = _reading_id(page)
    for key in keys:
        page.keyboard.press(key)
    expect(_value(page, "confidence")).to_have_text(expected_confidence)
    page.keyboard.press("Enter")
    expect(page.locator("#case-label")).not_to_have_attribute("data-reading-id", str(before))
    return before


def test_a_reader_reads_with_the_keyboard_resumes_after_closing_and_sees_the_ai_later(
    browser, asgi_server
):
    study = _study()
    unaided = study.sessions.get(arm="without_ai")
    aided = study.sessions.get(arm="with_ai")
    context = browser.new_context()
    page = context.new_page()
    _login(page, asgi_server, f"/studies/reading/{unaided.pk}/")
    _reading_id(page)
    expect(page.locator("#case-label")).to_have_text("Practice case 1 of 1")
    expect(page.locator("#practice-banner")).to_be_visible()
    assert page.locator("#ai-panel").count() == 0  # nothing of the AI without AI
    page.keyboard.press("Enter")  # nothing answered yet: refused, with what is missing
    expect(page.locator("#status")).to_contain_text("Missing: malignant yes/no, confidence")

    _answer_and_next(page, ["y", "8", "5"], "85")  # the practice case
    expect(page.locator("#case-label")).to_have_text("Case 1 of 4")
    expect(page.locator("#practice-banner")).to_be_hidden()
    expect(page.locator("#progress-text")).to_have_text("0 / 4 · practice 1/1")
    _answer_and_next(page, ["n", "2"], "20")
    _answer_and_next(page, ["y", "7", "ArrowUp", "Shift+ArrowDown"], "74")
    expect(page.locator("#progress-text")).to_have_text("2 / 4 · practice 1/1")

    # Half way through the third case the tab closes; the draft answer was saved.
    half_read = _reading_id(page)
    page.keyboard.press("n")
    expect(_value(page, "malignant")).to_have_text("No")
    page.wait_for_function(
        "() => document.getElementById('reading').dataset.requests === '0'", timeout=5000
    )
    page.wait_for_timeout(600)  # the autosave's debounce
    _settle(page)
    page.close()
    assert CaseReading.objects.get(pk=half_read).malignant is False

    page = context.new_page()
    _open(page, f"{asgi_server}/studies/reading/{unaided.pk}/")
    assert _reading_id(page) == half_read
    expect(page.locator("#case-label")).to_have_text("Case 3 of 4")
    expect(_value(page, "malignant")).to_have_text("No")
    _answer_and_next(page, ["3", "0"], "30")
    last = _reading_id(page)
    for key in ["y", "1", "0", "0"]:
        page.keyboard.press(key)
    expect(_value(page, "confidence")).to_have_text("100")
    page.keyboard.press("Enter")
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#progress-text")).to_have_text("4 / 4 · practice 1/1")
    _settle(page)

    readings = CaseReading.objects.filter(session=unaided).order_by("position")
    assert all(r.answered_at and r.answered_at >= r.shown_at for r in readings)
    assert [r.confidence for r in readings] == [85, 20, 74, 30, 100]
    assert readings.get(pk=last).malignant is True
    for reading in readings:
        assert reading.active_seconds <= (reading.answered_at - reading.shown_at).total_seconds()

    # The washout is 0 days: the arm with AI opens now, with the AI's output beside the image.
    _open(page, f"{asgi_server}/studies/reading/{aided.pk}/")
    _reading_id(page)
    expect(page.locator("#arm-badge")).to_have_text("With AI")
    expect(page.locator("#ai-summary")).to_be_visible()
    expect(page.locator("#ai-decision")).to_have_text("Malignant")
    expect(page.locator("#ai-score")).to_have_text(re.compile(r"^1\.20\d$"))  # −ln(1 − 0.7)
    expect(page.locator("#ai-image")).to_contain_text("AI 70% on this image")
    expect(page.locator(".heatmap-overlay")).to_be_visible()
    page.keyboard.press("h")
    expect(page.locator(".heatmap-overlay")).to_be_hidden()
    _answer_and_next(page, ["y", "9"], "90")
    _settle(page)
    context.close()
