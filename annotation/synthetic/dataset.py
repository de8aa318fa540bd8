"""Writes the whole synthetic data set (DICOM, PNG, CSVs, manifest) into a folder."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import pathlib
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from PIL import Image

from annotation.importing.clinical_csv import COLUMNS
from annotation.synthetic.centers import CENTERS
from annotation.synthetic.cohort import Cohort, Exam, ImagePlan, Patient, build_cohort
from annotation.synthetic.common import GeneratorError, rng_for
from annotation.synthetic.dicom_writer import write_dicom
from annotation.synthetic.readers import (
    LABEL_COLUMNS,
    READ_COLUMNS,
    annotation_labels,
    annotation_readers,
    image_truth,
    reader_reads,
    study_readers,
)
from annotation.synthetic.render import render_image

DEFAULT_PATIENTS = 80
MAX_PATIENTS = 20000
CLINICAL_COLUMNS = COLUMNS  # the contract of docs/clinical_csv.md, read by the importer
FEATURE_COLUMNS = CLINICAL_COLUMNS[14:]
OVERRUN_RATE = 1 / 15
PARALLEL_FROM = 60  # images; below this a process pool costs more than it saves


def _validate(out_dir: object, patients: object, seed: object) -> pathlib.Path:
    if isinstance(patients, bool) or not isinstance(patients, int):
        raise GeneratorError(f"patients must be an integer, got {patients!r}")
    if not 1 <= patients <= MAX_PATIENTS:
        raise GeneratorError(f"patients must be between 1 and {MAX_PATIENTS}, got {patients}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise GeneratorError(f"seed must be an integer, got {seed!r}")
    if seed < 0:
        raise GeneratorError(f"seed must be 0 or more, got {seed}")
    try:
        path = pathlib.Path(out_dir)  # type: ignore[arg-type]
    except TypeError as error:
        raise GeneratorError(f"out_dir must be a path, got {out_dir!r}") from error
    if path.exists() and not path.is_dir():
        raise GeneratorError(f"out_dir must be a folder, but {path} is an existing file")
    return path


def _clear_previous(out_dir: pathlib.Path) -> None:
    """Removes files of an earlier run; only when the folder's manifest says we made it."""
    manifest = out_dir / "manifest.json"
    try:
        previous = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(previous, dict) and previous.get("generator") == "annotation.synthetic":
        for name in ("dicom", "png"):
            shutil.rmtree(out_dir / name, ignore_errors=True)


def _write_image(
    out_dir: pathlib.Path, seed: int, patient: Patient, exam: Exam, plan: ImagePlan
) -> dict:
    image = render_image(seed, patient, exam, plan)
    folder = pathlib.Path(exam.center.code) / patient.hospital_id / exam.accession_number
    dicom_path = pathlib.Path("dicom") / folder / f"{plan.number}.dcm"
    png_path = pathlib.Path("png") / folder / f"{plan.number}.png"
    overrun_rng = rng_for(seed, "overrun", plan.sop_instance_uid)
    overrun = int(overrun_rng.integers(2, 7)) if overrun_rng.random() < OVERRUN_RATE else 0
    write_dicom(out_dir / dicom_path, image, patient, exam, plan, overrun=overrun)
    (out_dir / png_path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image.frames[0]).save(out_dir / png_path, compress_level=1)
    frame = image.frames[0]
    return {
        "exam": exam.accession_number,
        "dicom": dicom_path.as_posix(),
        "png": png_path.as_posix(),
        "sop_instance_uid": plan.sop_instance_uid,
        "series_instance_uid": plan.series_instance_uid,
        "frames": len(image.frames),
        "width": int(frame.shape[1]),
        "height": int(frame.shape[0]),
        "color_model": image.color_model,
        "dimension": "3d" if plan.is_3d else "2d",
        "doppler": bool(plan.doppler),
        "anatomy": plan.anatomy,
        "truth": image_truth(exam, plan),
        "scan_region": list(image.geometry.bbox),
        "header_height": image.geometry.header_height,
        "pixel_spacing_mm": image.geometry.spacing_mm,
        "burned_text": image.burned_text,
    }


def _write_exam(task: tuple[pathlib.Path, int, Patient, Exam]) -> list[dict]:
    out_dir, seed, patient, exam = task
    return [_write_image(out_dir, seed, patient, exam, plan) for plan in exam.images]


def _worker_count(images: int) -> int:
    if images < PARALLEL_FROM or multiprocessing.current_process().daemon:
        return 1  # small jobs, and daemonic processes (Celery workers) may not fork children
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, 8))


def _write_images(
    out_dir: pathlib.Path, seed: int, cohort: Cohort, progress: Callable[[int, int], None] | None
) -> list[dict]:
    """Renders and writes every image, one exam per task; results come back in cohort order.

    Each image draws from its own seeded stream, so the output does not depend on the
    number of processes.
    """
    tasks = [
        (out_dir, seed, patient, exam) for patient in cohort.patients for exam in patient.exams
    ]
    total = sum(len(exam.images) for exam in cohort.exams)
    workers = _worker_count(total)
    if workers > 1:
        try:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                return _collect(pool.map(_write_exam, tasks, chunksize=2), total, progress)
        except (OSError, BrokenProcessPool):
            pass  # no usable process pool here (sandbox, no /dev/shm...): write serially
    return _collect(map(_write_exam, tasks), total, progress)


