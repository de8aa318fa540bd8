"""On-the-fly augmentation of training batches (method step 4), vectorised over the batch.

Random crop, rotation, flips, scaling and translation are folded into one affine matrix per
image and applied with a single `affine_grid` + `grid_sample`; saturation and exposure are
two tensor operations. Each image gets its own parameters, drawn from the caller's
generator, so a seeded run is reproducible. Validation images are never augmented
(`eval_batch`).
"""

import math

import torch
import torch.nn.functional as F

# Side of the random crop window, as a fraction of the image side; placed anywhere inside.
CROP_FRACTION = (0.8, 1.0)
ROTATION_DEGREES = 15.0  # uniform in +-15 degrees
SCALE = (0.85, 1.15)  # > 1 zooms in
TRANSLATION = 0.10  # uniform in +-10 % of the side, each axis
SATURATION = (0.7, 1.3)  # 0 would be grey, 1 unchanged
EXPOSURE = (0.7, 1.3)  # brightness factor (darknet's "exposure")
FLIP_PROBABILITY = 0.5  # horizontal and vertical, independently

# ITU-R BT.601 luma, for the grey image saturation blends towards.
_LUMA = (0.299, 0.587, 0.114)


def _to_float(batch: torch.Tensor) -> torch.Tensor:
    if batch.ndim != 4 or batch.shape[1] != 3:
        raise ValueError(f"expected a [N, 3, H, W] batch, got {tuple(batch.shape)}")
    return batch.float() if batch.is_floating_point() else batch.float().div_(255.0)


def _uniform(n: int, bounds: tuple[float, float], generator: torch.Generator) -> torch.Tensor:
    low, high = bounds
    return low + (high - low) * torch.rand(n, generator=generator, device=generator.device)


def affine_matrices(n: int, generator: torch.Generator) -> torch.Tensor:
    """[n, 2, 3] matrices mapping output to input coordinates (affine_grid's convention,
    both in -1..1), one random crop/rotation/flip/scale/translation per image."""
    # Output point u: flip it, rotate and scale it, shift it, then read it inside the crop.
    crop = _uniform(n, CROP_FRACTION, generator)
    offset = (torch.rand(n, 2, generator=generator, device=generator.device) * 2 - 1) * (
        1 - crop[:, None]
    )
    angle = _uniform(n, (-ROTATION_DEGREES, ROTATION_DEGREES), generator) * (math.pi / 180)
    scale = _uniform(n, SCALE, generator)
    # Normalised coordinates span 2, so a shift of 10 % of the side is 0.2.
    shift = (torch.rand(n, 2, generator=generator, device=generator.device) * 2 - 1) * (
        2 * TRANSLATION
    )
    flip = torch.rand(n, 2, generator=generator, device=generator.device) < FLIP_PROBABILITY
    sign = 1.0 - 2.0 * flip.float()  # -1 flips that axis

    cos, sin = torch.cos(angle), torch.sin(angle)
    factor = crop / scale
    theta = torch.empty(n, 2, 3, device=generator.device)
    theta[:, 0, 0] = factor * cos * sign[:, 0]
    theta[:, 0, 1] = -factor * sin * sign[:, 1]
    theta[:, 1, 0] = factor * sin * sign[:, 0]
    theta[:, 1, 1] = factor * cos * sign[:, 1]
    theta[:, :, 2] = offset - crop[:, None] * shift
    return theta


def augment_batch(batch: torch.Tensor, generator: torch.Generator, out_size: int) -> torch.Tensor:
    """Float [N, 3, out_size, out_size] in 0..1, each image randomly augmented.

    `batch` is uint8 (0..255) or float (0..1) [N, 3, H, W], square as `to_input` makes it;
    the output stays on its device whatever the generator's device. Areas moved in from
    outside the image are black, like the letterbox padding."""
    images = _to_float(batch)
    n = images.shape[0]
    theta = affine_matrices(n, generator).to(images.device)
    grid = F.affine_grid(theta, [n, 3, out_size, out_size], align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    saturation = _uniform(n, SATURATION, generator).to(images.device).view(n, 1, 1, 1)
    exposure = _uniform(n, EXPOSURE, generator).to(images.device).view(n, 1, 1, 1)
    luma = torch.tensor(_LUMA, device=images.device).view(1, 3, 1, 1)
    grey = (out * luma).sum(dim=1, keepdim=True)
    out = grey + saturation * (out - grey)
    return out.mul_(exposure).clamp_(0.0, 1.0)


def eval_batch(batch: torch.Tensor, out_size: int) -> torch.Tensor:
    """Float [N, 3, out_size, out_size] in 0..1: only resized, never augmented."""
    images = _to_float(batch)
    if images.shape[-2:] == (out_size, out_size):
        return images
    return F.interpolate(
        images, size=(out_size, out_size), mode="bilinear", align_corners=False, antialias=True
    ).clamp_(0.0, 1.0)
