"""An exam result as DICOM objects the archive (PACS) understands.

Three kinds, each a single instance in a series of its own inside the exam's study:

- `heatmap`: a Secondary Capture Image (1.2.840.10008.5.1.4.1.1.7) of one image with the
  ResNet's class activation map laid over it (by default the image that drove Θ most);
- `sr`: a Basic Text SR (1.2.840.10008.5.1.4.1.1.88.11) with θ per model, Θ, the threshold,
  the decision and the model versions, referencing the images that were scored;
- `pdf`: an Encapsulated PDF (1.2.840.10008.5.1.4.1.1.104.1) of the printed report.

Identifiers. Our database keeps pseudonymous UIDs; the originals are only stored encrypted
(annotation.patients.identity). For users who may see identifiers (IDENTIFIER_ROLES: clinicians and
administrators) and an exam whose original Study Instance UID is known, the objects carry the
original Study Instance UID, Patient ID and Accession Number, and reference the original
Series/SOP Instance UIDs of the source images: they file into the hospital's own study.
Everyone else (coordinators), and exams imported without DICOM UIDs, get the pseudonymous
UIDs our database holds, the short pseudonym as Patient ID, and Patient Identity Removed = YES:
such objects belong to a research archive of the pseudonymised data, not the hospital PACS.

New Series and SOP Instance UIDs come from pydicom's generate_uid (under its root, hashed from
the result, its version and the identifier mode), so exporting the same result twice gives the same
instance (the PACS replaces it rather than filing a duplicate), and a re-scored result new ones.

The source images' SOP Class is not stored; a DICOM source is referenced as Ultrasound Image
Storage, or Ultrasound Multi-frame Image Storage (with the frame number) for a cine loop.
"""

from inference.dicom_export.common import (
    CODING_SCHEME,
    KINDS,
    MANUFACTURER,
    OVERLAY_OPACITY,
    SERIES_NUMBERS,
    Exported,
    ExportError,
)
from inference.dicom_export.export import result_export
from inference.dicom_export.heatmap import heatmap_overlay
from inference.dicom_export.identity import ImageReference, StudyIdentity, study_identity
from inference.dicom_export.pdf import MARGIN, PAGE_HEIGHT, PAGE_WIDTH, report_pdf

__all__ = [
    "CODING_SCHEME",
    "ExportError",
    "Exported",
    "ImageReference",
    "KINDS",
    "MANUFACTURER",
    "MARGIN",
    "OVERLAY_OPACITY",
    "PAGE_HEIGHT",
    "PAGE_WIDTH",
    "SERIES_NUMBERS",
    "StudyIdentity",
    "heatmap_overlay",
    "report_pdf",
    "result_export",
    "study_identity",
]
