"""A radiologist labels with the keyboard alone: answers, Enter to the next image (already
loaded), Backspace to correct; a closed tab loses nothing; incomplete answers are refused;
the calliper measures in millimetres."""

import itertools
import re

import numpy as np
import pytest
from playwright.sync_api import expect

from annotation.labelling.sets import annotation_set_create
from annotation.models import Image, ImageFlag, ImageSource, Label, LabelChange
from base.roles import Role
from tests import image_factories
from tests.factories import PASSWORD, ExamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

_unique = itertools.count()
_page_errors: list[str] = []


@pytest.fixture(autouse=True)
def no_script_errors():
    """Every page this module opens must run without a JavaScript error."""
    _page_errors.clear()
    yield
    assert _page_errors == []


def _image(exam, index: int, frames: int = 1, spacing: float | None = 0.1):
    """A 200×100 greyscale image (or cine loop), its own gradient so no two are the same."""
    pixels = np.tile(np.linspace(0, 255, 200, dtype=np.uint8), (100, 1)) // (index % 3 + 1)
    first = None
    for frame in range(frames):
        image, _ = image_factories.image_store(
            exam=exam,
            pixels=np.roll(pixels, 7 * frame + index, axis=1),
            source=ImageSource.DICOM if frames > 1 else ImageSource.PNG,
            color_model="MONOCHROME2",
            sop_instance_uid=f"1.2.826.0.9.{index}" if frames > 1 else "",
            frame_index=frame,
            frame_count=frames,
            pixel_spacing_mm=spacing,
            source_sha256=f"{next(_unique):064d}",
        )
        first = first or image
    return first


