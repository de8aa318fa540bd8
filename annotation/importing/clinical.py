"""Importing a clinical CSV (docs/clinical_csv.md) into patients, exams and clinical data.

All or nothing: the whole file is checked first (`importing.clinical_csv` for the file and
its rows, then centre codes against the database) and, if any row is bad, nothing is written
unless `skip_invalid` is set, in which case the good rows are imported and the bad ones
reported. Everything happens inside one `transaction.atomic()`.

Exams are matched by accession number (its keyed hash, as `services.exam_upsert` does), and
each row is compared with what is stored before anything is written: re-importing the same
file performs no INSERT, UPDATE or DELETE. Writes go through the services
(`patient_get_or_create`, `exam_upsert`, `pathology_set`, `ca125_set`, `features_set`), with
one addition here: a corrected file that empties the pathology, the lesion features or the
CA125 of an exam deletes that exam's `PathologyResult`, `LesionFeatures` or linked
`CA125Measurement` rows with the ORM (services.py has no delete for them). A corrected CA125
date also deletes the measurement the exam was linked to before.

`exam_upsert` recomputes the pseudonymous study UID from the original one; for an exam that
came with DICOM images the original is read back from the exam's encrypted identifiers, so
the CSV never clears the link to its images.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from annotation import services
from annotation.importing.clinical_csv import ClinicalRow, RowError, parse_clinical_csv
from annotation.models import (
    CA125Measurement,
    Center,
    Exam,
    LesionFeatures,
    PathologyResult,
    Patient,
)
from annotation.patients.identity import (
    IdentifierError,
    accession_key,
    decrypt_identifiers,
    patient_pseudonym,
)

# Keeps IN (...) lists under SQLite's limit on query parameters.
LOOKUP_CHUNK = 500


class ClinicalImportError(Exception):
    """The import cannot run at all (not a problem of the file); nothing was written."""


@dataclass
class ClinicalImportReport:
    """Counts are of exam rows; `imported` is true when the good rows were written."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)
    imported: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "errors": self.errors,
            "imported": self.imported,
        }


@dataclass
class _Stored:
    """What the database holds for the file's rows, read up front in a few queries."""

    centers: dict[str, Center]
    patients: dict[str, Patient]
    exams: dict[str, Exam]
    ca125: dict[tuple[int, object], CA125Measurement]
    ca125_claimed: set[tuple[str, object]] = field(default_factory=set)
    # Measurements moved to another exam or deleted by earlier rows of this import: the
    # prefetched `exam.ca125` lists were read before any write.
    ca125_exam: dict[int, int | None] = field(default_factory=dict)


def clinical_csv_import(*, data: bytes, skip_invalid: bool = False) -> ClinicalImportReport:
    """Check and import a clinical CSV; see the module docstring for what is written."""
    parsed = parse_clinical_csv(data)
    report = ClinicalImportReport()
    with transaction.atomic():
        centers = {center.code: center for center in Center.objects.all()}
        errors = parsed.errors + _center_errors(parsed.rows, centers)
        # Stable sort: a line's errors keep the column order the parser gave them.
        report.errors = [error.as_dict() for error in sorted(errors, key=lambda e: e.line)]
        if parsed.fatal or (errors and not skip_invalid):
            return report
        bad_lines = {error.line for error in errors}
        rows = [row for row in parsed.rows if row.line not in bad_lines]
        report.skipped = len(bad_lines)
        stored = _stored_state(rows, centers)
        for row in rows:
            outcome = _row_import(row, stored)
            setattr(report, outcome, getattr(report, outcome) + 1)
        report.imported = True
    return report


def _center_errors(rows: list[ClinicalRow], centers: dict[str, Center]) -> list[RowError]:
    return [
        RowError(
            row.line,
            "center",
            f"unknown centre code {row.center!r}; add the centre first (Admin → Centers), "
            "then import the file again",
        )
        for row in rows
        if row.center not in centers
    ]


