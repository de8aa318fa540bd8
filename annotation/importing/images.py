"""Importing image files into exams: the one path for uploads, the API, the command line,
the DICOM receiver and the demo.

Files are prepared (decoded, cropped, encoded) by a pool of workers and stored one file
per transaction, so a bad file is reported and skipped while the rest of the batch goes in.

Where the pixels' patient and exam come from:
- DICOM: PatientID, PatientBirthDate, AccessionNumber, StudyInstanceUID and StudyDate.
  A file without a PatientID is filed under its study ("study:<uid>").
- PNG and JPEG: a sidecar `images.csv` in the same folder (columns `file`, `patient_id`,
  `accession_number`, `exam_date`, `birth_year`), or else the folder layout
  `<patient_id>/<accession_number>/<file>`, where the exam must already be known (from the
  clinical CSV).
An exam not yet known is created under the import's centre.
"""

import csv
import logging
import multiprocessing
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from annotation import services
from annotation.imaging.prep import PreparedFile, PrepareError, prepare_file
from annotation.importing.archives import collect
from annotation.models import Center, Exam
from annotation.patients.identity import accession_key, pseudonymous_uid

logger = logging.getLogger(__name__)
SIDECAR = "images.csv"
BATCH_FILES = 16
SIDECAR_COLUMNS = {"file", "patient_id", "accession_number", "exam_date", "birth_year"}

Progress = Callable[[int, int], None]


class ImportFailure(ValueError):
    """One file cannot be imported; the message goes into the report."""


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    failed: list[dict] = field(default_factory=list)
    exam_ids: set[int] = field(default_factory=set)

    def as_dict(self) -> dict:
        return {"imported": self.imported, "duplicates": self.duplicates, "failed": self.failed}


