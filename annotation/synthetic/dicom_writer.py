"""Writes rendered images as DICOM Part 10 ultrasound files (Explicit VR Little Endian)."""

from __future__ import annotations

import io
import pathlib

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian

from annotation.synthetic.centers import SONOGRAPHERS, STAFF_NAMES
from annotation.synthetic.cohort import Exam, ImagePlan, Patient
from annotation.synthetic.render import RenderedImage

US_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.6.1"
US_MULTIFRAME_STORAGE = "1.2.840.10008.5.1.4.1.1.3.1"
# A fixed implementation UID (not pydicom's, which carries its version) keeps files identical.
IMPLEMENTATION_UID = "2.25.302750263858224521384786367431858106129"
FRAME_TIME_MS = 40.0


def _region(x0: int, y0: int, x1: int, y1: int, data_type: int, image: RenderedImage) -> Dataset:
    geometry = image.geometry
    spacing_cm = round(geometry.spacing_mm / 10.0, 6)
    item = Dataset()
    item.RegionSpatialFormat = 1  # 2D tissue or flow
    item.RegionDataType = data_type  # 1 tissue, 2 colour flow
    item.RegionFlags = 0
    item.RegionLocationMinX0 = x0
    item.RegionLocationMinY0 = y0
    item.RegionLocationMaxX1 = x1
    item.RegionLocationMaxY1 = y1
    item.PhysicalUnitsXDirection = 3  # cm
    item.PhysicalUnitsYDirection = 3
    item.PhysicalDeltaX = spacing_cm
    item.PhysicalDeltaY = spacing_cm
    # The reference pixel is the probe apex (relative to the region's top-left corner).
    item.ReferencePixelX0 = int(round(geometry.apex_x)) - x0
    item.ReferencePixelY0 = int(round(geometry.apex_y)) - y0
    item.ReferencePixelPhysicalValueX = 0.0
    item.ReferencePixelPhysicalValueY = 0.0
    return item


def tissue_region_bounds(image: RenderedImage, overrun: int) -> tuple[int, int, int, int]:
    """The tissue region as written: the scan area, optionally running `overrun` pixels past
    the bottom-right of the pixel matrix, as some scanners write it."""
    x0, y0, x1, y1 = image.geometry.bbox
    if overrun:
        x1 = image.geometry.width - 1 + overrun
        y1 = image.geometry.height - 1 + overrun
    return x0, y0, x1, y1


def write_dicom(
    path: pathlib.Path,
    image: RenderedImage,
    patient: Patient,
    exam: Exam,
    plan: ImagePlan,
    overrun: int = 0,
) -> None:
    center = exam.center
    multiframe = len(image.frames) > 1
    sop_class = US_MULTIFRAME_STORAGE if multiframe else US_IMAGE_STORAGE
    staff = STAFF_NAMES[sum(map(ord, exam.accession_number)) % len(STAFF_NAMES)]
    operator = SONOGRAPHERS[sum(map(ord, patient.hospital_id)) % len(SONOGRAPHERS)]

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = plan.sop_instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_UID
    meta.ImplementationVersionName = "OVSYNTH_1"

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    if plan.is_3d:
        ds.ImageType = ["DERIVED", "SECONDARY", "ABDOMINAL", "3D"]
    else:
        ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL"]
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = plan.sop_instance_uid
    study_date = exam.exam_date.strftime("%Y%m%d")
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = study_date
    ds.StudyTime = exam.study_time
    ds.SeriesTime = ds.ContentTime = plan.content_time
    ds.AccessionNumber = exam.accession_number
    ds.Modality = "US"
    ds.Manufacturer = center.manufacturer
    ds.InstitutionName = center.name
    ds.InstitutionAddress = center.address
    ds.ReferringPhysicianName = staff
    ds.StationName = center.station_name
    ds.StudyDescription = "US PELVIS TRANSVAGINAL"
    ds.SeriesDescription = "3D" if plan.is_3d else ("CINE" if multiframe else "GYN TV")
    ds.OperatorsName = operator
    ds.ManufacturerModelName = center.model
    ds.PatientName = patient.dicom_name
    ds.PatientID = patient.hospital_id
    ds.PatientBirthDate = patient.birth_date.strftime("%Y%m%d")
    ds.PatientSex = "F"
    ds.BodyPartExamined = "PELVIS"
    ds.DeviceSerialNumber = f"{center.code}-{sum(map(ord, center.name)) * 7919 % 100000:05d}"
    ds.SoftwareVersions = center.software_version
    ds.StudyInstanceUID = exam.study_instance_uid
    ds.SeriesInstanceUID = plan.series_instance_uid
    ds.StudyID = exam.accession_number[-4:]
    ds.SeriesNumber = plan.series_number
    ds.InstanceNumber = plan.number

    frame = image.frames[0]
    color = frame.ndim == 3
    ds.SamplesPerPixel = 3 if color else 1
    ds.PhotometricInterpretation = "RGB" if color else "MONOCHROME2"
    if color:
        ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = frame.shape[:2]
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.LossyImageCompression = "00"
    if multiframe:
        ds.NumberOfFrames = len(image.frames)
        ds.FrameTime = FRAME_TIME_MS
        ds.CineRate = int(round(1000.0 / FRAME_TIME_MS))
        ds.FrameIncrementPointer = Tag(0x0018, 0x1063)  # Frame Time
    regions = [_region(*tissue_region_bounds(image, overrun), 1, image)]
    if image.color_box is not None:
        regions.append(_region(*image.color_box, 2, image))
    ds.SequenceOfUltrasoundRegions = Sequence(regions)
    ds.PixelData = np.ascontiguousarray(np.stack(image.frames)).tobytes()
    buffer = io.BytesIO()  # one write to disk instead of one per element
    ds.save_as(buffer, enforce_file_format=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
