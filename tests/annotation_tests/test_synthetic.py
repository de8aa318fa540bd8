"""The synthetic data set generator: files, reproducibility, clinical realism. No database."""

from __future__ import annotations

import csv
import json
import pathlib

import numpy as np
import pydicom
import pytest
from PIL import Image

from annotation.synthetic import DEFAULT_PATIENTS, GeneratorError, generate_dataset
from annotation.synthetic import dataset as dataset_module
from annotation.synthetic.cohort import build_cohort
from annotation.synthetic.dataset import CLINICAL_COLUMNS, clinical_rows
from annotation.synthetic.geometry import geometry_for
from annotation.synthetic.readers import reader_reads
from annotation.synthetic.text import text_mask_for

US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[pathlib.Path, dict]:
    out = tmp_path_factory.mktemp("synthetic")
    calls: list[tuple[int, int]] = []
    manifest = generate_dataset(out, patients=8, seed=7, progress=lambda d, t: calls.append((d, t)))
    manifest["_progress"] = calls
    return out, manifest


def _pixels(path: pathlib.Path) -> bytes:
    return pydicom.dcmread(path).PixelData


def test_default_patients_and_manifest_shape(generated):
    out, manifest = generated
    assert DEFAULT_PATIENTS == 80
    on_disk = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest = {k: v for k, v in manifest.items() if not k.startswith("_")}
    assert on_disk == manifest
    assert manifest["generator"] == "annotation.synthetic"
    assert manifest["version"] == 1 and manifest["seed"] == 7
    assert len(manifest["patients"]) == manifest["patient_count"] == 8
    assert len(manifest["centers"]) >= 4
    assert {c["code"] for c in manifest["centers"]} >= {"INT1", "INT2", "EXT1", "EXT2"}
    assert len(manifest["annotation_readers"]) == 10 and len(manifest["study_readers"]) == 6
    accessions = [e["accession_number"] for e in manifest["exams"]]
    assert len(set(accessions)) == len(accessions)
    for image in manifest["images"]:
        assert image["exam"] in accessions
        assert set(image["truth"]) == {"adnexal", "lesion", "ascites", "blood_flow", "is_3d"}
        assert 2 <= sum(1 for i in manifest["images"] if i["exam"] == image["exam"]) <= 8


def test_progress_reports_every_image(generated):
    _, manifest = generated
    calls = manifest["_progress"]
    total = len(manifest["images"])
    assert calls[-1] == (total, total)
    assert all(t == total for _, t in calls)
    done = [0] + [d for d, _ in calls]
    assert max(b - a for a, b in zip(done, done[1:], strict=False)) <= 8


def test_dicom_files_read_back(generated):
    out, manifest = generated
    for image in manifest["images"]:
        ds = pydicom.dcmread(out / image["dicom"])
        assert ds.Modality == "US"
        assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        assert ds.SOPInstanceUID == image["sop_instance_uid"]
        assert ds.SOPClassUID == (US_MULTIFRAME if image["frames"] > 1 else US_IMAGE)
        assert ds.PhotometricInterpretation == image["color_model"]
        assert ds.BodyPartExamined == "PELVIS"
        pixels = ds.pixel_array
        assert pixels.dtype == np.uint8
        shape = (image["height"], image["width"])
        if image["color_model"] == "RGB":
            shape += (3,)
        if image["frames"] > 1:
            shape = (image["frames"], *shape)
        assert pixels.shape == shape
        regions = ds.SequenceOfUltrasoundRegions
        assert len(regions) == (2 if image["doppler"] else 1)
        tissue = regions[0]
        assert tissue.RegionDataType == 1 and tissue.PhysicalUnitsXDirection == 3
        box = [
            tissue.RegionLocationMinX0,
            tissue.RegionLocationMinY0,
            tissue.RegionLocationMaxX1,
            tissue.RegionLocationMaxY1,
        ]
        scan = image["scan_region"]
        if box != scan:  # the deliberate overrun runs past the pixel matrix
            assert box[:2] == scan[:2]
            assert box[2] >= ds.Columns or box[3] >= ds.Rows
        assert tissue.PhysicalDeltaX == pytest.approx(image["pixel_spacing_mm"] / 10)
        if image["doppler"]:
            assert regions[1].RegionDataType == 2


def test_some_regions_overrun_the_matrix(tmp_path):
    manifest = generate_dataset(tmp_path, patients=14, seed=3)
    overruns = 0
    for image in manifest["images"]:
        ds = pydicom.dcmread(tmp_path / image["dicom"], stop_before_pixels=True)
        overruns += ds.SequenceOfUltrasoundRegions[0].RegionLocationMaxY1 >= ds.Rows
    assert 0 < overruns < len(manifest["images"]) / 4


def test_png_equals_first_dicom_frame(generated):
    out, manifest = generated
    for image in manifest["images"]:
        pixels = pydicom.dcmread(out / image["dicom"]).pixel_array
        first = pixels[0] if image["frames"] > 1 else pixels
        assert np.array_equal(np.asarray(Image.open(out / image["png"])), first)