def _set_for_reader(images: int):
    reader = UserFactory(username="reader", role=Role.RADIOLOGIST)
    exams = [ExamFactory() for _ in range((images + 1) // 2)]  # two images per exam
    for index in range(images):
        _image(exams[index // 2], index)
    annotation_set = annotation_set_create(name="Pelvic set", readers=[reader], size=images, seed=1)
    return reader, annotation_set


def _open(page, server, annotation_set):
    url = f"/labelling/sets/{annotation_set.pk}/"
    page.on("pageerror", lambda error: _page_errors.append(str(error)))
    page.goto(f"{server}/accounts/login/?next={url}")
    page.fill("#id_username", "reader")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")  # the last click: from here on, keys only
    expect(page.locator("#image-id")).to_have_attribute("data-image-id", re.compile(r"^\d+$"))
    return page


def _settle(page):
    """Wait for the screen's requests to end, so none is cut off when the server stops."""
    expect(page.locator("#labelling")).to_have_attribute("data-requests", "0")


def _image_id(page) -> int:
    return int(page.locator("#image-id").get_attribute("data-image-id"))


def _value(page, field: str):
    return page.locator(f'.answer[data-field="{field}"] .value')


def _enter_to_next(page, before: int) -> int:
    page.keyboard.press("Enter")
    expect(page.locator("#image-id")).not_to_have_attribute("data-image-id", str(before))
    return _image_id(page)


def test_a_run_of_images_is_labelled_and_corrected_with_the_keyboard_alone(page, asgi_server):
    reader, annotation_set = _set_for_reader(6)
    _open(page, asgi_server, annotation_set)
    expect(page.locator("#progress-text")).to_have_text("0 / 6")

    first = _image_id(page)
    for key in "ALSFD":
        page.keyboard.press(key)
    expect(_value(page, "adnexal")).to_have_text("Yes")
    expect(_value(page, "dimension")).to_have_text("2D")
    second = _enter_to_next(page, first)
    expect(page.locator("#progress-text")).to_have_text("1 / 6")

    for key in ["A", "A", "L", "S", "S", "F", "D", "D"]:  # yes→no cycles; 2D→3D
        page.keyboard.press(key)
    expect(_value(page, "adnexal")).to_have_text("No")
    expect(_value(page, "dimension")).to_have_text("3D")
    third = _enter_to_next(page, second)
    expect(page.locator("#progress-text")).to_have_text("2 / 6")
    assert len({first, second, third}) == 3

    page.keyboard.press("Backspace")  # back to the second image to correct it
    expect(page.locator("#image-id")).to_have_attribute("data-image-id", str(second))
    expect(page.locator("#mode-line")).to_be_visible()
    expect(_value(page, "adnexal")).to_have_text("No")
    page.keyboard.press("L")  # lesion: yes → no
    expect(_value(page, "lesion")).to_have_text("No")
    page.keyboard.press("Enter")  # resubmits and returns to where the reader was
    expect(page.locator("#image-id")).to_have_attribute("data-image-id", str(third))
    expect(page.locator("#mode-line")).to_be_hidden()
    expect(page.locator("#progress-text")).to_have_text("2 / 6")

    labels = {
        label.item.image_id: label
        for label in Label.objects.filter(reader=reader, status=Label.SUBMITTED).select_related(
            "item"
        )
    }
    assert set(labels) == {first, second}
    assert labels[first].answers() == {
        "adnexal": True,
        "lesion": True,
        "ascites": True,
        "blood_flow": True,
        "dimension": "2d",
        "cannot_determine": False,
    }
    corrected = labels[second]
    assert (corrected.adnexal, corrected.lesion, corrected.ascites) == (False, False, False)
    assert corrected.dimension == "3d"
    assert LabelChange.objects.filter(label=corrected, new__lesion=False).exists()
    _settle(page)


def test_a_closed_tab_loses_nothing(browser, page, asgi_server):
    reader, annotation_set = _set_for_reader(6)
    _open(page, asgi_server, annotation_set)
    submitted = []
    for _ in range(2):
        submitted.append(_image_id(page))
        for key in "ALSFD":
            page.keyboard.press(key)
        _enter_to_next(page, submitted[-1])
    unfinished = _image_id(page)
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.ok):
        for key in "ASD":
            page.keyboard.press(key)
    page.wait_for_timeout(400)  # the debounced autosave of the last keys
    page.close()  # the tab closes (its last autosave goes out with keepalive)

    done = Label.objects.filter(reader=reader, status=Label.SUBMITTED)
    assert sorted(done.values_list("item__image_id", flat=True)) == sorted(submitted)
    assert all(label.answers()["blood_flow"] is True for label in done)
    draft = Label.objects.get(reader=reader, item__image_id=unfinished)
    assert (draft.status, draft.adnexal, draft.lesion, draft.ascites, draft.dimension) == (
        Label.DRAFT,
        True,
        None,
        True,
        "2d",
    )

    again = browser.new_context().new_page()  # a new session: log in again
    again.goto(f"{asgi_server}/accounts/login/?next=/labelling/")
    again.fill("#id_username", "reader")
    again.fill("#id_password", PASSWORD)
    again.click("button[type=submit]")
    row = again.locator(f'tr[data-set="{annotation_set.pk}"]')
    expect(row).to_contain_text("2 / 6")
    again.on("pageerror", lambda error: _page_errors.append(str(error)))
    row.get_by_role("link", name="Continue").click()
    expect(again.locator("#image-id")).to_have_attribute("data-image-id", str(unfinished))
    expect(again.locator("#progress-text")).to_have_text("2 / 6")
    expect(_value(again, "adnexal")).to_have_text("Yes")
    expect(_value(again, "lesion")).to_have_text("—")
    expect(_value(again, "ascites")).to_have_text("Yes")
    expect(_value(again, "dimension")).to_have_text("2D")
    _settle(again)


def test_enter_with_missing_answers_shows_them_and_does_not_advance(page, asgi_server):
    reader, annotation_set = _set_for_reader(2)
    _open(page, asgi_server, annotation_set)
    shown = _image_id(page)
    page.keyboard.press("A")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("Missing: lesion, ascites, blood flow, 2D/3D")
    missing = page.locator(".answer.missing")
    expect(missing).to_have_count(4)
    assert _image_id(page) == shown
    expect(page.locator("#progress-text")).to_have_text("0 / 2")

    page.keyboard.press("X")  # cannot be determined: no other answer needed
    expect(page.locator("#cannot-determine-reason")).to_be_focused()
    page.keyboard.type("acoustic shadowing")
    page.keyboard.press("Escape")
    _enter_to_next(page, shown)
    label = Label.objects.get(reader=reader, item__image_id=shown)
    assert label.status == Label.SUBMITTED and label.cannot_determine
    assert label.cannot_determine_reason == "acoustic shadowing"
    assert not Label.objects.filter(reader=reader, status=Label.SUBMITTED).exclude(pk=label.pk)
    _settle(page)


def test_the_calliper_measures_in_millimetres_and_a_cine_loop_plays(page, asgi_server):
    reader = UserFactory(username="reader", role=Role.RADIOLOGIST)
    _image(ExamFactory(), 0, frames=3, spacing=0.1)
    annotation_set = annotation_set_create(name="Cine set", readers=[reader], size=1, seed=1)
    _open(page, asgi_server, annotation_set)

    page.keyboard.press(".")
    expect(page.locator("#viewer-readout")).to_contain_text("frame 2/3")
    page.keyboard.press("M")
    image = page.locator("#labelling-image")
    expect(image).to_have_js_property("complete", True)
    box = image.bounding_box()  # the fitted image on screen: 200 px wide in the file
    middle = box["y"] + box["height"] / 2
    page.mouse.click(box["x"] + box["width"] * 0.25, middle)
    page.mouse.click(box["x"] + box["width"] * 0.75, middle)
    expect(page.locator("#measure")).to_have_text("10.0 mm")  # 100 px at 0.1 mm per pixel
    expect(page.locator(".viewer-overlay text")).to_have_text("10.0 mm")
    _settle(page)


def test_the_image_detail_page_uses_the_same_viewer(page, asgi_server):
    UserFactory(username="reader", role=Role.RADIOLOGIST)
    image = _image(ExamFactory(), 0, frames=3)
    page.on("pageerror", lambda error: _page_errors.append(str(error)))
    page.goto(f"{asgi_server}/accounts/login/?next=/images/{image.pk}/")
    page.fill("#id_username", "reader")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#frame-number")).to_have_text("frame 1/3")
    page.wait_for_load_state("load")  # "frame 1/3" is the server's: the keys need the script
    page.keyboard.press("ArrowRight")
    expect(page.locator("#frame-number")).to_have_text("frame 2/3")
    page.fill("#contrast", "200")
    page.dispatch_event("#contrast", "input")
    expect(page.locator("#viewer-image")).to_have_css("filter", re.compile("url"))
    page.keyboard.press("+")
    expect(page.locator("#viewer-image")).to_have_attribute("style", re.compile(r"scale\("))


def test_the_exam_strip_opens_a_look_and_a_flag_moves_on(page, asgi_server):
    reader, annotation_set = _set_for_reader(4)
    _open(page, asgi_server, annotation_set)
    shown = _image_id(page)
    page.keyboard.press("E")
    thumbs = page.locator("#exam-strip .strip-thumb")
    expect(thumbs).to_have_count(1)  # the other image of the same exam
    page.keyboard.press("1")
    expect(page.locator("#peek-banner")).to_be_visible()
    page.keyboard.press("A")  # answers still go to the image being labelled
    page.keyboard.press("Escape")
    expect(page.locator("#peek-banner")).to_be_hidden()
    own_file = re.escape(Image.objects.get(pk=shown).file.name)
    expect(page.locator("#labelling-image")).to_have_attribute("src", re.compile(own_file + "$"))
    expect(_value(page, "adnexal")).to_have_text("Yes")

    page.keyboard.press("G")
    expect(page.locator("#flag-dialog")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#image-id")).not_to_have_attribute("data-image-id", str(shown))
    expect(page.locator("#status")).to_contain_text(f"Image {shown} flagged")
    assert ImageFlag.objects.filter(image_id=shown, flagged_by=reader).exists()
    assert Image.objects.get(pk=shown).hidden
    assert not Label.objects.filter(item__image_id=shown).exists()
    _settle(page)
