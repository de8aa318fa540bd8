"""Importing reader-study readings from a long-format CSV (iMRMC / RJafroc / MRMCaov style).

Columns `reader,case,modality,truth,rating` and optionally `decision` (0/1) and `seconds`;
any other column is ignored. Readers, cases and modalities are kept exactly as written.
Line numbers are the row numbers a spreadsheet shows: the header is line 1, the first
reading line 2.

`parse_readings` needs no database: it returns the readings or raises `ReadingImportError`
listing every problem with its line. `reader_study_import` validates first, then stores the
study and its readings in one transaction, so a bad file stores nothing. An incomplete design
(a reader who did not read every case in every modality) is stored: it is reported at import
and refused at results time unless the complete part is asked for.

A case that is an accession number is never stored in clear: it becomes the exam's
pseudonymous key (`patients.identity.accession_key`, the `Exam.accession_key` of that exam,
so the study's cases match its exams) and the number itself is kept only encrypted with
IDENTIFIER_KEY (`case_encrypted`), read back by clinicians and administrators only
(`case_accession_number`). A case is taken for an accession number when an exam has it, or
for every case when the importer says so (`accession_cases`: exams not imported yet).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from annotation.models import Exam
from annotation.patients.identity import (
    IdentifierError,
    accession_key,
    decrypt_identifiers,
    encrypt_identifiers,
)
from base.csv_cells import csv_unsafe
from base.roles import IDENTIFIERS
from studies.models import ImportedReaderStudy, ImportedReading

REQUIRED = ("reader", "case", "modality", "truth", "rating")
OPTIONAL = ("decision", "seconds")
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_NAME_LENGTH = 100  # reader, case and modality (the model's max_length)
MAX_STUDY_NAME_LENGTH = 200
SHOWN = 10  # problems listed in one message
CHUNK = 500  # accession keys per query


class ReadingImportError(ValueError):
    """A file or name that cannot be imported; the message names each line at fault."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = problems[:SHOWN]
        more = f" (and {len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
        super().__init__("; ".join(shown) + more)


@dataclass(frozen=True)
class Reading:
    line: int
    reader: str
    case: str
    modality: str
    truth: int
    rating: float
    decision: int | None
    seconds: float | None


@dataclass(frozen=True)
class ParsedReadings:
    readings: list[Reading]
    modalities: list[str]  # in order of first appearance in the file
    has_decisions: bool
    has_seconds: bool


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _zero_one(text: str) -> int | None:
    value = _number(text)
    return int(value) if value in (0.0, 1.0) else None