def _chunks(values: list, size: int = LOOKUP_CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _stored_state(rows: list[ClinicalRow], centers: dict[str, Center]) -> _Stored:
    pseudonyms = sorted({patient_pseudonym(row.patient_id) for row in rows})
    keys = sorted({accession_key(row.accession_number) for row in rows})
    patients: dict[str, Patient] = {}
    exams: dict[str, Exam] = {}
    for chunk in _chunks(pseudonyms):
        patients.update({p.pseudonym: p for p in Patient.objects.filter(pseudonym__in=chunk)})
    for chunk in _chunks(keys):
        found = (
            Exam.objects.filter(accession_key__in=chunk)
            .select_related("pathology", "features")
            .prefetch_related("ca125")
        )
        exams.update({exam.accession_key: exam for exam in found})
    ca125 = {}
    patient_ids = sorted(patient.pk for patient in patients.values())
    for chunk in _chunks(patient_ids):
        for measurement in CA125Measurement.objects.filter(patient_id__in=chunk):
            ca125[(measurement.patient_id, measurement.measured_on)] = measurement
    return _Stored(centers=centers, patients=patients, exams=exams, ca125=ca125)


def _row_import(row: ClinicalRow, stored: _Stored) -> str:
    """Bring one exam in line with its row; 'created', 'updated' or 'unchanged'."""
    patient, patient_changed = _patient(row, stored)
    key = accession_key(row.accession_number)
    exam = stored.exams.get(key)
    created = exam is None
    exam_changed = created or _exam_differs(exam, row, patient, stored.centers[row.center])
    if exam_changed:
        written = _exam_write(row, patient, stored.centers[row.center], exam)
        # A stored exam keeps its object: its prefetched pathology, features and CA125 are
        # what the syncs below compare with; only its primary key matters to them.
        exam = exam or written
    changes = [
        _pathology_sync(exam, row),
        _features_sync(exam, row),
        _ca125_sync(exam, patient, row, stored),
    ]
    if created:
        return "created"
    return "updated" if patient_changed or exam_changed or any(changes) else "unchanged"


def _patient(row: ClinicalRow, stored: _Stored) -> tuple[Patient, bool]:
    pseudonym = patient_pseudonym(row.patient_id)
    patient = stored.patients.get(pseudonym)
    if patient is not None and patient.birth_year == row.birth_year:
        return patient, False
    patient = services.patient_get_or_create(hospital_id=row.patient_id, birth_year=row.birth_year)
    stored.patients[pseudonym] = patient
    return patient, True


def _exam_values(row: ClinicalRow, patient: Patient, center: Center) -> dict[str, object]:
    return {
        "patient_id": patient.pk,
        "center_id": center.pk,
        "exam_date": row.exam_date,
        "report_lesion_size_mm": row.report_lesion_size_mm,
        "report_mass_type": row.mass_type,
        "report_text": row.report_text,
    }


def _exam_differs(exam: Exam, row: ClinicalRow, patient: Patient, center: Center) -> bool:
    wanted = _exam_values(row, patient, center)
    return any(getattr(exam, name) != value for name, value in wanted.items())


def _exam_write(row: ClinicalRow, patient: Patient, center: Center, exam: Exam | None) -> Exam:
    study_instance_uid = ""
    if exam is not None and exam.study_instance_uid:
        try:
            study_instance_uid = decrypt_identifiers(exam.identifiers_encrypted).get(
                "study_instance_uid", ""
            )
        except IdentifierError:
            study_instance_uid = ""
        if not study_instance_uid:
            # Without the original UID exam_upsert would clear the link to the images.
            raise ClinicalImportError(
                f"line {row.line}: the exam's original study UID cannot be read back "
                "(was IDENTIFIER_KEY changed?); nothing was imported"
            )
    return services.exam_upsert(
        patient=patient,
        center=center,
        exam_date=row.exam_date,
        accession_number=row.accession_number,
        study_instance_uid=study_instance_uid,
        report_lesion_size_mm=row.report_lesion_size_mm,
        report_mass_type=row.mass_type,
        report_text=row.report_text,
    )


def _pathology_wanted(row: ClinicalRow) -> dict[str, object] | None:
    if not row.pathology:
        return None
    return {
        "outcome": row.pathology,
        "histological_type": row.histology,
        "figo_stage": row.figo_stage,
        "grade": row.grade,
        "operation_date": row.operation_date,
    }


def _related(exam: Exam, name: str):
    try:
        return getattr(exam, name)
    except (PathologyResult.DoesNotExist, LesionFeatures.DoesNotExist):
        return None


def _pathology_sync(exam: Exam, row: ClinicalRow) -> bool:
    wanted = _pathology_wanted(row)
    current = _related(exam, "pathology")
    if wanted is None:
        if current is None:
            return False
        PathologyResult.objects.filter(pk=current.pk).delete()
        return True
    if current is not None and all(getattr(current, k) == v for k, v in wanted.items()):
        return False
    services.pathology_set(exam=exam, **wanted)
    return True


def _features_wanted(row: ClinicalRow) -> dict[str, object] | None:
    """None when no feature cell is filled (an exam row without ultrasound features)."""
    values = {
        "mass_type": row.mass_type,
        "lesion_diameter_mm": row.lesion_diameter_mm,
        "solid_diameter_mm": row.solid_diameter_mm,
        "locules": row.locules,
        "papillary_projections": row.papillary_projections,
        "acoustic_shadows": row.acoustic_shadows,
        "ascites": row.ascites,
        "color_score": row.color_score,
        "irregular_walls": row.irregular_walls,
    }
    # A row without a mass still keeps its ascites answer (the doc: 0 when no mass was seen).
    if all(value in ("", None) for value in values.values()):
        return None
    return values


def _features_sync(exam: Exam, row: ClinicalRow) -> bool:
    wanted = _features_wanted(row)
    current = _related(exam, "features")
    if wanted is None:
        if current is None:
            return False
        LesionFeatures.objects.filter(pk=current.pk).delete()
        return True
    if current is not None and all(getattr(current, k) == v for k, v in wanted.items()):
        return False
    services.features_set(exam=exam, **wanted)
    return True


def _ca125_sync(exam: Exam, patient: Patient, row: ClinicalRow, stored: _Stored) -> bool:
    """One measurement per patient per day; a second exam row for it leaves the link alone."""
    linked = _linked_ca125(exam, stored)
    if row.ca125_u_per_ml is None or row.ca125_date is None:
        return _ca125_delete(linked, stored)
    claim = (patient.pseudonym, row.ca125_date)
    current = stored.ca125.get((patient.pk, row.ca125_date))
    if claim in stored.ca125_claimed and current is not None:
        return _ca125_delete([m for m in linked if m.pk != current.pk], stored)
    stored.ca125_claimed.add(claim)
    up_to_date = (
        current is not None
        and current.exam_id == exam.pk
        and current.value_u_per_ml == row.ca125_u_per_ml
    )
    if not up_to_date:
        current = services.ca125_set(
            patient=patient,
            exam=exam,
            value_u_per_ml=row.ca125_u_per_ml,
            measured_on=row.ca125_date,
        )
        stored.ca125[(patient.pk, row.ca125_date)] = current
        stored.ca125_exam[current.pk] = exam.pk
    deleted = _ca125_delete([m for m in linked if m.pk != current.pk], stored)
    return not up_to_date or deleted


def _linked_ca125(exam: Exam, stored: _Stored) -> list[CA125Measurement]:
    """The measurements linked to this exam now (all of them prefetched for stored exams)."""
    if "ca125" not in getattr(exam, "_prefetched_objects_cache", {}):
        return []  # just created by this import: nothing links to it yet
    return [m for m in exam.ca125.all() if stored.ca125_exam.get(m.pk, m.exam_id) == exam.pk]


def _ca125_delete(measurements: list[CA125Measurement], stored: _Stored) -> bool:
    if not measurements:
        return False
    CA125Measurement.objects.filter(pk__in=[m.pk for m in measurements]).delete()
    for measurement in measurements:
        stored.ca125_exam[measurement.pk] = None
        stored.ca125.pop((measurement.patient_id, measurement.measured_on), None)
    return True
