"""Paints an adnexal mass from its IOTA features at the image's pixel spacing."""

from __future__ import annotations

import math

import numpy as np

from annotation.synthetic.anatomy import (
    FLUID,
    Beam,
    Scene,
    Shape,
    ascites,
    ovary,
    paint,
    smooth_noise,
    wobble,
)
from annotation.synthetic.geometry import Geometry
from annotation.synthetic.pathology import Features

CONTENT_LEVEL = {"anechoic": FLUID, "ground_glass": 0.06, "low_level": 0.014}


def _solid_texture(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    # Echogenic, heterogeneous: brighter than the surrounding stroma, patchy.
    return (0.85 * np.exp(0.6 * smooth_noise(rng, shape, 4))).astype(np.float32)


def lesion(
    rng: np.random.Generator,
    scene: Scene,
    geometry: Geometry,
    features: Features,
    content: str,
    show_ascites: bool,
) -> None:
    """Paints the mass (and ovarian tissue beside it) into scene; records beams and vessels."""
    px = 1.0 / geometry.spacing_mm
    echo = scene.echo
    radius = features.lesion_diameter_mm / 2 * px
    radius = min(radius, geometry.depth_px * 0.58)  # very large masses fill the field
    r_c = geometry.r_near + geometry.depth_px * rng.uniform(0.42, 0.58)
    r_c = float(np.clip(r_c, geometry.r_near + radius * 0.75, geometry.r_far - radius * 0.85))
    phi_c = rng.uniform(-0.25, 0.25) * geometry.half_angle
    cx, cy = geometry.point(r_c, phi_c)
    b = radius * rng.uniform(0.78, 0.95)
    angle = rng.uniform(-0.4, 0.4)
    scene.lesion_box = (int(cx - radius), int(cy - radius), int(cx + radius), int(cy + radius))

    if show_ascites:
        ascites(rng, scene, geometry, (cx, cy), radius + 8 * px)
    # Ovarian tissue cupping the mass (the "ovarian crescent").
    side = rng.uniform(0, 2 * math.pi)
    ovary(
        rng,
        scene,
        geometry,
        cx + 0.8 * radius * math.cos(side),
        cy + 0.8 * radius * math.sin(side),
        scale=max(0.7, min(1.3, radius / (40 * px))),
    )

    # Irregular solid tumours have a lobulated outline; cysts keep a smooth outer wall.
    lobulated = features.irregular_walls and features.mass_type == "solid"
    outer = Shape(echo.shape, cx, cy, radius, b, angle, wobble(rng, 0.1 if lobulated else 0.04))
    if outer.empty:
        return
    solid_fraction = features.solid_diameter_mm / max(features.lesion_diameter_mm, 1)
    wall_px = max(1.6, 0.9 * px * (1.6 if features.irregular_walls else 1.0))
    wall = wall_px / radius
    inner_rho = outer.rho
    if features.irregular_walls:
        # Only the inner contour is irregular; the outer one stays smooth.
        ragged = np.ones_like(outer.rho)
        for k, amp, phase in wobble(rng, 0.09, high=True):
            ragged += amp * np.cos(k * outer.theta + phase)
        inner_rho = outer.rho / ragged
    vascular = np.zeros(outer.rho.shape, dtype=bool)

    def on_wall(t: float, along_u: float, along_v: float) -> tuple[float, float]:
        # A point on the (rotated) ellipse with the given semi-axes, at parameter t.
        u, v = along_u * math.cos(t), along_v * math.sin(t)
        x = cx + u * math.cos(angle) - v * math.sin(angle)
        y = cy + u * math.sin(angle) + v * math.cos(angle)
        return x, y

    window_shape = outer.rho.shape

    if features.mass_type == "solid":
        tissue = _solid_texture(rng, window_shape)
        inside = outer.rho < 1
        paint(echo, outer, outer.rho < 1.04, 0.15)  # hypoechoic capsule outlines the mass
        paint(echo, outer, inside, tissue)
        vascular |= inside & (outer.rho < 0.9)
        # A few small cystic spaces within the solid mass.
        for _ in range(int(rng.integers(0, 4))):
            hole = Shape(
                echo.shape,
                cx + rng.uniform(-0.5, 0.5) * radius,
                cy + rng.uniform(-0.5, 0.5) * radius,
                rng.uniform(0.05, 0.15) * radius,
                rng.uniform(0.05, 0.12) * radius,
            )
            if not hole.empty:
                paint(echo, hole, hole.rho < 1, FLUID * 3)
    else:
        level = CONTENT_LEVEL.get(content, FLUID)
        fluid = level * np.exp(0.4 * smooth_noise(rng, window_shape, 5))
        inside = inner_rho < 1 - wall
        locules = min(features.locules, 16)
        if locules > 1:
            seeds = rng.uniform(-0.8, 0.8, size=(locules, 2)).astype(np.float32)
            dist = np.stack([np.hypot(outer.u - sx, outer.v - sy) for sx, sy in seeds])
            nearest = np.argmin(dist, axis=0)
            part = np.partition(dist, 1, axis=0)
            septum = inside & ((part[1] - part[0]) * radius < max(1.6, 0.9 * px))
            # Locules differ in content (e.g. mucinous tumours' "stained glass" look).
            tone = np.exp(rng.normal(0, 0.6, size=locules)).astype(np.float32)[nearest]
            paint(echo, outer, inside, fluid * tone)
            paint(echo, outer, septum, 1.3)
            vascular |= septum
        else:
            paint(echo, outer, inside, fluid)
        wall_ring = (inner_rho >= 1 - wall) & (outer.rho < 1 + 0.3 * wall)
        paint(echo, outer, wall_ring, 1.5)
        vascular |= wall_ring

        if features.solid_diameter_mm > 0:
            solid_r = min(features.solid_diameter_mm / 2 * px, radius * 0.8)
            spot = rng.uniform(0, 2 * math.pi)
            sx, sy = on_wall(spot, radius - solid_r, max(0.0, b - solid_r))
            solid = Shape(
                echo.shape,
                sx,
                sy,
                solid_r,
                solid_r * rng.uniform(0.7, 1.0),
                rng.uniform(0, math.pi),
                wobble(rng, 0.12 if features.irregular_walls else 0.05),
            )
            if not solid.empty:
                tissue = _solid_texture(rng, solid.rho.shape)
                if content == "low_level" and features.acoustic_shadows:
                    tissue *= 1.8  # dermoid plug: very bright
                keep = solid.rho < 1
                paint(echo, solid, keep, tissue)
                if features.acoustic_shadows:
                    r_s = math.hypot(sx - geometry.apex_x, sy - geometry.apex_y)
                    scene.beams.append(
                        Beam(
                            math.atan2(sx - geometry.apex_x, sy - geometry.apex_y),
                            math.atan2(solid_r * 0.8, r_s),
                            r_s,
                            0.12,
                        )
                    )
                _merge(vascular, outer, solid, keep & (solid.rho < 0.85))

        count = {0: 0, 1: 1, 2: 2, 3: 3}.get(features.papillary_projections, 0)
        if features.papillary_projections >= 4:
            count = int(rng.integers(5, 8))
        for _ in range(count):
            spot = rng.uniform(0, 2 * math.pi)
            bump_r = max(2.0, rng.uniform(2.5, 5.5) * px)
            inset = wall_px + bump_r * 0.3
            bx, by = on_wall(spot, radius - inset, b - inset)
            bump = Shape(
                echo.shape,
                bx,
                by,
                bump_r,
                bump_r * rng.uniform(0.7, 1.0),
                wobble=wobble(rng, 0.1, high=True),
            )
            if not bump.empty:
                keep = bump.rho < 1
                paint(echo, bump, keep, 0.95)
                _merge(vascular, outer, bump, keep)
        if solid_fraction < 0.5 and not features.acoustic_shadows:
            scene.beams.append(
                Beam(
                    math.atan2(cx - geometry.apex_x, cy - geometry.apex_y),
                    math.atan2(radius * 0.75, r_c),
                    r_c + radius * 0.8,
                    2.0,
                )
            )
    if features.mass_type == "solid" and features.acoustic_shadows:
        scene.beams.append(Beam(phi_c, math.atan2(radius * 0.5, r_c), r_c, 0.2))

    full = np.zeros(echo.shape, dtype=bool)
    full[outer.window] = vascular
    scene.vascular = full


def _merge(target: np.ndarray, outer: Shape, shape: Shape, keep: np.ndarray) -> None:
    """ORs a mask from shape's window into target (in outer's window coordinates)."""
    y0, y1 = max(shape.y0, outer.y0), min(shape.y1, outer.y1)
    x0, x1 = max(shape.x0, outer.x0), min(shape.x1, outer.x1)
    if y1 <= y0 or x1 <= x0:
        return
    target[y0 - outer.y0 : y1 - outer.y0, x0 - outer.x0 : x1 - outer.x0] |= keep[
        y0 - shape.y0 : y1 - shape.y0, x0 - shape.x0 : x1 - shape.x0
    ]
