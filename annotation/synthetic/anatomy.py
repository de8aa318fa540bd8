"""Paints echogenicity maps (linear echo amplitude before speckle) of pelvic anatomy.

Amplitudes: fluid about 0.005 (black after log compression), soft tissue about 0.4,
walls and septations about 1, calcified or fatty plugs up to 2. Post-processing effects
that follow the beam (acoustic shadows, posterior enhancement) are returned as `Beam`
records and applied along the sector's radial lines by the renderer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from annotation.synthetic.geometry import Geometry

FLUID = 0.005


@dataclass
class Beam:
    """A shadow (factor < 1) or enhancement (factor > 1) behind an object, along the beam."""

    phi: float
    half_width: float  # radians
    r_start: float  # pixels
    factor: float


@dataclass
class Scene:
    echo: np.ndarray  # float32, H x W
    beams: list[Beam] = field(default_factory=list)
    vascular: np.ndarray | None = None  # bool H x W: where colour flow may appear
    lesion_box: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 of the lesion


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell: int) -> np.ndarray:
    """Zero-mean, unit-ish, smooth noise with features about `cell` pixels across."""
    small = rng.standard_normal((shape[0] // cell + 2, shape[1] // cell + 2)).astype(np.float32)
    small = gaussian_filter(small, 0.8)
    small /= small.std() + 1e-6
    image = Image.fromarray(small, mode="F").resize((shape[1], shape[0]), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.float32)


class Shape:
    """An (optionally irregular) ellipse: normalised radius rho per pixel in a local window."""

    def __init__(
        self,
        shape: tuple[int, int],
        cx: float,
        cy: float,
        a: float,
        b: float,
        angle: float = 0.0,
        wobble: list[tuple[int, float, float]] | None = None,
        pad: float = 1.3,
    ) -> None:
        reach = max(a, b) * pad + 2
        self.x0 = max(0, int(cx - reach))
        self.x1 = min(shape[1], int(cx + reach) + 1)
        self.y0 = max(0, int(cy - reach))
        self.y1 = min(shape[0], int(cy + reach) + 1)
        ys = np.arange(self.y0, self.y1, dtype=np.float32)[:, None]
        xs = np.arange(self.x0, self.x1, dtype=np.float32)[None, :]
        self.dx, self.dy = np.broadcast_arrays(xs - np.float32(cx), ys - np.float32(cy))
        cos, sin = math.cos(angle), math.sin(angle)
        u = (self.dx * np.float32(cos) + self.dy * np.float32(sin)) / np.float32(max(a, 0.5))
        v = (self.dy * np.float32(cos) - self.dx * np.float32(sin)) / np.float32(max(b, 0.5))
        self.u, self.v = u, v
        self.theta = np.arctan2(v, u)
        self.rho = np.sqrt(u * u + v * v)
        if wobble:
            boundary = np.ones_like(self.rho)
            for k, amp, phase in wobble:
                boundary += amp * np.cos(k * self.theta + phase)
            self.rho = self.rho / boundary

    @property
    def window(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0


def wobble(rng: np.random.Generator, strength: float, high: bool = False) -> list:
    orders = range(5, 13) if high else range(2, 6)
    return [
        (k, strength * rng.uniform(0.3, 1.0) / (1 + 0.3 * i), rng.uniform(0, 2 * math.pi))
        for i, k in enumerate(orders)
    ]


def paint(echo: np.ndarray, shape: Shape, inside: np.ndarray, value: np.ndarray | float) -> None:
    window = echo[shape.window]
    if isinstance(value, np.ndarray):
        window[inside] = value[inside]
    else:
        window[inside] = value


def tissue_background(rng: np.random.Generator, geometry: Geometry, level: float) -> np.ndarray:
    shape = (geometry.height, geometry.width)
    coarse = smooth_noise(rng, shape, 45)
    fine = smooth_noise(rng, shape, 10)
    echo = level * np.exp(0.5 * coarse + 0.22 * fine)
    # A few bright fascial planes and bowel-wall streaks running roughly across the beam.
    for _ in range(int(rng.integers(2, 6))):
        r = rng.uniform(geometry.r_near + 20, geometry.r_far - 10)
        phi = rng.uniform(-geometry.half_angle, geometry.half_angle)
        cx, cy = geometry.point(r, phi)
        streak = Shape(
            shape,
            cx,
            cy,
            rng.uniform(15, 50),
            rng.uniform(1.5, 3.5),
            rng.uniform(-0.5, 0.5),
            wobble(rng, 0.3),
        )
        inside = streak.rho < 1
        paint(echo, streak, inside, echo[streak.window] * rng.uniform(1.8, 2.8))
    return echo.astype(np.float32)


def ovary(
    rng: np.random.Generator,
    scene: Scene,
    geometry: Geometry,
    cx: float,
    cy: float,
    scale: float = 1.0,
) -> None:
    """A mildly hypoechoic oval (about 30 x 20 mm) with a handful of anechoic follicles."""
    px = 1.0 / geometry.spacing_mm
    a, b = 15 * px * scale * rng.uniform(0.85, 1.2), 10 * px * scale * rng.uniform(0.85, 1.2)
    body = Shape(scene.echo.shape, cx, cy, a, b, rng.uniform(-0.6, 0.6), wobble(rng, 0.05))
    if body.empty:
        return
    inside = body.rho < 1
    paint(scene.echo, body, inside, scene.echo[body.window] * 0.65)
    for _ in range(int(rng.integers(3, 10))):
        radius = rng.uniform(1.5, 4.5) * px * scale
        angle, dist = rng.uniform(0, 2 * math.pi), rng.uniform(0, 0.7)
        fx, fy = cx + dist * a * math.cos(angle), cy + dist * b * math.sin(angle)
        follicle = Shape(scene.echo.shape, fx, fy, radius, radius * rng.uniform(0.75, 1.0))
        if not follicle.empty:
            paint(scene.echo, follicle, follicle.rho < 1, FLUID * 2)


def ascites(
    rng: np.random.Generator,
    scene: Scene,
    geometry: Geometry,
    near: tuple[float, float],
    size: float,
) -> None:
    """Anechoic free-fluid pockets with angular outlines, beside and behind the given point."""
    for _ in range(int(rng.integers(1, 4))):
        angle = rng.uniform(0.2, math.pi - 0.2)
        dist = size * rng.uniform(0.9, 1.4)
        cx, cy = near[0] + dist * math.cos(angle), near[1] + dist * math.sin(angle) * 0.8
        a = size * rng.uniform(0.35, 0.8)
        pocket = Shape(
            scene.echo.shape,
            cx,
            cy,
            a,
            a * rng.uniform(0.25, 0.5),
            rng.uniform(-0.8, 0.8),
            [(3, 0.25, rng.uniform(0, 6))],
        )
        if not pocket.empty:
            paint(scene.echo, pocket, pocket.rho < 1, FLUID)


def uterus(rng: np.random.Generator, scene: Scene, geometry: Geometry) -> None:
    """Pear-shaped myometrium with an echogenic endometrial stripe along its long axis."""
    px = 1.0 / geometry.spacing_mm
    r = geometry.r_near + geometry.depth_px * rng.uniform(0.4, 0.55)
    cx, cy = geometry.point(r, rng.uniform(-0.2, 0.2))
    a, b = rng.uniform(32, 42) * px, rng.uniform(18, 24) * px
    angle = rng.uniform(-0.5, 0.5)
    body = Shape(scene.echo.shape, cx, cy, a, b, angle, wobble(rng, 0.03))
    taper = 0.62 + 0.38 * np.clip((body.u + 1) / 2, 0, 1)  # the fundus end is wider
    rho = np.sqrt(body.u**2 + (body.v / taper) ** 2)
    inside = rho < 1
    texture = 0.5 * np.exp(0.12 * smooth_noise(rng, rho.shape, 7))
    paint(scene.echo, body, (rho < 1.03) & ~inside, 0.22)
    paint(scene.echo, body, inside, texture)
    # Endometrium: a spindle along the long axis, thickest mid-cavity, with a dark halo.
    half = rng.uniform(1.5, 4.5) * px / b * np.clip(1 - (body.u / 0.75) ** 2, 0, 1)
    offset = np.abs(body.v - 0.08 * np.sin(2.5 * body.u))
    paint(scene.echo, body, inside & (offset < half + 1.5 * px / b), 0.12)
    paint(scene.echo, body, inside & (offset < half), 1.0)


def bladder(rng: np.random.Generator, scene: Scene, geometry: Geometry) -> None:
    """A large anechoic rounded rectangle near the probe with a bright wall."""
    px = 1.0 / geometry.spacing_mm
    r = geometry.r_near + geometry.depth_px * rng.uniform(0.3, 0.42)
    cx, cy = geometry.point(r, rng.uniform(-0.1, 0.1))
    a = min(rng.uniform(35, 50) * px, geometry.depth_px * 0.55)
    b = min(rng.uniform(22, 32) * px, geometry.depth_px * 0.3)
    body = Shape(scene.echo.shape, cx, cy, a, b, rng.uniform(-0.15, 0.15))
    rho = (np.abs(body.u) ** 4 + np.abs(body.v) ** 4) ** 0.25  # superellipse: rounded rectangle
    wall = 2.5 / b
    paint(scene.echo, body, rho < 1 + wall, 1.2)
    paint(scene.echo, body, rho < 1, FLUID)
    scene.beams.append(
        Beam(
            math.atan2(cx - geometry.apex_x, cy - geometry.apex_y),
            math.atan2(a * 0.8, r),
            r + b,
            1.6,
        )
    )


def empty_field(rng: np.random.Generator, scene: Scene, geometry: Geometry) -> None:
    """Poor probe contact: weak echoes, reverberation arcs near the probe and dark columns."""
    r_map = np.hypot(
        np.arange(geometry.width, dtype=np.float32)[None, :] - geometry.apex_x,
        np.arange(geometry.height, dtype=np.float32)[:, None] - geometry.apex_y,
    )
    scene.echo *= rng.uniform(0.08, 0.2)
    period = rng.uniform(18, 30)
    depth = r_map - geometry.r_near
    ringing = np.exp(-depth / rng.uniform(25, 60)) * (np.cos(2 * math.pi * depth / period) > 0.8)
    scene.echo += (0.5 * ringing).astype(np.float32)
    for _ in range(int(rng.integers(1, 4))):
        scene.beams.append(
            Beam(
                rng.uniform(-0.8, 0.8) * geometry.half_angle,
                rng.uniform(0.05, 0.25),
                geometry.r_near + 5,
                0.08,
            )
        )
