"""Reading DICOM files: real ultrasound samples that pydicom ships, and damaged input."""

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_color_lut
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from annotation.imaging.dicom import DicomError, read_dicom, tissue_region


def test_garbage_is_refused_clearly(tmp_path):
    path = tmp_path / "not.dcm"
    path.write_bytes(b"\x00" * 64 + b"definitely not DICOM")
    with pytest.raises(DicomError, match="not a readable DICOM file"):
        read_dicom(path)


def test_a_dicom_without_pixels_is_refused_clearly():
    with pytest.raises(DicomError, match="no pixel data"):
        read_dicom(get_testdata_file("rtplan.dcm"))


def test_a_truncated_file_is_refused_clearly(tmp_path):
    source = get_testdata_file("examples_rgb_color.dcm")
    path = tmp_path / "truncated.dcm"
    data = Path(source).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DicomError):
        read_dicom(path)


@pytest.mark.parametrize("name", ["examples_ybr_color.dcm", "examples_rgb_color.dcm"])
def test_color_ultrasound_matches_pydicom(name):
    path = get_testdata_file(name)
    image = read_dicom(path)
    frames = np.stack(image.frames)  # one frame or a cine loop: frames × H × W × 3
    expected = pydicom.dcmread(path).pixel_array
    assert image.color_model == "RGB"
    assert np.array_equal(frames, expected.reshape(frames.shape))


def test_palette_color_is_applied():
    path = get_testdata_file("examples_palette.dcm")
    image = read_dicom(path)
    ds = pydicom.dcmread(path)
    expected = apply_color_lut(ds.pixel_array, ds)
    assert image.frames[0].shape == expected.shape[-3:]
    assert image.frames[0].dtype == np.uint8


def test_regions_are_clipped_to_the_pixel_matrix():
    ds = pydicom.Dataset()
    region = pydicom.Dataset()
    region.RegionDataType = 1
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 10, 40
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = 700, 500  # past a 640×480 matrix
    region.PhysicalUnitsXDirection = 3
    region.PhysicalDeltaX = 0.022
    doppler = pydicom.Dataset()
    doppler.RegionDataType = 2
    doppler.RegionLocationMinX0, doppler.RegionLocationMinY0 = 0, 0
    doppler.RegionLocationMaxX1, doppler.RegionLocationMaxY1 = 639, 479
    ds.SequenceOfUltrasoundRegions = [region, doppler]
    box, spacing = tissue_region(ds, rows=480, columns=640)
    assert box == (10, 40, 639, 479)
    assert spacing == pytest.approx(0.22)


def _cine(path: Path, *, frames: int, rows: int, columns: int) -> Path:
    """A real multi-frame ultrasound DICOM file, written by pydicom."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.3.1"  # US multi-frame
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = (
        meta.MediaStorageSOPClassUID,
        meta.MediaStorageSOPInstanceUID,
    )
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.StudyDate, ds.Modality = "P-1", "20240105", "US"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, columns, frames
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    pixels = np.random.default_rng(5).integers(0, 256, (frames, rows, columns), dtype=np.uint8)
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def test_the_pixel_cap_counts_every_frame(tmp_path):
    path = _cine(tmp_path / "cine.dcm", frames=16, rows=64, columns=80)
    total = 16 * 64 * 80
    assert len(read_dicom(path, max_pixels=total).frames) == 16  # at the cap: read
    # Each frame is far under the cap; the 16 together pass it.
    with pytest.raises(DicomError, match=r"80×64 × 16 frames = 81920 pixels; the limit is 8192"):
        read_dicom(path, max_pixels=8 * 1024)
