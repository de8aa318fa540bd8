"""The one crop and letterbox rule for ultrasound frames; no Django, no torch here.

`crop` cuts a frame to its scan area (an inclusive box, as `detect_scan_area` and the DICOM
ultrasound regions give it): the import stores frames cropped by it. `letterbox` makes a
model-ready square of any frame: resized keeping its aspect ratio and padded with black,
centred, so a lesion is never stretched; `letterbox_box` gives that geometry, so a CAM
computed on the square can be mapped back onto the frame. The networks' inputs
(inference.ml.data.to_input) are these squares.
"""

import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]  # (x0, y0, x1, y1), both corners inside the area


def crop(pixels: np.ndarray, box: Box | None) -> np.ndarray:
    """The pixels inside `box` (inclusive corners; a box past the edges stops at them),
    grey or colour alike; the frame unchanged without a box."""
    if box is None:
        return pixels
    x0, y0, x1, y1 = box
    if x0 < 0 or y0 < 0 or x1 < x0 or y1 < y0:
        raise ValueError(f"not a box: {box}")
    return pixels[y0 : y1 + 1, x0 : x1 + 1]


def letterbox_box(height: int, width: int, size: int) -> tuple[int, int, int, int]:
    """(left, top, new_width, new_height) of a frame of this size inside the size x size square."""
    if height < 1 or width < 1:
        raise ValueError(f"empty image ({height} x {width})")
    scale = size / max(height, width)
    new_width = max(1, min(size, round(width * scale)))
    new_height = max(1, min(size, round(height * scale)))
    return (size - new_width) // 2, (size - new_height) // 2, new_width, new_height


def as_uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.bool_:
        return pixels.astype(np.uint8) * 255
    # Other depths (16-bit, float) are stretched to their own range: a display window.
    values = pixels.astype(np.float32)
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(pixels.shape, dtype=np.uint8)
    return ((values - low) * (255.0 / (high - low))).round().astype(np.uint8)


def letterbox(pixels: np.ndarray, size: int) -> np.ndarray:
    """uint8 [size, size, 3] from a grey or colour frame (HxW, HxWx1, HxWx3, HxWx4)."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    elif pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[:, :, :3]  # alpha carries nothing clinical
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] == 3)):
        raise ValueError(f"expected HxW, HxWx1, HxWx3 or HxWx4 pixels, got shape {pixels.shape}")
    pixels = np.ascontiguousarray(as_uint8(pixels))
    height, width = pixels.shape[:2]
    left, top, new_width, new_height = letterbox_box(height, width, size)
    image = Image.fromarray(pixels)
    if (new_width, new_height) != (width, height):
        # Resizing one channel and copying it is three times cheaper than resizing RGB.
        image = image.resize((new_width, new_height), Image.Resampling.BILINEAR)
    resized = np.asarray(image)
    square = np.zeros((size, size, 3), dtype=np.uint8)
    square[top : top + new_height, left : left + new_width] = (
        resized[:, :, None] if resized.ndim == 2 else resized
    )
    return square


def model_input(pixels: np.ndarray, *, box: Box | None, size: int) -> np.ndarray:
    """Crop to the scan area, then letterbox: the square a network sees of this frame."""
    return letterbox(crop(pixels, box), size)
