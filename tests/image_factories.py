"""Images stored straight from pixels, for tests: the production paths import files
(`annotation.importing.images`); these go through the same storing service."""

import numpy as np

from annotation.imaging.frames import crop
from annotation.imaging.prep import PreparedFile, encode_frame
from annotation.models import Dimension, Exam, Image, ImageSource
from annotation.services import image_frames_store


def image_store(
    *,
    exam: Exam,
    pixels: np.ndarray,
    source: ImageSource,
    color_model: str,
    sop_instance_uid: str = "",
    series_instance_uid: str = "",
    frame_index: int = 0,
    frame_count: int = 1,
    scan_region: tuple[int, int, int, int] | None = None,
    pixel_spacing_mm: float | None = None,
    dimension: Dimension = Dimension.UNKNOWN,
    doppler: bool | None = None,
    source_sha256: str = "",
) -> tuple[Image, bool]:
    """Store one frame from pixels, cropped to scan_region; (image, False) if already stored."""
    pixels = crop(pixels, scan_region)
    frame = encode_frame(pixels, frame_index)
    prepared = PreparedFile(
        kind=source,
        source_sha256=source_sha256,
        frames=[frame],
        frame_count=frame_count,
        color_model="RGB" if pixels.ndim == 3 else color_model,
        pixel_spacing_mm=pixel_spacing_mm,
        dimension=dimension,
        doppler=doppler,
    )
    [(image, created)] = image_frames_store(
        exam=exam,
        prepared=prepared,
        sop_instance_uid=sop_instance_uid,
        series_instance_uid=series_instance_uid,
    )
    return image, created
