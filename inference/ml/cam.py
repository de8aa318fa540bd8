"""Class activation maps (method step 4): where the network looked.

The CAM comes out of the same forward pass as the probability (Zhou et al. 2016): for
ResNet, the last convolutional features weighted by the output's fc weights; for Darknet-19,
the class convolution's map before global average pooling, which is a CAM by construction.
"""

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from inference.ml.data import letterbox
from inference.ml.networks import forward_with_maps

# A CAM whose range is below this is flat: shown as zeros rather than amplified noise.
FLAT_RANGE = 1e-8


def normalise_cams(cams: torch.Tensor) -> torch.Tensor:
    """Each [h, w] map of [N, h, w] min-max scaled to 0..1; a flat map becomes zeros."""
    low, high = torch.aminmax(cams.flatten(1), dim=1)  # one pass over the maps
    span = (high - low).view(-1, 1, 1)
    # A flat map is divided by infinity: zeros, without a second full-size pass.
    scale = torch.where(span > FLAT_RANGE, span, torch.full_like(span, float("inf")))
    return (cams - low.view(-1, 1, 1)).div_(scale)


def predict_with_cam(
    model: torch.nn.Module, arch: str, batch: torch.Tensor, output_index: int = 0
) -> tuple[np.ndarray, torch.Tensor]:
    """(probabilities [N], CAMs float [N, S, S] in 0..1 on the batch's device) of one output.

    `batch` is a normalised float [N, 3, S, S] batch on the model's device. The model is put
    in eval mode. CAMs stay on the device so the caller can quantise them before the copy."""
    model.eval()
    with torch.inference_mode():
        logits, maps = forward_with_maps(model, arch, batch)
        if arch == "darknet19":
            raw = maps[:, output_index]
        else:
            # The fc weights of the output as a 1x1 convolution over the last features.
            weights = model.fc.weight[output_index].to(maps.dtype).view(1, -1, 1, 1)
            raw = F.conv2d(maps, weights)[:, 0]
        raw = F.interpolate(
            raw[:, None].float(), size=batch.shape[-2:], mode="bilinear", align_corners=False
        )[:, 0]
        probabilities = torch.sigmoid(logits[:, output_index].float())
        return probabilities.cpu().numpy(), normalise_cams(raw)


def cams_to_uint8(cams: torch.Tensor) -> np.ndarray:
    """0..1 CAMs as uint8 0..255 on the CPU (quantised on their device: 4x less to copy)."""
    return (cams * 255.0).round_().to(torch.uint8).cpu().numpy()


def _as_float(cam: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(cam, torch.Tensor):
        cam = cam.detach().float().cpu().numpy()
    cam = np.asarray(cam)
    if cam.dtype == np.uint8:
        return cam.astype(np.float32) / 255.0
    return np.clip(cam.astype(np.float32), 0.0, 1.0)


def cam_for_image(cam: np.ndarray | torch.Tensor, height: int, width: int) -> np.ndarray:
    """A square CAM of a letterboxed input mapped onto the original height x width image:
    the padding is cut away, then the rest resized. Float 0..1."""
    values = _as_float(cam)
    side = values.shape[0]
    if values.shape[0] == values.shape[1]:
        left, top, new_width, new_height = letterbox(height, width, side)
        values = values[top : top + new_height, left : left + new_width]
    if values.shape != (height, width):
        image = Image.fromarray(np.ascontiguousarray(values))  # float32: mode "F"
        values = np.asarray(image.resize((width, height), Image.Resampling.BILINEAR))
    return np.clip(values, 0.0, 1.0)


def colour_map(values: np.ndarray) -> np.ndarray:
    """Jet-like colours (blue, cyan, yellow, red) of 0..1 values, uint8 [..., 3]."""
    x = np.clip(values, 0.0, 1.0)[..., None]
    centres = np.array([3.0, 2.0, 1.0], dtype=np.float32)  # red, green, blue peaks
    rgb = np.clip(1.5 - np.abs(4.0 * x - centres), 0.0, 1.0)
    return (rgb * 255.0).round().astype(np.uint8)


def cam_overlay(
    image: np.ndarray, cam: np.ndarray | torch.Tensor, opacity: float = 0.45
) -> np.ndarray:
    """uint8 HxWx3 RGB: the colour-mapped CAM blended over a greyscale or RGB image."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] in (1, 4):
        image = image[:, :, 0] if image.shape[2] == 1 else image[:, :, :3]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"expected HxW or HxWx3 pixels, got shape {image.shape}")
    rgb = (image[:, :, None] if image.ndim == 2 else image).astype(np.float32)
    colours = colour_map(cam_for_image(cam, *rgb.shape[:2])).astype(np.float32)
    blended = (1.0 - opacity) * rgb + opacity * colours
    return np.clip(blended, 0, 255).round().astype(np.uint8)


def cam_png(cam: np.ndarray | torch.Tensor, image_shape: tuple[int, int] | None = None) -> bytes:
    """The CAM as a colour-mapped RGBA PNG whose alpha is its intensity, for overlays in the
    browser. With `image_shape` (height, width) of the original image, the letterbox is
    undone so the PNG lies exactly over it; otherwise it keeps the CAM's own size."""
    values = cam_for_image(cam, *image_shape) if image_shape else _as_float(cam)
    rgba = np.empty((*values.shape, 4), dtype=np.uint8)
    rgba[..., :3] = colour_map(values)
    rgba[..., 3] = (values * 255.0).round().astype(np.uint8)
    buffer = io.BytesIO()
    # The fastest zlib level: twice as quick to write as the default, the file 1.5x bigger.
    Image.fromarray(rgba).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
