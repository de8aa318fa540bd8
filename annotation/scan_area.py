"""Finding the scan area of an ultrasound image from its pixels; no Django here.

Used where the file declares no ultrasound regions (PNG, JPEG, many DICOMs). The rule:
the scan area is the bounding box of the largest connected non-dark region after a
morphological opening. The opening (a square of OPENING pixels) erases thin strokes
(burned-in text, depth-scale ticks, calliper marks) so they neither join the sector nor
count as a region of their own.

Limits: text printed inside the sector stays in; a header band with a grey (not black)
background joins the scan area when it touches it; an image without a dark frame (a
screenshot of a viewer, a photo of the screen) gives the whole image.
"""

import numpy as np
from scipy import ndimage

DARK = 16  # greyscale level at or below which a pixel is background
OPENING = 7
MIN_AREA_FRACTION = 0.05


def detect_scan_area(pixels: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) inclusive, or None when nothing large enough is found."""
    grey = pixels.max(axis=2) if pixels.ndim == 3 else pixels
    mask = grey > DARK
    mask = ndimage.binary_opening(mask, structure=np.ones((OPENING, OPENING), dtype=bool))
    labels, count = ndimage.label(mask)
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    largest = int(np.argmax(sizes)) + 1
    if sizes[largest - 1] < MIN_AREA_FRACTION * grey.size:
        return None
    rows, columns = ndimage.find_objects(labels)[largest - 1]
    return columns.start, rows.start, columns.stop - 1, rows.stop - 1
