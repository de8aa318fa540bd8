"""Decoded ultrasound pixels to network inputs.

Images are letterboxed: resized keeping their aspect ratio and padded with black to a
square, so a lesion is never stretched. `letterbox` gives the geometry, so a CAM computed on
the square can be mapped back onto the original image.
"""

import numpy as np
import torch
from PIL import Image

# ImageNet statistics: the pretrained weights expect inputs normalised with them.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def letterbox(height: int, width: int, size: int) -> tuple[int, int, int, int]:
    """(left, top, new_width, new_height) of an image of this size inside the size x size square."""
    if height < 1 or width < 1:
        raise ValueError(f"empty image ({height} x {width})")
    scale = size / max(height, width)
    new_width = max(1, min(size, round(width * scale)))
    new_height = max(1, min(size, round(height * scale)))
    return (size - new_width) // 2, (size - new_height) // 2, new_width, new_height


def _as_uint8(pixels: np.ndarray) -> np.ndarray:
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


def to_input(pixels: np.ndarray, size: int) -> torch.Tensor:
    """uint8 [3, size, size] from a greyscale or colour image (HxW, HxWx1, HxWx3, HxWx4)."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    elif pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[:, :, :3]  # alpha carries nothing clinical
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] == 3)):
        raise ValueError(f"expected HxW, HxWx1, HxWx3 or HxWx4 pixels, got shape {pixels.shape}")
    pixels = np.ascontiguousarray(_as_uint8(pixels))
    height, width = pixels.shape[:2]
    left, top, new_width, new_height = letterbox(height, width, size)
    image = Image.fromarray(pixels)
    if (new_width, new_height) != (width, height):
        # Resizing one channel and copying it is three times cheaper than resizing RGB.
        image = image.resize((new_width, new_height), Image.Resampling.BILINEAR)
    resized = np.asarray(image)
    square = np.zeros((size, size, 3), dtype=np.uint8)
    square[top : top + new_height, left : left + new_width] = (
        resized[:, :, None] if resized.ndim == 2 else resized
    )
    return torch.from_numpy(square).permute(2, 0, 1).contiguous()


def stack_inputs(images: list[np.ndarray], size: int) -> torch.Tensor:
    """uint8 [N, 3, size, size] from decoded images of any sizes."""
    if not images:
        return torch.zeros((0, 3, size, size), dtype=torch.uint8)
    return torch.stack([to_input(pixels, size) for pixels in images])


def normalise(batch: torch.Tensor) -> torch.Tensor:
    """Float, ImageNet-normalised, on the batch's device. uint8 is read as 0..255,
    floating point as 0..1."""
    if batch.is_floating_point():
        values = batch.float()
    else:
        values = batch.float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN, device=batch.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=batch.device).view(1, 3, 1, 1)
    return (values - mean) / std
