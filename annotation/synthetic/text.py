"""Burned-in scanner text: the header band, the depth scale and the Doppler scale labels.

Everything is drawn in the header band or the side margins, never inside the scan area's
bounding box, so a model cannot read the patient's name off the tissue.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from annotation.synthetic.geometry import Geometry

if TYPE_CHECKING:
    from annotation.synthetic.cohort import Exam, ImagePlan, Patient

LINE_HEIGHT = 13
TEXT_LEVEL = 225


@lru_cache(maxsize=1)
def _font() -> ImageFont.ImageFont:
    # Pillow's built-in bitmap font: 6 x 11 pixels, identical on every platform.
    return ImageFont.load_default_imagefont()


def header_lines(
    patient: Patient, exam: Exam, plan: ImagePlan, doppler: bool
) -> tuple[list[str], list[str]]:
    """Left and right header columns, three rows each, in the centre's layout."""
    center = exam.center
    clock = f"{plan.content_time[:2]}:{plan.content_time[2:4]}:{plan.content_time[4:]}"
    when = f"{exam.exam_date:%Y-%m-%d} {clock}"
    mode = "3D REND" if plan.is_3d else ("CF PRF 1.0k" if doppler else "B 2D")
    if plan.frames > 1:
        mode += f" CINE {plan.frames}"
    brand = f"{center.manufacturer.upper()} {center.model}"
    if center.header_layout == 0:
        left = [center.name, f"{patient.last_name}, {patient.first_name}", center.probe]
        right = [when, f"ID: {patient.hospital_id}", f"{mode}  MI 0.9 TIs 0.3"]
    else:
        left = [
            f"{patient.first_name} {patient.last_name}",
            f"PID {patient.hospital_id}",
            f"{brand}  {center.probe}",
        ]
        right = [center.name, when, mode]
    return left, right


def _text_mask(
    geometry: Geometry,
    left: list[str],
    right: list[str],
    doppler: bool,
    scale_labels: list[tuple[int, str]],
) -> np.ndarray:
    canvas = Image.new("L", (geometry.width, geometry.height), 0)
    draw = ImageDraw.Draw(canvas)
    font = _font()
    for row, text in enumerate(left):
        draw.text((6, 2 + row * LINE_HEIGHT), text, fill=255, font=font)
    for row, text in enumerate(right):
        width = font.getbbox(text)[2]
        draw.text((geometry.width - 6 - width, 2 + row * LINE_HEIGHT), text, fill=255, font=font)
    x0, y0, x1, _ = geometry.bbox
    # Depth scale in the right margin: a tick per centimetre, labels every other one.
    for y, label in scale_labels:
        draw.line([(x1 + 4, y), (x1 + 9 if label else x1 + 7, y)], fill=255)
        if label:
            draw.text((x1 + 12, y - 5), label, fill=255, font=font)
    draw.text((x1 + 10, y0 - 2), "cm", fill=255, font=font)
    # Orientation marker left of the near field.
    draw.polygon([(x0 - 24, y0 + 4), (x0 - 14, y0 + 4), (x0 - 19, y0 + 12)], fill=255)
    if doppler:
        draw.text((4, y0 + 17), "+9.6", fill=255, font=font)
        draw.text((4, y0 + 112), "-9.6", fill=255, font=font)
    return np.asarray(canvas) > 0


def _scale(geometry: Geometry) -> list[tuple[int, str]]:
    ticks = []
    per_cm = 10.0 / geometry.spacing_mm
    for cm in range(int(geometry.depth_mm // 10) + 1):
        y = int(round(geometry.apex_y + geometry.r_near + cm * per_cm))
        if y < geometry.height - 6:
            ticks.append((y, str(cm) if cm % 2 == 0 else ""))
    return ticks


def burn_text(
    frames: list[np.ndarray],
    geometry: Geometry,
    patient: Patient,
    exam: Exam,
    plan: ImagePlan,
    doppler: bool,
) -> tuple[list[np.ndarray], list[str]]:
    """Burns the same text into every frame; returns the frames and the strings drawn."""
    left, right = header_lines(patient, exam, plan, doppler)
    scale = _scale(geometry)
    mask = _text_mask(geometry, left, right, doppler, scale)
    burned = left + right + [label for _, label in scale if label] + ["cm"]
    if doppler:
        burned += ["+9.6", "-9.6"]
    out = []
    for frame in frames:
        frame = frame.copy()
        frame[mask] = TEXT_LEVEL
        out.append(frame)
    return out, burned


def text_mask_for(
    geometry: Geometry, patient: Patient, exam: Exam, plan: ImagePlan, doppler: bool
) -> np.ndarray:
    """The boolean mask of burned pixels (for tests and de-identification checks)."""
    left, right = header_lines(patient, exam, plan, doppler)
    return _text_mask(geometry, left, right, doppler, _scale(geometry))
