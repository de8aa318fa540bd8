"""Importing images: real DICOM (generated and pydicom's own ultrasound samples), PNG, zip
archives and folders, through the command, the service and the API; and every kind of bad
input, each reported per file while the rest of the batch goes in."""

import io
import json
import threading
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.core.management import call_command
from django.urls import reverse
from PIL import Image as PILImage
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_color_lut

from annotation.demo import centers_from_manifest
from annotation.imaging.dicom import tissue_region
from annotation.imaging.scan_area import detect_scan_area
from annotation.importing.images import import_paths
from annotation.importing.jobs import import_job_execute
from annotation.models import Exam, Image, ImportJob, Patient
from annotation.synthetic import generate_dataset
from base.models import JobStatus
from base.roles import Role

SAMPLES = [
    "examples_palette.dcm",
    "examples_ybr_color.dcm",
    "examples_rgb_color.dcm",
    "examples_jpeg2k.dcm",
    "ExplVR_BigEnd.dcm",
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    return folder, generate_dataset(folder, patients=3, seed=21)


@pytest.fixture
def centers(db, generated):
    _, manifest = generated
    centers_from_manifest(manifest)


def _import_json(*paths, center="INT1", capsys=None) -> dict:
    call_command("import_dicom", *map(str, paths), "--center", center, "--json")
    return json.loads(capsys.readouterr().out)


def _stored_pixels(image: Image) -> np.ndarray:
    with image.file.open("rb") as handle:
        return np.asarray(PILImage.open(handle))


@pytest.mark.django_db
def test_a_generated_folder_imports_once_and_reports_json(generated, centers, capsys):
    folder, manifest = generated
    frames = sum(record["frames"] for record in manifest["images"])
    report = _import_json(folder / "dicom", folder / "missing-folder", capsys=capsys)
    assert report == {
        "imported": frames,
        "duplicates": 0,
        "failed": [{"file": str(folder / "missing-folder"), "error": "no such file or folder"}],
    }
    again = _import_json(folder / "dicom", capsys=capsys)
    assert again == {"imported": 0, "duplicates": frames, "failed": []}
    assert Image.objects.count() == frames
    assert Exam.objects.filter(acquisition_completed_at__isnull=False).count() == len(
        manifest["exams"]
    ) - sum(
        1
        for e in manifest["exams"]
        if not any(i["exam"] == e["accession_number"] for i in manifest["images"])
    )


@pytest.mark.django_db
def test_images_are_cropped_to_the_tissue_region_below_the_burned_in_header(generated, centers):
    folder, manifest = generated
    import_paths(paths=[folder / "dicom"], center_code="INT1")
    for record in manifest["images"]:
        ds = pydicom.dcmread(folder / record["dicom"])
        box, spacing = tissue_region(ds, int(ds.Rows), int(ds.Columns))
        assert box is not None and box[1] >= record["header_height"]
        image = Image.objects.get(
            frame_index=0, source_sha256=services_sha(folder / record["dicom"])
        )
        x0, y0, x1, y1 = box
        expected = ds.pixel_array if record["frames"] == 1 else ds.pixel_array[0]
        assert np.array_equal(_stored_pixels(image), expected[y0 : y1 + 1, x0 : x1 + 1])
        assert image.pixel_spacing_mm == pytest.approx(spacing)


def services_sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.django_db
def test_names_ids_and_uids_are_nowhere_in_clear(generated, centers, media_root):
    folder, manifest = generated
    import_paths(paths=[folder / "dicom"], center_code="INT1")
    secrets = {
        uid
        for record in manifest["images"]
        for uid in (record["sop_instance_uid"], record["series_instance_uid"])
    }
    for patient in manifest["patients"]:
        secrets.add(patient["hospital_id"])
        secrets.update(part for part in patient["name"].split("^") if len(part) > 3)
    for exam in manifest["exams"]:
        secrets.update((exam["accession_number"], exam["study_instance_uid"]))
    dump = json.dumps(
        [list(model.objects.values()) for model in (Patient, Exam, Image)], default=str
    ).upper()
    stored = b"".join(p.read_bytes() for p in media_root.rglob("*") if p.is_file()).upper()
    for secret in secrets:
        assert secret.upper() not in dump, secret
        assert secret.upper().encode() not in stored, secret


@pytest.mark.django_db
@pytest.mark.parametrize("name", SAMPLES)
def test_pydicoms_ultrasound_samples_import_with_the_right_pixels(centers, name):
    path = Path(get_testdata_file(name))
    report = import_paths(paths=[path], center_code="EXT1")
    assert report.failed == [] and report.imported >= 1
    ds = pydicom.dcmread(path)
    expected = ds.pixel_array
    if ds.PhotometricInterpretation == "PALETTE COLOR":
        expected = (apply_color_lut(expected, ds) >> 8).astype(np.uint8)  # 16-bit LUT
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    first = expected[0] if frames > 1 else expected
    box, _ = tissue_region(ds, int(ds.Rows), int(ds.Columns))
    box = box or detect_scan_area(first) or (0, 0, first.shape[1] - 1, first.shape[0] - 1)
    x0, y0, x1, y1 = box
    image = Image.objects.get(frame_index=0)
    assert np.array_equal(_stored_pixels(image), first[y0 : y1 + 1, x0 : x1 + 1])
    assert Image.objects.count() == frames


@pytest.mark.django_db
def test_png_exports_import_by_folder_layout_once_the_exam_is_known(generated, centers):
    folder, manifest = generated
    refused = import_paths(paths=[folder / "png"], center_code="INT1")
    assert refused.imported == 0 and all("unknown exam" in f["error"] for f in refused.failed)
    import_paths(paths=[folder / "dicom"], center_code="INT1")  # the exams now exist
    report = import_paths(paths=[folder / "png"])
    assert report.failed == [] and report.imported == len(manifest["images"])


@pytest.mark.django_db
def test_png_with_a_sidecar_creates_its_exam(centers, tmp_path):
    pixels = np.zeros((120, 160), dtype=np.uint8)
    pixels[30:110, 20:140] = 90  # the scan area; the rest is black frame
    pixels[5:12:3, 5:60:2] = 255  # header text: thin sparse strokes, outside the scan area
    PILImage.fromarray(pixels).save(tmp_path / "a.png")
    (tmp_path / "images.csv").write_text(
        "file,patient_id,accession_number,exam_date,birth_year\na.png,H-1,ACC-1,2024-02-03,1970\n"
    )
    report = import_paths(paths=[tmp_path], center_code="INT1")
    assert report.failed == [] and report.imported == 1
    image = Image.objects.get()
    assert (image.width, image.height) == (120, 80)
    assert image.exam.exam_date.isoformat() == "2024-02-03"
    assert image.exam.age_at_exam == 54


def _zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return path


@pytest.mark.django_db
def test_bad_input_is_reported_file_by_file_and_the_rest_imports(generated, centers, tmp_path):
    folder, manifest = generated
    good = folder / manifest["images"][0]["dicom"]
    data = good.read_bytes()
    (tmp_path / "truncated.dcm").write_bytes(data[: len(data) // 3])
    (tmp_path / "corrupt.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\xff" * 300)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "huge.png").write_bytes(_png_header(100_000, 100_000))
    absurd = pydicom.dcmread(good)
    absurd.Rows, absurd.Columns = 60000, 60000
    absurd.save_as(tmp_path / "absurd.dcm")
    slip = _zip(tmp_path / "slip.zip", {"../../evil.dcm": data})
    absolute = _zip(tmp_path / "absolute.zip", {"/etc/evil.dcm": data})
    bomb = _zip(tmp_path / "bomb.zip", {"zeros.dcm": b"\0" * 50_000_000}, zipfile.ZIP_DEFLATED)
    paths = [
        tmp_path / name
        for name in ("truncated.dcm", "corrupt.dcm", "notes.txt", "huge.png", "absurd.dcm")
    ]
    paths += [slip, absolute, bomb, Path(get_testdata_file("rtplan.dcm")), good, good]
    report = import_paths(paths=paths, center_code="INT1")
    reasons = {Path(f["file"].split("!")[0]).name: f["error"] for f in report.failed}
    assert set(reasons) == {
        "truncated.dcm",
        "corrupt.dcm",
        "notes.txt",
        "huge.png",
        "absurd.dcm",
        "slip.zip",
        "absolute.zip",
        "bomb.zip",
        "rtplan.dcm",
    }
    assert "not an image file" in reasons["notes.txt"]
    assert "too large" in reasons["huge.png"] and "too large" in reasons["absurd.dcm"]
    assert "unsafe path" in reasons["slip.zip"] and "unsafe path" in reasons["absolute.zip"]
    assert "zip bomb" in reasons["bomb.zip"]
    assert "no pixel data" in reasons["rtplan.dcm"]
    frames = manifest["images"][0]["frames"]
    assert (report.imported, report.duplicates) == (frames, frames)  # the same file twice
    assert not (tmp_path.parent / "evil.dcm").exists()
    assert Image.objects.count() == frames


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size; nothing should ever decode it."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_files_at_once_store_each_image_once(generated, centers):
    folder, manifest = generated
    reports = []

    def run() -> None:
        reports.append(import_paths(paths=[folder / "dicom"], center_code="INT1"))
        from django.db import connection

        connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    frames = sum(record["frames"] for record in manifest["images"])
    assert Image.objects.count() == frames
    assert sum(r.imported for r in reports) == frames
    assert sum(r.imported + r.duplicates for r in reports) == 2 * frames
    assert all(r.failed == [] for r in reports)


@pytest.mark.django_db
def test_the_api_receives_files_in_batches_then_imports(generated, centers, client_for):
    folder, manifest = generated
    client = client_for(Role.COORDINATOR)
    job = client.post(reverse("import-list"), {"center": "INT1"}, content_type="application/json")
    assert job.status_code == 201 and job.json()["receiving"] is True
    job_id = job.json()["id"]
    files = sorted((folder / "dicom").rglob("*.dcm"))
    for batch in (files[:2], files[2:]):
        uploads = [io.BytesIO(p.read_bytes()) for p in batch]
        for upload, path in zip(uploads, batch, strict=True):
            upload.name = path.name
        response = client.post(
            reverse("import-files", args=[job_id]),
            {"files": uploads, "names": [str(p.relative_to(folder)) for p in batch]},
        )
        assert response.status_code == 201, response.content
    assert client.post(reverse("import-start", args=[job_id])).status_code == 202
    assert client.post(reverse("import-start", args=[job_id])).status_code == 409
    import_job_execute(job_id=job_id)  # what the worker does with the queued job
    state = client.get(reverse("import-detail", args=[job_id])).json()
    assert state["status"] == JobStatus.SUCCEEDED
    assert state["report"]["imported"] == sum(r["frames"] for r in manifest["images"])
    assert not Path(ImportJob.objects.get(pk=job_id).upload_dir).exists()
    page = client.get(reverse("annotation:import_detail", args=[job_id]))
    assert page.status_code == 200 and b"imported" in page.content


@pytest.mark.django_db
def test_the_api_refuses_escaping_file_names(client_for, centers):
    client = client_for(Role.ADMINISTRATOR)
    job_id = client.post(reverse("import-list"), {}, content_type="application/json").json()["id"]
    upload = io.BytesIO(b"x")
    upload.name = "x.dcm"
    response = client.post(
        reverse("import-files", args=[job_id]), {"files": [upload], "names": ["../../outside.dcm"]}
    )
    assert response.status_code == 400 and "refused file name" in response.json()["detail"]


@pytest.mark.django_db
def test_a_cine_loop_past_the_pixel_cap_counted_over_its_frames_is_refused_alone(
    generated, centers, settings
):
    folder, manifest = generated
    cine = next(r for r in manifest["images"] if r["frames"] > 1)
    single = next(r for r in manifest["images"] if r["exam"] == cine["exam"] and r["frames"] == 1)
    frame_pixels = cine["width"] * cine["height"]
    settings.IMPORT_MAX_IMAGE_PIXELS = 2 * frame_pixels  # every frame fits; the loop does not
    report = import_paths(
        paths=[folder / cine["dicom"], folder / single["dicom"]], center_code="INT1"
    )
    assert report.imported == 1
    [refused] = report.failed
    assert refused["file"] == str(folder / cine["dicom"])
    assert f"× {cine['frames']} frames" in refused["error"] and "too large" in refused["error"]
    assert "all frames counted" in refused["error"]


def _uploads(*sizes: int) -> list[io.BytesIO]:
    uploads = []
    for number, size in enumerate(sizes):
        upload = io.BytesIO(b"x" * size)
        upload.name = f"{number}.dcm"
        uploads.append(upload)
    return uploads


@pytest.mark.django_db
def test_the_api_refuses_a_file_or_an_import_past_its_cap_and_keeps_nothing_of_that_batch(
    client_for, centers, settings, tmp_path
):
    settings.UPLOAD_DIR = tmp_path
    settings.IMPORT_MAX_FILE_BYTES = 1000
    settings.IMPORT_MAX_IMPORT_BYTES = 2500
    client = client_for(Role.COORDINATOR)
    job_id = client.post(reverse("import-list"), {}, content_type="application/json").json()["id"]
    files = reverse("import-files", args=[job_id])
    upload_dir = Path(ImportJob.objects.get(pk=job_id).upload_dir)

    too_big = client.post(files, {"files": _uploads(500, 1001)})
    assert too_big.status_code == 413
    assert too_big.json()["detail"] == "1.dcm is 1001 bytes; the limit is 1000 bytes per file"
    assert not upload_dir.exists()  # the good file of that batch was not kept either

    assert client.post(files, {"files": _uploads(1000, 1000)}).status_code == 201
    past_import = client.post(files, {"files": _uploads(100, 600)})
    assert past_import.status_code == 413
    assert (
        "would hold 2700 bytes; the limit is 2500 bytes per import"
        in (past_import.json()["detail"])
    )
    assert sorted(p.stat().st_size for p in upload_dir.iterdir()) == [1000, 1000]
    assert client.post(files, {"files": _uploads(500)}).status_code == 201  # up to the cap
    job = ImportJob.objects.get(pk=job_id)
    assert job.receiving  # still open: the client may start it or send smaller parts
    assert client.post(reverse("import-start", args=[job_id])).status_code == 202


@pytest.mark.django_db
def test_an_unknown_center_stops_the_command_with_a_clear_message(tmp_path):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="unknown centre code 'NOPE'"):
        call_command("import_dicom", str(tmp_path), "--center", "NOPE")


@pytest.mark.django_db
def test_removing_a_patient_removes_everything_and_says_what(
    generated, centers, client_for, media_root, django_capture_on_commit_callbacks
):
    folder, manifest = generated
    import_paths(paths=[folder / "dicom"], center_code="INT1")
    patient = Exam.objects.first().patient
    other_images = Image.objects.exclude(exam__patient=patient).count()
    mine = Image.objects.filter(exam__patient=patient).count()
    files_before = sum(1 for p in media_root.rglob("*") if p.is_file())
    client = client_for(Role.ADMINISTRATOR)
    url = reverse("annotation:patient_delete", args=[patient.pk])
    assert b"cannot be undone" in client.get(url).content
    with django_capture_on_commit_callbacks(execute=True):  # files go after the commit
        response = client.post(url, follow=True)
    message = [str(m) for m in response.context["messages"]][0]
    assert f"{mine} images" in message and f"{2 * mine} stored files" in message
    assert not Patient.objects.filter(pk=patient.pk).exists()
    assert Image.objects.count() == other_images
    files_after = sum(1 for p in media_root.rglob("*") if p.is_file())
    assert files_before - files_after == 2 * mine


def _as_stored(frame: np.ndarray) -> np.ndarray:
    """The documented 8-bit conversion: 8-bit data as is, deeper data scaled min to max."""
    if frame.dtype == np.uint8:
        return frame
    frame = frame.astype(np.float64)
    low, high = frame.min(), frame.max()
    return ((frame - low) * (255.0 / (high - low))).astype(np.uint8)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_bigendian.dcm",
        "SC_rgb_rle.dcm",
        "SC_rgb_jpeg_dcmtk.dcm",
        "SC_rgb_jpeg_gdcm.dcm",
    ],
)
def test_every_transfer_syntax_decodes_as_pydicom_does(centers, name):
    path = Path(get_testdata_file(name))
    report = import_paths(paths=[path], center_code="EXT1")
    assert report.failed == [] and report.imported == 1
    expected = _as_stored(pydicom.dcmread(path).pixel_array)
    box = detect_scan_area(expected) or (0, 0, expected.shape[1] - 1, expected.shape[0] - 1)
    x0, y0, x1, y1 = box
    assert np.array_equal(_stored_pixels(Image.objects.get()), expected[y0 : y1 + 1, x0 : x1 + 1])