def test_multiframe_and_3d_and_doppler_present(tmp_path):
    manifest = generate_dataset(tmp_path, patients=14, seed=3)
    images = manifest["images"]
    assert any(i["frames"] == 8 for i in images)
    assert any(i["dimension"] == "3d" for i in images)
    assert any(i["doppler"] and i["color_model"] == "RGB" for i in images)
    assert {i["anatomy"] for i in images} >= {"adnexa", "uterus"}
    cine = next(i for i in images if i["frames"] > 1)
    ds = pydicom.dcmread(tmp_path / cine["dicom"])
    assert ds.NumberOfFrames == 8 and float(ds.FrameTime) > 0 and ds.CineRate > 0
    frames = ds.pixel_array
    assert not np.array_equal(frames[0], frames[-1])  # the probe moves between frames
    region = slice(cine["header_height"], None)
    assert np.array_equal(frames[0][: cine["header_height"]], frames[-1][: cine["header_height"]])
    assert frames[0][region].mean() == pytest.approx(frames[-1][region].mean(), rel=0.1)


def test_burned_text_stays_out_of_the_scan_area():
    cohort = build_cohort(6, 5)
    for patient in cohort.patients:
        for exam in patient.exams:
            for plan in exam.images:
                geometry = geometry_for(exam.center)
                mask = text_mask_for(geometry, patient, exam, plan, plan.doppler)
                x0, y0, x1, y1 = geometry.bbox
                assert not mask[y0 : y1 + 1, x0 : x1 + 1].any()
                assert mask[: geometry.header_height].any()


def test_burned_text_is_in_header_pixels(generated):
    out, manifest = generated
    names = {p["hospital_id"]: p["name"] for p in manifest["patients"]}
    exams = {e["accession_number"]: e for e in manifest["exams"]}
    for image in manifest["images"]:
        hospital_id = exams[image["exam"]]["hospital_id"]
        last, first = names[hospital_id].split("^")
        text = " ".join(image["burned_text"])
        assert hospital_id in text and last in text and first in text
        pixels = np.asarray(Image.open(out / image["png"]).convert("L"))
        assert (pixels[: image["header_height"]] > 200).sum() > 100