def parse_readings(data: bytes) -> ParsedReadings:
    """Read and check the CSV; raises ReadingImportError naming each bad line."""
    if len(data) > MAX_FILE_BYTES:
        raise ReadingImportError([f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ReadingImportError([f"the file is not UTF-8 text (byte {error.start})"]) from None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if not header:
        raise ReadingImportError(["line 1: the file is empty; expected a header line"])
    columns = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ReadingImportError(
            [
                f"line 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"(the header must name {', '.join(REQUIRED)}; optional: {', '.join(OPTIONAL)})"
            ]
        )
    repeated = sorted({name for name in columns if columns.count(name) > 1 and name})
    if repeated:
        raise ReadingImportError([f"line 1: column {', '.join(repeated)} appears twice"])
    index = {name: columns.index(name) for name in (*REQUIRED, *OPTIONAL) if name in columns}
    has_decisions = "decision" in index
    has_seconds = "seconds" in index

    problems: list[str] = []
    readings: list[Reading] = []
    first_line: dict[tuple[str, str, str], int] = {}
    case_truth: dict[str, tuple[int, int]] = {}  # case -> (truth, line that set it)
    modalities: dict[str, None] = {}
    line = 1
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines (often at the end) are not readings
        if len(row) < len(columns):
            row = row + [""] * (len(columns) - len(row))
        cell = {name: row[i] for name, i in index.items()}
        errors: list[str] = []
        for name in ("reader", "case", "modality"):
            if not cell[name].strip():
                errors.append(f"{name} is empty")
            elif len(cell[name]) > MAX_NAME_LENGTH:
                errors.append(f"{name} is longer than {MAX_NAME_LENGTH} characters")
        truth = _zero_one(cell["truth"])
        if truth is None:
            errors.append(f"truth {cell['truth']!r} is not 0 or 1")
        rating = _number(cell["rating"])
        if rating is None:
            errors.append(f"rating {cell['rating']!r} is not a number")
        decision = None
        if has_decisions:
            decision = _zero_one(cell["decision"])
            if decision is None:
                errors.append(f"decision {cell['decision']!r} is not 0 or 1")
        seconds = None
        if has_seconds and cell["seconds"].strip():
            seconds = _number(cell["seconds"])
            if seconds is None or seconds < 0:
                errors.append(f"seconds {cell['seconds']!r} is not a non-negative number")
        # Our own exports write a cell that looks like a formula with a leading apostrophe.
        reader, case, modality = (csv_unsafe(cell[n]) for n in ("reader", "case", "modality"))
        key = (reader, case, modality)
        if key in first_line:
            errors.append(
                f"duplicate reading of reader {reader}, case {case}, modality {modality} "
                f"(first on line {first_line[key]})"
            )
        else:
            first_line[key] = line
        if truth is not None and case.strip():
            known = case_truth.setdefault(case, (truth, line))
            if known[0] != truth:
                errors.append(
                    f"case {case} has truth {truth} here but {known[0]} on line {known[1]}"
                )
        if errors:
            problems.extend(f"line {line}: {error}" for error in errors)
            continue
        modalities.setdefault(modality, None)
        readings.append(
            Reading(line, reader, case, modality, truth, rating, decision, seconds)  # type: ignore[arg-type]
        )
    if problems:
        raise ReadingImportError(problems)
    if not readings:
        raise ReadingImportError([f"line {line}: the file has a header but no readings"])
    if len(modalities) < 2:
        raise ReadingImportError(
            [f"only one modality ({next(iter(modalities))}); the analysis compares two or more"]
        )
    return ParsedReadings(readings, list(modalities), has_decisions, has_seconds)


def case_pseudonyms(cases: set[str], *, accession_cases: bool = False) -> dict[str, str]:
    """Which cases are accession numbers, each with its exam's pseudonymous key.

    A case is one when an exam has that accession number, or always with `accession_cases`.
    Raises ReadingImportError when two cases are the same accession number written twice.
    """
    keys = {}
    for case in cases:
        try:
            keys[case] = accession_key(case)
        except IdentifierError:
            continue  # a blank case is refused by the parser; nothing to hide here
    if not accession_cases:
        wanted = sorted(set(keys.values()))
        known: set[str] = set()
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            known.update(
                Exam.objects.filter(accession_key__in=chunk).values_list("accession_key", flat=True)
            )
        keys = {case: key for case, key in keys.items() if key in known}
    seen: dict[str, str] = {}
    for case, key in sorted(keys.items()):
        if key in seen:
            raise ReadingImportError(
                [f"cases {seen[key]!r} and {case!r} are the same accession number"]
            )
        seen[key] = case
    return keys


def case_accession_number(*, reading: ImportedReading, user) -> str:
    """The accession number behind a pseudonymised case, for clinicians and administrators
    (as the exam's own); "" for other roles and for cases stored as written. Raises
    IdentifierError when IDENTIFIER_KEY is not the one it was encrypted with."""
    if not reading.case_encrypted or not IDENTIFIERS.allows(user):
        return ""
    return decrypt_identifiers(reading.case_encrypted).get("accession_number", "")


def reader_study_import(
    *,
    name: str,
    data: bytes,
    reference: str | None = None,
    user=None,
    source_filename: str = "",
    accession_cases: bool = False,
) -> ImportedReaderStudy:
    """Validate the CSV, then store it as a study with its readings (one transaction).

    `reference` is the modality the others are compared against (default: the first modality
    in the file). Cases that are accession numbers are stored as their exams' pseudonymous
    keys (see the module's docstring; `accession_cases`: every case is one). Raises
    ReadingImportError for a bad name, reference or file; then nothing is stored.
    """
    name = name.strip()
    if not name:
        raise ReadingImportError(["the study needs a name"])
    if len(name) > MAX_STUDY_NAME_LENGTH:
        raise ReadingImportError([f"the name is longer than {MAX_STUDY_NAME_LENGTH} characters"])
    parsed = parse_readings(data)
    if reference is None:
        reference = parsed.modalities[0]
    elif reference not in parsed.modalities:
        raise ReadingImportError(
            [
                f"reference modality {reference!r} is not in the file "
                f"(its modalities: {', '.join(parsed.modalities)})"
            ]
        )
    if ImportedReaderStudy.objects.filter(name=name).exists():
        raise ReadingImportError([f"a reader study named {name!r} already exists"])
    keys = case_pseudonyms(
        {reading.case for reading in parsed.readings}, accession_cases=accession_cases
    )
    encrypted = {case: encrypt_identifiers({"accession_number": case}) for case in keys}
    try:
        with transaction.atomic():
            study = ImportedReaderStudy.objects.create(
                name=name,
                reference_modality=reference,
                source_filename=source_filename[:255],
                created_by=user if getattr(user, "is_authenticated", False) else None,
            )
            ImportedReading.objects.bulk_create(
                (
                    ImportedReading(
                        study=study,
                        reader=reading.reader,
                        case=keys.get(reading.case, reading.case),
                        case_encrypted=encrypted.get(reading.case, ""),
                        modality=reading.modality,
                        truth=reading.truth,
                        rating=reading.rating,
                        decision=reading.decision,
                        seconds=reading.seconds,
                    )
                    for reading in parsed.readings
                ),
                batch_size=2000,
            )
    except IntegrityError:
        # Another import of the same name won the race between the check and the insert.
        raise ReadingImportError([f"a reader study named {name!r} already exists"]) from None
    return study