def _read_sidecar(path: Path) -> dict[str, dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = SIDECAR_COLUMNS - set(reader.fieldnames or [])
        if missing:
            raise ImportFailure(f"{SIDECAR} lacks the columns {', '.join(sorted(missing))}")
        return {row["file"]: row for row in reader}


def _picture_identity(path: Path, sidecars: dict[Path, dict | ImportFailure]) -> dict:
    sidecar = sidecars.get(path.parent)
    if isinstance(sidecar, ImportFailure):
        raise sidecar
    row = sidecar.get(path.name) if sidecar else None
    if row is not None:
        try:
            exam_date = date.fromisoformat(row["exam_date"]) if row["exam_date"] else None
            birth_year = int(row["birth_year"]) if row["birth_year"] else None
        except ValueError as error:
            raise ImportFailure(f"{SIDECAR} row for {path.name}: {error}") from None
        return {
            "patient_id": row["patient_id"],
            "accession_number": row["accession_number"],
            "study_date": exam_date,
            "birth_year": birth_year,
        }
    return {
        "patient_id": path.parent.parent.name,
        "accession_number": path.parent.name,
        "study_date": None,
        "birth_year": None,
    }


def _exam_for(identity: dict, center: Center | None) -> Exam:
    accession = (identity.get("accession_number") or "").strip()
    study_uid = (identity.get("study_instance_uid") or "").strip()
    exam = None
    if accession:
        exam = Exam.objects.filter(accession_key=accession_key(accession)).first()
    if exam is None and study_uid:
        exam = Exam.objects.filter(study_instance_uid=pseudonymous_uid(study_uid)).first()
    if exam is not None:
        if services.exam_identifiers_add(
            exam, accession_number=accession, study_instance_uid=study_uid
        ):
            exam.save(update_fields=["identifiers_encrypted", "study_instance_uid", "updated_at"])
        return exam
    patient_key = (identity.get("patient_id") or "").strip() or (
        f"study:{study_uid}" if study_uid else ""
    )
    if not patient_key:
        raise ImportFailure("no patient ID and no study UID: the image cannot be filed")
    if identity.get("study_date") is None:
        raise ImportFailure(
            "unknown exam: no study date in the file and no exam with this accession number "
            "(import the clinical CSV first, or add an images.csv)"
        )
    if center is None:
        raise ImportFailure(
            "a new exam needs a centre: choose one for the import (--center) "
            "or import the clinical CSV first"
        )
    patient = services.patient_get_or_create(
        hospital_id=patient_key, birth_year=identity.get("birth_year")
    )
    exam = Exam(patient=patient, center=center, exam_date=identity["study_date"])
    if accession:
        exam.accession_key = accession_key(accession)
    services.exam_identifiers_add(exam, accession_number=accession, study_instance_uid=study_uid)
    exam.save()
    return exam


def _store(prepared: PreparedFile, center: Center | None, report: ImportReport) -> None:
    identity = prepared.identity
    for attempt in range(2):
        try:
            with transaction.atomic():
                exam = _exam_for(identity, center)
                results = services.image_frames_store(
                    exam=exam,
                    prepared=prepared,
                    sop_instance_uid=identity.get("sop_instance_uid", ""),
                    series_instance_uid=identity.get("series_instance_uid", ""),
                )
            break
        except IntegrityError:
            if attempt:  # a concurrent import created the same exam: once more finds it
                raise
    created = sum(1 for _, new in results if new)
    report.imported += created
    report.duplicates += len(results) - created
    report.exam_ids.add(exam.pk)


def _prepare(path: Path, max_pixels: int) -> PreparedFile | PrepareError:
    try:
        return prepare_file(path, max_pixels=max_pixels)
    except PrepareError as error:
        return error


def _pool(workers: int) -> Executor:
    """Processes where we may start them (decoding holds the GIL); threads inside a
    daemonic process such as a Celery prefork worker, which may not have children."""
    if workers > 1 and not multiprocessing.current_process().daemon:
        return ProcessPoolExecutor(max_workers=workers)
    return ThreadPoolExecutor(max_workers=workers)


def _prepared(files: list[Path], workers: int) -> Iterator[tuple[Path, object]]:
    """(path, PreparedFile or PrepareError) in order, with a bounded number in flight."""
    max_pixels = settings.IMPORT_MAX_IMAGE_PIXELS
    with _pool(workers) as pool:
        pending: deque[tuple[Path, Future]] = deque()
        for path in files:
            pending.append((path, pool.submit(_prepare, path, max_pixels)))
            if len(pending) >= 4 * workers:
                done_path, future = pending.popleft()
                yield done_path, future.result()
        while pending:
            done_path, future = pending.popleft()
            yield done_path, future.result()


def _sidecars(files: list[tuple[str, Path]]) -> dict[Path, dict | ImportFailure]:
    found: dict[Path, dict | ImportFailure] = {}
    for _, path in files:
        if path.name == SIDECAR:
            try:
                found[path.parent] = _read_sidecar(path)
            except (ImportFailure, OSError, UnicodeDecodeError, csv.Error) as error:
                found[path.parent] = ImportFailure(f"{SIDECAR} is unreadable: {error}")
    return found


def _import_one(
    path: Path, name: str, prepared, center: Center | None, sidecars: dict, report: ImportReport
) -> None:
    try:
        if isinstance(prepared, PrepareError):
            raise ImportFailure(str(prepared))
        if prepared.kind != "dicom":
            prepared.identity = _picture_identity(path, sidecars)
        _store(prepared, center, report)
    except ImportFailure as error:
        report.failed.append({"file": name, "error": str(error)})
    except Exception as error:  # one file's surprise must not stop the batch
        logger.exception("import of %s failed", name)
        report.failed.append({"file": name, "error": f"internal error: {error}"})


def import_paths(
    *,
    paths: list[Path],
    center_code: str | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import files, folders (recursively) and zip archives; never raises for a bad file.

    Each file is stored in its own savepoint: all its frames or none. Returns what was
    imported, what was already there, and why each refused file was refused.
    """
    report = ImportReport()
    center = None
    if center_code:
        center = Center.objects.filter(code=center_code).first()
        if center is None:
            raise ImportFailure(f"unknown centre code {center_code!r}")
    workdir = Path(tempfile.mkdtemp(prefix="import-", dir=settings.VAR_DIR))
    try:
        collected = collect(
            [Path(p) for p in paths], workdir, max_archive_bytes=settings.IMPORT_MAX_ARCHIVE_BYTES
        )
        report.failed.extend(collected.failed)
        sidecars = _sidecars(collected.files)
        files = [item for item in collected.files if item[1].name != SIDECAR]
        names = {path: name for name, path in files}
        total = len(files)
        stream = _prepared([path for _, path in files], workers or settings.IMPORT_WORKERS)
        done = 0
        while done < total:
            # Files commit in small batches, each file in its own savepoint: a bad file
            # rolls back alone, and SQLite is spared a disk sync per file.
            with transaction.atomic():
                for path, prepared in islice(stream, BATCH_FILES):
                    done += 1
                    _import_one(path, names[path], prepared, center, sidecars, report)
                    if progress:
                        progress(done, total)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report
