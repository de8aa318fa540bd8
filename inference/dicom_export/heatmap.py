"""The heatmap overlay as a Secondary Capture Image."""

import numpy as np
from PIL import Image as PILImage
from pydicom import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import SecondaryCaptureImageStorage

from annotation.models import Image
from inference.dicom_export.common import OVERLAY_OPACITY, ExportError, _base, _reference_item, _uid
from inference.dicom_export.identity import StudyIdentity
from inference.models import ExamResult, ImagePrediction


def heatmap_overlay(image: Image, prediction: ImagePrediction) -> np.ndarray:
    """uint8 HxWx3: the image with the stored CAM laid over it, as the report shows it.

    The stored heatmap is an RGBA PNG whose alpha is the CAM's intensity; that intensity goes
    through inference.ml.cam.cam_overlay, which undoes the letterbox of a square map.
    """
    if not prediction.heatmap:
        raise ExportError(f"image {image.pk} has no heatmap")
    with image.file.open("rb") as handle:
        pixels = np.asarray(PILImage.open(handle).convert("RGB"))
    with prediction.heatmap.open("rb") as handle:
        cam = np.asarray(PILImage.open(handle).convert("RGBA"))[:, :, 3]
    try:
        from inference.ml.cam import cam_overlay
    except ImportError:  # without torch: the same blend, done here
        return _blend(pixels, cam)
    return cam_overlay(pixels, np.ascontiguousarray(cam), opacity=OVERLAY_OPACITY)


def _blend(pixels: np.ndarray, cam: np.ndarray) -> np.ndarray:
    height, width = pixels.shape[:2]
    resized = PILImage.fromarray(cam).resize((width, height), PILImage.Resampling.BILINEAR)
    values = np.asarray(resized).astype(np.float32)[..., None] / 255.0
    colours = np.clip(1.5 - np.abs(4.0 * values - np.array([3.0, 2.0, 1.0])), 0.0, 1.0) * 255
    blended = (1 - OVERLAY_OPACITY) * pixels.astype(np.float32) + OVERLAY_OPACITY * colours
    return np.clip(blended, 0, 255).round().astype(np.uint8)


def _heatmap_dataset(
    result: ExamResult, identity: StudyIdentity, image: Image, prediction: ImagePrediction
) -> Dataset:
    pixels = heatmap_overlay(image, prediction)
    ds = _base(
        result=result,
        identity=identity,
        kind="heatmap",
        sop_class=SecondaryCaptureImageStorage,
        modality="OT",
    )
    ds.SOPInstanceUID = _uid(result, identity, "heatmap", "instance", str(image.pk))
    ds.ConversionType = "WSD"  # workstation: derived by our software
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.PatientOrientation = ""
    ds.DerivationDescription = (
        f"Class activation map of {result.ensemble.resnet.label} over the source image "
        f"(p = {prediction.probability:.3f}); decision aid"
    )[:1024]
    ds.ImageComments = (
        f"AI decision aid. Exam score {result.score:.3f} (threshold "
        f"{result.ensemble.threshold:.3f})"
        if result.score is not None
        else "AI decision aid"
    )
    reference = identity.references.get(image.pk)
    if reference is not None:
        ds.SourceImageSequence = Sequence([_reference_item(reference)])
        ds.ReferencedImageSequence = Sequence([_reference_item(reference)])
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.Rows, ds.Columns = pixels.shape[:2]
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelRepresentation = 0
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    return ds
