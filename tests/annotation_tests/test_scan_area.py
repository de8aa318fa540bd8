"""The scan area found from pixels, on the generator's PNG exports (burned-in text and all)."""

import numpy as np
import pytest
from PIL import Image as PILImage

from annotation.imaging.scan_area import detect_scan_area
from annotation.synthetic import generate_dataset


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scan-area")
    return folder, generate_dataset(folder, patients=12, seed=8)


def _overlap(a, b) -> float:
    ax0, ay0, ax1, ay1 = a
    bx0, by0, bx1, by1 = b
    width = min(ax1, bx1) - max(ax0, bx0) + 1
    height = min(ay1, by1) - max(ay0, by0) + 1
    if width <= 0 or height <= 0:
        return 0.0
    area = lambda box: (box[2] - box[0] + 1) * (box[3] - box[1] + 1)  # noqa: E731
    return width * height / (area(a) + area(b) - width * height)


def test_the_found_area_is_the_sector_without_the_header_text(generated):
    folder, manifest = generated
    for record in manifest["images"]:
        if record["dimension"] == "3d":
            continue  # a rendered volume has no sector; its box is the render
        pixels = np.asarray(PILImage.open(folder / record["png"]))
        box = detect_scan_area(pixels)
        assert box is not None, record["png"]
        assert box[1] >= record["header_height"], record["png"]  # below the burned-in text
        if record["anatomy"] != "empty":  # a poor-contact field shows no sector edge
            assert _overlap(box, record["scan_region"]) > 0.85, (record["png"], box)


def test_an_empty_black_image_has_no_scan_area():
    assert detect_scan_area(np.zeros((100, 100), dtype=np.uint8)) is None


def test_text_alone_is_not_a_scan_area():
    pixels = np.zeros((200, 300), dtype=np.uint8)
    pixels[10:12, 10:250] = 255  # a line of text, two pixels tall
    pixels[20:40:3, 10:250] = 255
    assert detect_scan_area(pixels) is None
