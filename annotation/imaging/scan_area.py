"""Finding the scan area of an ultrasound image from its pixels; no Django here.

Used where the file declares no ultrasound regions (PNG, JPEG, many DICOMs). The rule:
a pixel is echo when it is brighter than DARK; the scan area is where echo is dense
(more than DENSITY of a WINDOW×WINDOW neighbourhood), opened with an OPENING square so
that thin strokes vanish; its bounding box covers the echo pixels of every such region
of at least MIN_REGION of the image. Speckle is dense, so even a dim sector passes;
burned-in text, depth ticks and calliper marks are sparse and thin, so they do not.

Limits: text printed inside the sector stays in; a header band with a grey (not black)
background joins the scan area; a field with almost no echo (poor probe contact) gives a
box smaller than the sector; an image without a dark frame (a screenshot of a viewer)
gives the whole image.
"""

import numpy as np
from scipy import ndimage

DARK = 4
WINDOW = 21
DENSITY = 0.25
OPENING = 7
MIN_REGION = 0.005  # of the image, for one region to count
MIN_TOTAL = 0.05  # of the image, for a scan area at all


def detect_scan_area(pixels: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) inclusive, or None when nothing large enough is found."""
    grey = pixels.max(axis=2) if pixels.ndim == 3 else pixels
    echo = grey > DARK
    density = ndimage.uniform_filter(echo.astype(np.float32), size=WINDOW)
    mask = ndimage.binary_opening(density > DENSITY, structure=np.ones((OPENING, OPENING), bool))
    labels, count = ndimage.label(mask)
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    kept = [index for index, size in enumerate(sizes) if size >= MIN_REGION * grey.size]
    if sum(sizes[index] for index in kept) < MIN_TOTAL * grey.size:
        return None
    # The density window reaches past the edges; the echo pixels inside give them back.
    area = np.isin(labels, [index + 1 for index in kept]) & echo
    rows, columns = np.nonzero(area.any(axis=1))[0], np.nonzero(area.any(axis=0))[0]
    return int(columns[0]), int(rows[0]), int(columns[-1]), int(rows[-1])