def test_same_seed_same_bytes_and_different_seed_differs(tmp_path):
    first = generate_dataset(tmp_path / "a", patients=3, seed=11)
    second = generate_dataset(tmp_path / "b", patients=3, seed=11)
    other = generate_dataset(tmp_path / "c", patients=3, seed=12)
    assert first == second
    for name in ("clinical.csv", "annotation_labels.csv", "reader_reads.csv", "manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    for image in first["images"]:
        assert (tmp_path / "a" / image["dicom"]).read_bytes() == (
            tmp_path / "b" / image["dicom"]
        ).read_bytes()
        assert (tmp_path / "a" / image["png"]).read_bytes() == (
            tmp_path / "b" / image["png"]
        ).read_bytes()
    assert other["exams"] != first["exams"]
    assert _pixels(tmp_path / "c" / other["images"][0]["dicom"]) != _pixels(
        tmp_path / "a" / first["images"][0]["dicom"]
    )


def test_regenerating_into_the_same_folder_overwrites(tmp_path):
    generate_dataset(tmp_path, patients=4, seed=1)
    manifest = generate_dataset(tmp_path, patients=2, seed=2)
    on_disk = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.dcm"))
    assert on_disk == sorted(i["dicom"] for i in manifest["images"])


def test_process_pool_gives_the_same_files(tmp_path, monkeypatch):
    serial = generate_dataset(tmp_path / "serial", patients=3, seed=4)
    monkeypatch.setattr(dataset_module, "PARALLEL_FROM", 1)
    monkeypatch.setattr(dataset_module, "_worker_count", lambda images: 2)
    parallel = generate_dataset(tmp_path / "parallel", patients=3, seed=4)
    assert serial == parallel
    for image in serial["images"]:
        assert (tmp_path / "serial" / image["dicom"]).read_bytes() == (
            tmp_path / "parallel" / image["dicom"]
        ).read_bytes()


def test_clinical_csv_header_and_rows(generated):
    out, manifest = generated
    with (out / "clinical.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == CLINICAL_COLUMNS
    assert len(rows) - 1 == len(manifest["exams"])
    with (out / "annotation_labels.csv").open(encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
    assert header == [
        "sop_instance_uid",
        "frame_index",
        "reader",
        "adnexal",
        "lesion",
        "ascites",
        "blood_flow",
        "is_3d",
        "cannot_determine",
        "cannot_determine_reason",
        "seconds_spent",
    ]
    with (out / "reader_reads.csv").open(encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
    assert header == [
        "reader",
        "accession_number",
        "arm",
        "malignant",
        "confidence",
        "seconds_spent",
    ]


def test_clinical_values_respect_the_contract():
    cohort = build_cohort(400, 21)
    rows = clinical_rows(cohort)
    assert len({row["accession_number"] for row in rows}) == len(rows)
    mass_types = {"unilocular", "unilocular_solid", "multilocular", "multilocular_solid", "solid"}
    for row in rows:
        assert 1900 <= row["birth_year"] <= 2100
        assert row["pathology"] in ("benign", "borderline", "malignant", "")
        if row["ca125_u_per_ml"] != "":
            assert 0 < row["ca125_u_per_ml"] <= 100000
        if row["pathology"] == "malignant" and row["histology"] != "metastatic tumour":
            assert row["figo_stage"] and row["grade"] in (1, 2, 3)
        if row["pathology"] in ("benign", "borderline", ""):
            assert row["figo_stage"] == "" and row["grade"] == ""
        if row["mass_type"] == "":
            assert row["lesion_diameter_mm"] == "" and row["pathology"] == ""
            continue
        assert row["mass_type"] in mass_types
        assert 0 < row["lesion_diameter_mm"] <= 400
        assert 0 <= row["solid_diameter_mm"] <= row["lesion_diameter_mm"]
        assert 0 <= row["locules"] <= 100
        assert row["papillary_projections"] in range(5) and row["color_score"] in range(1, 5)
        assert row["acoustic_shadows"] in (0, 1) and row["irregular_walls"] in (0, 1)
        if row["mass_type"] == "unilocular":
            assert row["locules"] == 1 and row["solid_diameter_mm"] == 0
    for exam in cohort.exams:
        if exam.pathology is not None:
            assert 5 <= (exam.pathology.operation_date - exam.exam_date).days <= 60
        if exam.ca125 is not None:
            assert abs((exam.ca125[1] - exam.exam_date).days) <= 14


def test_malignant_lesions_look_more_malignant():
    cohort = build_cohort(1500, 99)
    operated = [e for e in cohort.exams if e.pathology is not None]
    outcomes = [e.pathology.outcome for e in operated]
    share = {o: outcomes.count(o) / len(outcomes) for o in ("benign", "borderline", "malignant")}
    assert 0.55 < share["benign"] < 0.75 and 0.05 < share["borderline"] < 0.16
    assert 0.17 < share["malignant"] < 0.35

    def mean(outcome: str, value) -> float:
        return float(
            np.mean([value(e.features) for e in operated if e.pathology.outcome == outcome])
        )

    solid = lambda f: f.solid_diameter_mm / f.lesion_diameter_mm  # noqa: E731
    assert mean("malignant", solid) > mean("benign", solid) + 0.2
    assert (
        mean("malignant", lambda f: f.color_score) > mean("benign", lambda f: f.color_score) + 0.8
    )
    assert mean("malignant", lambda f: f.irregular_walls) > mean(
        "benign", lambda f: f.irregular_walls
    )
    # ... with overlap: some benign masses look worrying and some cancers look bland.
    assert any(e.features.color_score >= 3 for e in operated if e.pathology.outcome == "benign")
    assert any(e.features.color_score <= 2 for e in operated if e.pathology.outcome == "malignant")


def test_later_diagnosed_patients_have_smaller_earlier_lesions():
    cohort = build_cohort(300, 8)
    later = [p for p in cohort.patients if p.later_diagnosed]
    assert 0.06 < len(later) / len(cohort.patients) < 0.22
    for patient in later:
        *earlier, last = patient.exams
        assert earlier and last.pathology is not None and last.pathology.outcome == "malignant"
        for exam in earlier:
            assert exam.pathology is None
            assert exam.features.lesion_diameter_mm <= last.features.lesion_diameter_mm


def test_reader_study_aided_beats_unaided():
    cohort = build_cohort(500, 17)
    truth = {e.accession_number: int(e.positive) for e in cohort.exams if e.pathology}
    rows = reader_reads(17, cohort)
    accuracy = {}
    for arm in ("unaided", "aided"):
        reads = [r for r in rows if r["arm"] == arm]
        assert len(reads) == 6 * len(truth)
        accuracy[arm] = np.mean([r["malignant"] == truth[r["accession_number"]] for r in reads])
    assert 0.70 < accuracy["unaided"] < 0.86
    assert accuracy["aided"] > accuracy["unaided"] + 0.04


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patients": 0}, "patients must be between 1 and 20000, got 0"),
        ({"patients": -1}, "patients must be between 1 and 20000, got -1"),
        ({"patients": 20001}, "patients must be between 1 and 20000, got 20001"),
        ({"patients": "abc"}, "patients must be an integer"),
        ({"patients": 2.5}, "patients must be an integer"),
        ({"seed": -1}, "seed must be 0 or more, got -1"),
        ({"seed": "x"}, "seed must be an integer"),
    ],
)
def test_nonsense_parameters_raise(tmp_path, kwargs, message):
    with pytest.raises(GeneratorError, match=message):
        generate_dataset(tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())


def test_out_dir_must_not_be_a_file(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(GeneratorError, match="out_dir"):
        generate_dataset(target, patients=1)
