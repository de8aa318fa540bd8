"""Turns an image plan into pixels: B-mode speckle, colour Doppler, 3D render, cine frames."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.ndimage import gaussian_filter

from annotation.synthetic import anatomy
from annotation.synthetic.centers import Center
from annotation.synthetic.cohort import Exam, ImagePlan, Patient
from annotation.synthetic.common import rng_for
from annotation.synthetic.geometry import Geometry, geometry_for, polar_maps
from annotation.synthetic.lesion import lesion
from annotation.synthetic.text import burn_text

_PAD = 48  # speckle pool margin for random crops


@dataclass
class RenderedImage:
    frames: list[np.ndarray]  # uint8, H x W (grey) or H x W x 3 (RGB)
    geometry: Geometry
    color_box: tuple[int, int, int, int] | None  # inclusive x0, y0, x1, y1 of the Doppler box
    burned_text: list[str]

    @property
    def color_model(self) -> str:
        return "RGB" if self.frames[0].ndim == 3 else "MONOCHROME2"


@lru_cache(maxsize=8)
def _speckle_pool(seed: int, center: Center) -> np.ndarray:
    """A fully developed speckle field (Rayleigh amplitude, mean 1) reused by random crops.

    Filtering complex Gaussian noise once per centre and cropping it per image is ~10x cheaper
    than filtering per image and looks the same.
    """
    rng = rng_for(seed, "speckle", center.code)
    shape = (center.height + _PAD, center.width + _PAD)
    sigma = center.speckle_sigma
    power = np.zeros(shape, dtype=np.float32)
    # Two incoherently compounded fields: fewer black holes than a single Rayleigh field.
    for weight in (0.7, 0.3):
        noise = rng.standard_normal((2, *shape), dtype=np.float32)
        real = gaussian_filter(noise[0], sigma, truncate=2.5)
        imag = gaussian_filter(noise[1], sigma, truncate=2.5)
        power += weight * (real * real + imag * imag) / float(np.mean(real * real + imag * imag))
    amplitude = np.sqrt(power)
    amplitude /= amplitude.mean()
    amplitude.setflags(write=False)
    return amplitude


def _speckle(rng: np.random.Generator, seed: int, center: Center) -> np.ndarray:
    pool = _speckle_pool(seed, center)
    y, x = (int(v) for v in rng.integers(0, _PAD, size=2))
    crop = pool[y : y + center.height, x : x + center.width]
    return crop[:, ::-1] if rng.random() < 0.5 else crop


def _scene(
    rng: np.random.Generator, geometry: Geometry, exam: Exam, plan: ImagePlan
) -> anatomy.Scene:
    level = 0.4 if plan.anatomy != "empty" else 0.3
    scene = anatomy.Scene(echo=anatomy.tissue_background(rng, geometry, level))
    px = 1.0 / geometry.spacing_mm
    if plan.anatomy == "adnexa" and rng.random() < 0.3:
        # Iliac artery and vein in cross-section: small round anechoic rings, deep in the field.
        r, phi = geometry.r_far * rng.uniform(0.78, 0.9), rng.uniform(-0.6, 0.6)
        for step in range(2):
            cx, cy = geometry.point(r, phi + step * 0.06)
            radius = rng.uniform(3.0, 4.5) * px
            vessel = anatomy.Shape(scene.echo.shape, cx, cy, radius, radius * 0.85)
            if not vessel.empty:
                anatomy.paint(scene.echo, vessel, vessel.rho < 1.2, 0.9)
                anatomy.paint(scene.echo, vessel, vessel.rho < 1, anatomy.FLUID)
    if plan.anatomy == "adnexa" and plan.lesion and exam.features is not None:
        lesion(rng, scene, geometry, exam.features, exam.content, plan.ascites)
    elif plan.anatomy == "adnexa":
        cx, cy = geometry.point(
            geometry.r_near + geometry.depth_px * rng.uniform(0.4, 0.6), rng.uniform(-0.3, 0.3)
        )
        if plan.ascites:
            anatomy.ascites(rng, scene, geometry, (cx, cy), 25 * px)
        anatomy.ovary(rng, scene, geometry, cx, cy)
    elif plan.anatomy == "uterus":
        anatomy.uterus(rng, scene, geometry)
        if plan.ascites:
            cx, cy = geometry.point(geometry.r_near + geometry.depth_px * 0.75, 0.0)
            anatomy.ascites(rng, scene, geometry, (cx, cy), 20 * px)
    elif plan.anatomy == "bladder":
        anatomy.bladder(rng, scene, geometry)
    else:
        anatomy.empty_field(rng, scene, geometry)
    return scene


def _beam_gain(geometry: Geometry, beams: list[anatomy.Beam]) -> np.ndarray:
    r, phi, _ = polar_maps(geometry)
    gain = np.ones(r.shape, dtype=np.float32)
    for beam in beams:
        edge = np.clip((beam.half_width - np.abs(phi - beam.phi)) / (0.25 * beam.half_width), 0, 1)
        behind = np.clip((r - beam.r_start) / 12.0, 0, 1)
        if beam.factor > 1:  # enhancement fades with depth
            behind = behind * np.exp(-np.maximum(r - beam.r_start, 0) / (0.5 * geometry.depth_px))
        gain *= 1 + (beam.factor - 1) * edge * behind
    return gain


@lru_cache(maxsize=8)
def _depth_gain(geometry: Geometry) -> np.ndarray:
    """Residual attenuation after time-gain compensation, a brighter focal zone, near-field haze."""
    r, _, _ = polar_maps(geometry)
    depth_mm = (r - geometry.r_near) * geometry.spacing_mm
    focus = geometry.depth_mm * 0.5
    gain = np.exp(-0.011 * depth_mm) * (1 + 0.3 * np.exp(-(((depth_mm - focus) / 12.0) ** 2)))
    gain += 1.5 * np.exp(-np.maximum(depth_mm, 0) / 2.5)  # ring-down near the probe face
    gain = gain.astype(np.float32)
    gain.setflags(write=False)
    return gain


def _compress(amplitude: np.ndarray, center: Center, geometry: Geometry) -> np.ndarray:
    """Log compression to 8 bits over the centre's dynamic range (only the sector's box)."""
    _, _, mask = polar_maps(geometry)
    x0, y0, x1, y1 = geometry.bbox
    box = amplitude[y0 : y1 + 1, x0 : x1 + 1]
    decibels = 20.0 * np.log10(box + np.float32(1e-6)) + np.float32(center.gain_db)
    top = 13.0
    low = np.float32(top - center.dynamic_range_db)
    value = np.clip((decibels - low) / np.float32(center.dynamic_range_db), 0, 1)
    grey = np.zeros(amplitude.shape, dtype=np.uint8)
    grey[y0 : y1 + 1, x0 : x1 + 1] = (255.0 * value ** np.float32(center.gamma)).astype(np.uint8)
    grey[~mask] = 0
    return grey


_TINTS = {"gray": (1.0, 1.0, 1.0), "blue": (0.86, 0.94, 1.0), "sepia": (1.0, 0.91, 0.78)}


@lru_cache(maxsize=4)
def _tint_table(name: str) -> np.ndarray:
    factors = np.array(_TINTS[name], dtype=np.float32)
    return (np.arange(256, dtype=np.float32)[:, None] * factors).astype(np.uint8)


def tint(grey: np.ndarray, center: Center, force_rgb: bool = False) -> np.ndarray:
    if center.tint == "gray" and not force_rgb:
        return grey
    return _tint_table(center.tint)[grey]


def _doppler(
    rng: np.random.Generator,
    rgb: np.ndarray,
    geometry: Geometry,
    scene: anatomy.Scene,
    color_score: int,
) -> tuple[int, int, int, int]:
    """Draws the colour box and flow blobs (none for colour score 1); returns the box."""
    x0, y0, x1, y1 = geometry.bbox
    lx0, ly0, lx1, ly1 = scene.lesion_box or (x0, y0, x1, y1)
    pad = 12
    box = (
        max(x0 + 20, lx0 - pad),
        max(y0 + 4, ly0 - pad),
        min(x1 - 20, lx1 + pad),
        min(y1 - 4, ly1 + pad),
    )
    bx0, by0, bx1, by1 = box
    _, _, mask = polar_maps(geometry)
    blobs = {1: 0, 2: 4, 3: 12, 4: 28}[color_score]
    if blobs and scene.vascular is not None:
        ys, xs = np.nonzero(scene.vascular[by0:by1, bx0:bx1])
        velocity = np.zeros((by1 - by0, bx1 - bx0), dtype=np.float32)
        if len(xs):
            yy, xx = np.mgrid[0 : by1 - by0, 0 : bx1 - bx0].astype(np.float32)
            for pick in rng.integers(0, len(xs), size=blobs):
                cx, cy = float(xs[pick]), float(ys[pick])
                length = rng.uniform(4, 10 + 2 * color_score)
                width = rng.uniform(1.2, 2.2 + 0.3 * color_score)
                turn = rng.uniform(0, math.pi)
                window = (
                    slice(max(0, int(cy - length) - 2), int(cy + length) + 3),
                    slice(max(0, int(cx - length) - 2), int(cx + length) + 3),
                )
                dx, dy = xx[window] - cx, yy[window] - cy
                along = dx * math.cos(turn) + dy * math.sin(turn)
                # Vessels curve: bend the blob's cross-axis with distance along it.
                bend = rng.uniform(-0.08, 0.08)
                across = -dx * math.sin(turn) + dy * math.cos(turn) + bend * along * along / length
                shape = np.exp(-((along / length) ** 2) - (across / width) ** 2)
                sign = 1.0 if rng.random() < 0.55 else -1.0
                speed = sign * rng.uniform(0.5, 1.0)
                velocity[window] = np.where(
                    np.abs(shape * speed) > np.abs(velocity[window]),
                    shape * speed,
                    velocity[window],
                )
        flow = (np.abs(velocity) > 0.22) & mask[by0:by1, bx0:bx1]
        m = np.clip(np.abs(velocity), 0, 1)
        red = np.stack([130 + 125 * m, 200 * m**3, 20 * m], axis=-1)
        blue = np.stack([10 * m, 120 * m**2.5, 150 + 105 * m], axis=-1)
        colour = np.where((velocity > 0)[..., None], red, blue).astype(np.uint8)
        region = rgb[by0:by1, bx0:bx1]
        region[flow] = colour[flow]
    # Dashed box outline, as scanners draw it.
    outline = np.zeros(rgb.shape[:2], dtype=bool)
    outline[by0, bx0 : bx1 + 1] = outline[by1, bx0 : bx1 + 1] = True
    outline[by0 : by1 + 1, bx0] = outline[by0 : by1 + 1, bx1] = True
    dashes = ((np.arange(rgb.shape[1])[None, :] + np.arange(rgb.shape[0])[:, None]) // 4) % 2 == 0
    rgb[outline & dashes] = (190, 190, 190)
    # Colour bar in the left margin: red (towards the probe) over blue.
    ramp = np.linspace(1, -1, 80)
    bar = np.where(
        (ramp > 0)[:, None],
        np.stack([130 + 125 * ramp, 200 * ramp**3, 0 * ramp], axis=-1),
        np.stack([0 * ramp, 120 * np.abs(ramp) ** 2.5, 150 + 105 * np.abs(ramp)], axis=-1),
    ).astype(np.uint8)
    rgb[y0 + 30 : y0 + 110, 12:20] = bar[:, None, :]
    return box


def _render_3d(rng: np.random.Generator, geometry: Geometry, exam: Exam) -> np.ndarray:
    """A smooth shaded surface render of the mass (sepia volume-render look), no speckle."""
    x0, y0, x1, y1 = geometry.bbox
    h, w = y1 - y0 + 1, x1 - x0 + 1
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    features = exam.features
    radius = min(h, w) * rng.uniform(0.3, 0.42)
    cx, cy = w / 2 + rng.uniform(-0.1, 0.1) * w, h / 2 + rng.uniform(-0.08, 0.08) * h
    rho2 = ((xx - cx) / radius) ** 2 + ((yy - cy) / (radius * 0.85)) ** 2
    height = np.sqrt(np.clip(1 - rho2, 0, None)) * radius
    height += 4.0 * anatomy.smooth_noise(rng, (h, w), 24)
    bumps = 0 if features is None else min(features.papillary_projections, 3)
    if features is not None and features.papillary_projections >= 4:
        bumps = int(rng.integers(5, 9))
    if features is not None and features.solid_diameter_mm:
        bumps += 1 + int(features.solid_diameter_mm / max(features.lesion_diameter_mm, 1) * 4)
    for _ in range(bumps):
        angle, dist = rng.uniform(0, 2 * math.pi), rng.uniform(0, 0.7) * radius
        bx, by = cx + dist * math.cos(angle), cy + dist * math.sin(angle)
        size = rng.uniform(0.08, 0.2) * radius
        height += size * 1.2 * np.exp(-((xx - bx) ** 2 + (yy - by) ** 2) / (2 * size * size))
    gy, gx = np.gradient(gaussian_filter(height, 1.5))
    normal = np.stack([-gx, -gy, np.ones_like(gx)])
    normal /= np.linalg.norm(normal, axis=0)
    light = np.array([-0.45, -0.55, 0.7])
    light /= np.linalg.norm(light)
    diffuse = np.clip(np.tensordot(light, normal, axes=1), 0, 1)
    halfway = light + np.array([0.0, 0.0, 1.0])
    halfway /= np.linalg.norm(halfway)
    specular = np.clip(np.tensordot(halfway, normal, axes=1), 0, 1) ** 24
    shade = 0.12 + 0.7 * diffuse + 0.35 * specular
    surface = rho2 < 1.0
    shade = np.where(surface, shade, 0.04 + 0.05 * np.exp(-rho2 / 4))
    shade = np.clip(shade, 0, 1)
    rgb = np.zeros((geometry.height, geometry.width, 3), dtype=np.uint8)
    rgb[y0 : y1 + 1, x0 : x1 + 1] = np.stack(
        [255 * shade**0.9, 190 * shade**1.2, 110 * shade**1.6], axis=-1
    ).astype(np.uint8)
    return rgb


def render_image(seed: int, patient: Patient, exam: Exam, plan: ImagePlan) -> RenderedImage:
    """All frames of one image, with the header text burned in. Deterministic per (seed, image)."""
    rng = rng_for(seed, "image", exam.accession_number, plan.number)
    center = exam.center
    geometry = geometry_for(center)
    color_box = None
    if plan.is_3d:
        frames = [_render_3d(rng, geometry, exam)]
    else:
        scene = _scene(rng, geometry, exam, plan)
        base = scene.echo * _speckle(rng, seed, center)
        if scene.beams:
            base *= _beam_gain(geometry, scene.beams)
        depth = _depth_gain(geometry)
        frames = []
        shift = np.zeros(2)
        heading = rng.uniform(0, 2 * math.pi)
        drift = rng.uniform(0.6, 1.2) * np.array([math.cos(heading), math.sin(heading)])
        for _ in range(plan.frames):
            # Slight probe motion between cine frames; the speckle moves with the tissue.
            moved = np.roll(base, (int(round(shift[0])), int(round(shift[1]))), axis=(0, 1))
            frames.append(_compress(moved * depth, center, geometry))
            shift += drift + rng.normal(0, 0.4, size=2)
        if plan.doppler:
            rgb = tint(frames[0], center, force_rgb=True).copy()
            features = exam.features
            color_box = _doppler(rng, rgb, geometry, scene, features.color_score if features else 1)
            frames = [rgb]
        else:
            frames = [tint(frame, center) for frame in frames]
    frames, burned = burn_text(frames, geometry, patient, exam, plan, color_box is not None)
    return RenderedImage(frames=frames, geometry=geometry, color_box=color_box, burned_text=burned)
