"""One image file in, the frames we store out: decode, crop to the scan area, encode.

No Django here, so import workers can run it in parallel. Identifiers read from the file
are returned in memory only; the import service pseudonymises or encrypts them.
"""

import hashlib
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import UnidentifiedImageError
from PIL.Image import DecompressionBombError

from annotation.imaging.dicom import DicomError, read_dicom
from annotation.imaging.frames import crop
from annotation.imaging.scan_area import detect_scan_area

THUMBNAIL_SIZE = (192, 144)
MAGIC = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpeg",
    b"PK\x03\x04": "zip",
    b"PK\x05\x06": "zip",
}


class PrepareError(ValueError):
    """The file cannot become images; the message says why, for the import report."""


@dataclass
class PreparedFrame:
    index: int
    png: bytes
    thumbnail: bytes
    sha256: str
    width: int
    height: int


@dataclass
class PreparedFile:
    kind: str  # dicom, png or jpeg
    source_sha256: str
    frames: list[PreparedFrame]
    frame_count: int
    color_model: str
    pixel_spacing_mm: float | None = None
    dimension: str = "unknown"
    doppler: bool | None = None
    # In memory only: pseudonymised or encrypted before anything is stored.
    identity: dict = field(default_factory=dict)


def sniff(path: Path) -> str | None:
    """The kind of file from its first bytes (and .dcm for DICOM without a preamble)."""
    with path.open("rb") as handle:
        head = handle.read(132)
    if head[128:132] == b"DICM":
        return "dicom"
    for magic, kind in MAGIC.items():
        if head.startswith(magic):
            return kind
    if path.suffix.lower() in (".dcm", ".dicom"):
        return "dicom"
    return None


def encode_frame(pixels: np.ndarray, index: int = 0) -> PreparedFrame:
    pixels = np.ascontiguousarray(pixels)
    picture = PILImage.fromarray(pixels)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    png = buffer.getvalue()
    picture.thumbnail(THUMBNAIL_SIZE)
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, format="JPEG", quality=80)
    height, width = pixels.shape[:2]
    return PreparedFrame(
        index=index,
        png=png,
        thumbnail=buffer.getvalue(),
        sha256=hashlib.sha256(png).hexdigest(),
        width=width,
        height=height,
    )


def _dicom_date(value: str) -> date | None:
    """YYYYMMDD, also in the old ACR-NEMA form YYYY.MM.DD that some archives still hold."""
    value = "".join(character for character in value if character.isdigit())
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except (TypeError, ValueError):
        return None


def _prepare_dicom(path: Path, digest: str, max_pixels: int) -> PreparedFile:
    try:
        dicom = read_dicom(path, max_pixels=max_pixels)
    except DicomError as error:
        raise PrepareError(str(error)) from None
    # The ultrasound regions the file declares, else the area found in its first frame.
    box = dicom.tissue_region or detect_scan_area(dicom.frames[0])
    frames = [encode_frame(crop(pixels, box), index) for index, pixels in enumerate(dicom.frames)]
    return PreparedFile(
        kind="dicom",
        source_sha256=digest,
        frames=frames,
        frame_count=len(frames),
        color_model=dicom.color_model,
        pixel_spacing_mm=dicom.pixel_spacing_mm,
        dimension="3d" if dicom.is_3d else "2d",
        doppler=dicom.doppler,
        identity={
            "patient_id": dicom.patient_id,
            "birth_year": dicom.birth_year,
            "accession_number": dicom.accession_number,
            "study_instance_uid": dicom.study_instance_uid,
            "series_instance_uid": dicom.series_instance_uid,
            "sop_instance_uid": dicom.sop_instance_uid,
            "study_date": _dicom_date(dicom.study_date),
        },
    )


def _prepare_picture(path: Path, kind: str, digest: str, max_pixels: int) -> PreparedFile:
    try:
        with PILImage.open(path) as picture:
            width, height = picture.size
            if width * height > max_pixels:
                raise PrepareError(
                    f"the image is too large ({width}×{height}); the limit is {max_pixels} pixels"
                )
            picture.load()
            grey = picture.mode in ("L", "I", "I;16", "1")
            pixels = np.asarray(picture.convert("L" if grey else "RGB"))
    except DecompressionBombError as error:
        raise PrepareError(f"the image is too large: {error}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise PrepareError(f"not a readable {kind.upper()} image: {error}") from None
    box = detect_scan_area(pixels)
    return PreparedFile(
        kind=kind,
        source_sha256=digest,
        frames=[encode_frame(crop(pixels, box))],
        frame_count=1,
        color_model="MONOCHROME2" if grey else "RGB",
    )


def prepare_file(path: Path, *, max_pixels: int) -> PreparedFile:
    """Decode and crop every frame of one DICOM, PNG or JPEG file; PrepareError if it can't."""
    try:
        kind = sniff(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise PrepareError(f"cannot read the file: {error.strerror or error}") from None
    if kind == "dicom":
        return _prepare_dicom(path, digest, max_pixels)
    if kind in ("png", "jpeg"):
        return _prepare_picture(path, kind, digest, max_pixels)
    raise PrepareError("not an image file (DICOM, PNG or JPEG expected)")
