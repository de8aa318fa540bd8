"""Reading ultrasound DICOM files into frames of pixels; no Django here.

pydicom decodes (with the pylibjpeg plugins for compressed transfer syntaxes); its
pixel_array already turns YBR data into RGB, and palette colour is applied here.
The tissue region comes from the Sequence of Ultrasound Regions, clipped to the
pixel matrix because real files declare regions that run past it.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixels import apply_color_lut

TISSUE_REGION = 1  # RegionDataType 1: tissue
DATE_ATTRIBUTES = ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate")
CENTIMETERS = 3  # PhysicalUnits 3: cm


class DicomError(ValueError):
    """A file that is not a readable DICOM image."""


@dataclass
class DicomImage:
    frames: list[np.ndarray]  # H×W (grey) or H×W×3 (RGB), uint8
    color_model: str
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    accession_number: str
    patient_id: str
    birth_year: int | None
    study_date: str
    tissue_region: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 inclusive
    pixel_spacing_mm: float | None = None
    is_3d: bool = False
    doppler: bool = False


def _to_uint8(frame: np.ndarray, ds: pydicom.Dataset) -> np.ndarray:
    photometric = ds.PhotometricInterpretation
    if photometric == "PALETTE COLOR":
        frame = apply_color_lut(frame, ds)
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
        if bits > 8:  # 16-bit LUT entries: keep the top byte, as a display would
            frame = (frame >> (bits - 8)).astype(np.uint8)
    if frame.dtype != np.uint8:
        frame = frame.astype(np.float64)
        low, high = float(frame.min()), float(frame.max())
        scale = 255.0 / (high - low) if high > low else 0.0
        frame = ((frame - low) * scale).astype(np.uint8)
    if photometric == "MONOCHROME1":
        frame = 255 - frame
    return frame


def tissue_region(ds: pydicom.Dataset, rows: int, columns: int):
    """Bounding box of the tissue regions, clipped to the matrix, and its pixel spacing."""
    boxes, spacing = [], None
    for region in ds.get("SequenceOfUltrasoundRegions", []):
        if int(region.get("RegionDataType", 0)) != TISSUE_REGION:
            continue
        x0 = max(0, int(region.RegionLocationMinX0))
        y0 = max(0, int(region.RegionLocationMinY0))
        x1 = min(columns - 1, int(region.RegionLocationMaxX1))
        y1 = min(rows - 1, int(region.RegionLocationMaxY1))
        if x1 <= x0 or y1 <= y0:
            continue
        boxes.append((x0, y0, x1, y1))
        if spacing is None and int(region.get("PhysicalUnitsXDirection", 0)) == CENTIMETERS:
            spacing = float(region.PhysicalDeltaX) * 10.0
    if not boxes:
        return None, None
    xs0, ys0, xs1, ys1 = zip(*boxes, strict=True)
    return (min(xs0), min(ys0), max(xs1), max(ys1)), spacing


def _check_size(ds: pydicom.Dataset, max_pixels: int) -> int:
    """Refuse absurd dimensions before decoding allocates them; returns the frame count.

    Every frame is decoded at once, so the cap counts them all: rows × columns × frames.
    """
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
        frame_count = int(ds.get("NumberOfFrames", 1) or 1)
    except (AttributeError, TypeError, ValueError):
        raise DicomError("the DICOM image has no valid Rows/Columns/NumberOfFrames") from None
    if rows < 1 or columns < 1 or frame_count < 1:
        raise DicomError(f"the DICOM image has an empty size ({columns}×{rows}, {frame_count})")
    pixels = rows * columns * frame_count
    if pixels > max_pixels:
        raise DicomError(
            f"the image is too large: {columns}×{rows} × {frame_count} frames = {pixels} "
            f"pixels; the limit is {max_pixels} pixels per file, all frames counted"
        )
    return frame_count


def read_dicom(path: Path, *, max_pixels: int = 100_000_000) -> DicomImage:
    try:
        ds = pydicom.dcmread(path)
    except Exception as error:  # pydicom raises many types for damaged files
        raise DicomError(f"not a readable DICOM file: {error}") from None
    if "PixelData" not in ds:
        sop_class = getattr(ds.get("SOPClassUID"), "name", "unknown SOP class")
        raise DicomError(f"the DICOM file holds no pixel data ({sop_class})")
    frame_count = _check_size(ds, max_pixels)
    try:
        pixels = ds.pixel_array
    except Exception as error:  # truncated data, unsupported syntax, missing plugin
        raise DicomError(f"pixel data cannot be decoded: {error}") from None
    stack = pixels if frame_count > 1 else pixels[np.newaxis]
    frames = [_to_uint8(frame, ds) for frame in stack]
    color_model = "RGB" if frames[0].ndim == 3 else str(ds.PhotometricInterpretation)
    region, spacing = tissue_region(ds, int(ds.Rows), int(ds.Columns))
    birth = str(ds.get("PatientBirthDate", "") or "")
    study_date = next(
        (str(ds.get(name) or "") for name in DATE_ATTRIBUTES if str(ds.get(name) or "")), ""
    )
    image_type = [str(value).upper() for value in ds.get("ImageType", [])]
    doppler = any(
        int(item.get("RegionDataType", 0)) in (2, 3, 4)
        for item in ds.get("SequenceOfUltrasoundRegions", [])
    )
    return DicomImage(
        frames=frames,
        color_model=color_model,
        sop_instance_uid=str(ds.get("SOPInstanceUID", "")),
        series_instance_uid=str(ds.get("SeriesInstanceUID", "")),
        study_instance_uid=str(ds.get("StudyInstanceUID", "")),
        accession_number=str(ds.get("AccessionNumber", "") or ""),
        patient_id=str(ds.get("PatientID", "") or ""),
        birth_year=int(birth[:4]) if birth[:4].isdigit() else None,
        study_date=study_date,
        tissue_region=region,
        pixel_spacing_mm=spacing,
        is_3d="3D" in image_type,
        doppler=doppler,
    )