@pytest.mark.django_db
@pytest.mark.parametrize("photometric", ["MONOCHROME1", "YBR_FULL"])
def test_monochrome1_is_inverted_and_uncompressed_ybr_becomes_rgb(centers, tmp_path, photometric):
    from pydicom.pixels import convert_color_space

    if photometric == "MONOCHROME1":
        ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
        ds.PhotometricInterpretation = "MONOCHROME1"
        expected = 255 - _as_stored(ds.pixel_array)
    else:
        ds = pydicom.dcmread(get_testdata_file("examples_rgb_color.dcm"))
        ybr = convert_color_space(ds.pixel_array, "RGB", "YBR_FULL")
        ds.PixelData = ybr.tobytes()
        ds.PhotometricInterpretation = "YBR_FULL"
        expected = pydicom.dcmread(_saved(ds, tmp_path)).pixel_array  # pydicom's RGB
    report = import_paths(paths=[_saved(ds, tmp_path)], center_code="EXT1")
    assert report.failed == [] and report.imported == 1
    box = detect_scan_area(expected) or (0, 0, expected.shape[1] - 1, expected.shape[0] - 1)
    x0, y0, x1, y1 = box
    assert np.array_equal(_stored_pixels(Image.objects.get()), expected[y0 : y1 + 1, x0 : x1 + 1])


def _saved(ds, tmp_path: Path) -> Path:
    path = tmp_path / f"{ds.PhotometricInterpretation}.dcm"
    ds.save_as(path)
    return path
