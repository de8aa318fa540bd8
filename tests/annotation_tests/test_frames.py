"""The one crop and letterbox rule (annotation.imaging.frames), on hand-made arrays."""

import numpy as np
import pytest

from annotation.imaging.frames import crop, letterbox, letterbox_box, model_input
from inference.ml.data import to_input


def test_the_crop_box_is_inclusive_on_both_corners():
    pixels = np.arange(10 * 12, dtype=np.uint8).reshape(10, 12)
    cut = crop(pixels, (2, 3, 5, 7))
    assert cut.shape == (5, 4)
    assert cut[0, 0] == pixels[3, 2] and cut[-1, -1] == pixels[7, 5]
    assert crop(pixels, (4, 4, 4, 4)).shape == (1, 1)


def test_the_crop_keeps_colour_and_stops_at_the_edges():
    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[3:8, 2:6] = (255, 0, 0)
    cut = crop(rgb, (2, 3, 5, 7))
    assert cut.shape == (5, 4, 3) and (cut == (255, 0, 0)).all()
    assert crop(rgb, (6, 6, 50, 50)).shape == (4, 6, 3)


def test_no_box_no_crop_and_no_backward_box():
    pixels = np.ones((4, 5), np.uint8)
    assert crop(pixels, None) is pixels
    with pytest.raises(ValueError):
        crop(pixels, (3, 0, 1, 2))


def test_the_letterbox_keeps_the_aspect_and_centres_the_padding():
    wide = np.full((60, 120), 200, np.uint8)
    square = letterbox(wide, 128)
    assert square.shape == (128, 128, 3) and square.dtype == np.uint8
    assert letterbox_box(60, 120, 128) == (0, 32, 128, 64)
    assert (square[:32] == 0).all() and (square[96:] == 0).all()  # equal bands
    assert (square[32:96] == 200).all()
    tall = letterbox(np.full((120, 60, 3), (0, 255, 0), np.uint8), 128)
    assert (tall[:, :32] == 0).all() and (tall[:, 96:] == 0).all()
    assert (tall[:, 32:96] == (0, 255, 0)).all()


def test_grey_becomes_three_equal_channels_and_other_depths_are_stretched():
    grey = letterbox(np.full((8, 8), 90, np.uint8), 8)
    assert (grey == 90).all()
    sixteen = letterbox(np.array([[0, 4000], [4000, 0]], np.uint16), 2)
    assert sixteen.max() == 255 and sixteen.min() == 0
    with pytest.raises(ValueError):
        letterbox(np.zeros((4, 4, 2), np.uint8), 8)


@pytest.mark.parametrize("shape", [(30, 40), (50, 20), (33, 33, 3), (20, 70, 4), (17, 9, 1)])
def test_the_networks_see_the_letterbox_square(shape):
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    square = letterbox(pixels, 64)
    assert np.array_equal(to_input(pixels, 64).permute(1, 2, 0).numpy(), square)


def test_a_model_input_is_the_crop_then_the_letterbox():
    pixels = np.zeros((100, 100), np.uint8)
    pixels[10:30, 20:60] = 255  # a 20 x 40 scan area
    square = model_input(pixels, box=(20, 10, 59, 29), size=64)
    assert (square[16:48] == 255).all() and (square[:16] == 0).all()
