"""Model inputs of stored images: the stored frame (cropped once, at import), letterboxed."""

import numpy as np
import pytest

from annotation.imaging.frames import letterbox
from annotation.models import ImageSource
from inference import datasets
from tests import image_factories
from tests.factories import ExamFactory


@pytest.mark.django_db
def test_a_stored_frame_is_the_input_as_stored_not_cropped_again():
    pixels = np.zeros((90, 120), np.uint8)
    pixels[30:60, 10:110] = 200
    image, _ = image_factories.image_store(
        exam=ExamFactory(),
        pixels=pixels,
        source=ImageSource.PNG,
        color_model="MONOCHROME2",
        scan_region=(10, 30, 109, 59),
    )
    assert (image.height, image.width) == (30, 100)
    # Whatever the row says, the file is the scan area already: no second crop.
    image.scan_region = [0, 0, 9, 9]
    image.save()
    assert datasets.input_shape(image) == (30, 100)
    assert datasets.image_pixels(image).shape == (30, 100)
    [square] = datasets.load_inputs([image.pk], 64)
    assert np.array_equal(square.permute(1, 2, 0).numpy(), letterbox(pixels[30:60, 10:110], 64))