def _collect(
    results: Iterable[list[dict]], total: int, progress: Callable[[int, int], None] | None
) -> list[dict]:
    images: list[dict] = []
    for entries in results:
        images.extend(entries)
        if progress is not None:
            progress(len(images), total)
    return images


def _blank(value: object) -> object:
    return "" if value is None else value


def clinical_rows(cohort: Cohort) -> list[dict]:
    rows = []
    for patient in cohort.patients:
        for exam in patient.exams:
            features = exam.features.as_dict() if exam.features else {}
            pathology = exam.pathology
            row: dict[str, object] = {
                "patient_id": patient.hospital_id,
                "accession_number": exam.accession_number,
                "exam_date": exam.exam_date.isoformat(),
                "center": exam.center.code,
                "birth_year": patient.birth_date.year,
                "ca125_u_per_ml": exam.ca125[0] if exam.ca125 else "",
                "ca125_date": exam.ca125[1].isoformat() if exam.ca125 else "",
                "pathology": pathology.outcome if pathology else "",
                "histology": pathology.histology if pathology else "",
                "figo_stage": _blank(pathology.figo_stage) if pathology else "",
                "grade": _blank(pathology.grade) if pathology else "",
                "operation_date": pathology.operation_date.isoformat() if pathology else "",
                "report_lesion_size_mm": _blank(exam.report.lesion_size_mm),
                "report_text": exam.report.text,
            }
            for column in FEATURE_COLUMNS:
                value = features.get(column, "")
                row[column] = int(value) if isinstance(value, bool) else value
            if not features:
                row["ascites"] = 0  # no mass seen; the report states no free fluid
            rows.append(row)
    return rows


def _write_csv(path: pathlib.Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _exam_entry(exam: Exam) -> dict:
    return {
        "accession_number": exam.accession_number,
        "hospital_id": exam.hospital_id,
        "center": exam.center.code,
        "exam_date": exam.exam_date.isoformat(),
        "study_instance_uid": exam.study_instance_uid,
        "report": exam.report.as_dict(),
        "features": exam.features.as_dict() if exam.features else None,
        "pathology": exam.pathology.as_dict() if exam.pathology else None,
        "ca125": {"value": exam.ca125[0], "date": exam.ca125[1].isoformat()}
        if exam.ca125
        else None,
    }


def generate_dataset(
    out_dir: pathlib.Path,
    *,
    patients: int = DEFAULT_PATIENTS,
    seed: int = 2026,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Writes the data set into out_dir (created; existing generated files overwritten) and
    returns the manifest dict (also written as out_dir/'manifest.json').

    Deterministic: the same seed and patients give byte-identical pixels, CSVs and manifest.
    Raises GeneratorError for nonsense parameters.
    """
    out_dir = _validate(out_dir, patients, seed)
    cohort = build_cohort(patients, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    _clear_previous(out_dir)
    images = _write_images(out_dir, seed, cohort, progress)

    _write_csv(out_dir / "clinical.csv", CLINICAL_COLUMNS, clinical_rows(cohort))
    _write_csv(out_dir / "annotation_labels.csv", LABEL_COLUMNS, annotation_labels(seed, cohort))
    _write_csv(out_dir / "reader_reads.csv", READ_COLUMNS, reader_reads(seed, cohort))
    manifest = {
        "generator": "annotation.synthetic",
        "version": 1,
        "seed": seed,
        "patient_count": patients,
        "centers": [
            {
                "code": c.code,
                "name": c.name,
                "is_internal": c.is_internal,
                "is_oncology_center": c.is_oncology_center,
                "manufacturer": c.manufacturer,
                "model": c.model,
            }
            for c in CENTERS
        ],
        "patients": [
            {
                "hospital_id": p.hospital_id,
                "name": p.dicom_name,
                "birth_date": p.birth_date.isoformat(),
                "birth_year": p.birth_date.year,
                "home_center": p.home_center.code,
                "later_diagnosed": p.later_diagnosed,
            }
            for p in cohort.patients
        ],
        "exams": [_exam_entry(exam) for exam in cohort.exams],
        "images": images,
        "annotation_readers": [r.as_dict() for r in annotation_readers(seed)],
        "study_readers": [r.as_dict() for r in study_readers(seed)],
        "notes": {
            "positive_truth": "borderline and malignant pathology count as malignant (1)",
            "reader_confidence": "0-100, the reader's suspicion of malignancy",
            "later_diagnosed": "patients whose last exam is malignant and earlier exams "
            "show a smaller, less suspicious lesion without pathology",
        },
    }
    (out_dir / "manifest.json").write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest
