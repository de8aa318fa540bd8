"""The curvilinear sector of a transvaginal probe: where it sits in the image and its pixel maps."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from annotation.synthetic.centers import Center

SIDE_MARGIN = 40  # pixels kept free on each side for the depth scale and the colour bar
NEAR_RATIO = 0.12  # near-field arc radius as a fraction of the far-field radius


@dataclass(frozen=True)
class Geometry:
    width: int
    height: int
    header_height: int
    apex_x: float
    apex_y: float
    r_near: float  # pixels
    r_far: float  # pixels
    half_angle: float  # radians
    spacing_mm: float  # mm per pixel, both directions

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """Inclusive pixel bounding box (x0, y0, x1, y1) of the sector, clipped to the image."""
        half_width = self.r_far * math.sin(self.half_angle)
        x0 = max(0, math.floor(self.apex_x - half_width))
        x1 = min(self.width - 1, math.ceil(self.apex_x + half_width))
        y0 = max(0, math.floor(self.apex_y + self.r_near * math.cos(self.half_angle)))
        y1 = min(self.height - 1, math.ceil(self.apex_y + self.r_far))
        return x0, y0, x1, y1

    @property
    def depth_px(self) -> float:
        return self.r_far - self.r_near

    @property
    def depth_mm(self) -> float:
        return self.depth_px * self.spacing_mm

    def point(self, r: float, phi: float) -> tuple[float, float]:
        """Image (x, y) of the point at radius r (pixels) and angle phi (radians from vertical)."""
        return self.apex_x + r * math.sin(phi), self.apex_y + r * math.cos(phi)


def geometry_for(center: Center) -> Geometry:
    theta = math.radians(center.half_angle_deg)
    usable_height = center.height - center.header_height - 8
    r_far = min(
        (center.width - 2 * SIDE_MARGIN) / (2.0 * math.sin(theta)),
        usable_height / (1.0 - NEAR_RATIO * math.cos(theta)),
    )
    r_far = float(math.floor(r_far))
    r_near = round(NEAR_RATIO * r_far, 1)
    apex_y = center.header_height + 4 - r_near * math.cos(theta)
    return Geometry(
        width=center.width,
        height=center.height,
        header_height=center.header_height,
        apex_x=center.width / 2.0,
        apex_y=round(apex_y, 2),
        r_near=r_near,
        r_far=r_far,
        half_angle=theta,
        spacing_mm=center.pixel_spacing_mm,
    )


@lru_cache(maxsize=16)
def polar_maps(geometry: Geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(r, phi, mask) per pixel: radius from the apex in pixels, angle from vertical, in sector.

    Cached per geometry; callers must not modify the arrays.
    """
    ys, xs = np.mgrid[0 : geometry.height, 0 : geometry.width].astype(np.float32)
    dx = xs - np.float32(geometry.apex_x)
    dy = ys - np.float32(geometry.apex_y)
    r = np.sqrt(dx * dx + dy * dy)
    phi = np.arctan2(dx, dy)
    mask = (r >= geometry.r_near) & (r <= geometry.r_far) & (np.abs(phi) <= geometry.half_angle)
    for array in (r, phi, mask):
        array.setflags(write=False)
    return r, phi, mask
