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
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from .models import ImportedReaderStudy, ImportedReading

REQUIRED = ("reader", "case", "modality", "truth", "rating")
OPTIONAL = ("decision", "seconds")
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_NAME_LENGTH = 100  # reader, case and modality (the model's max_length)
MAX_STUDY_NAME_LENGTH = 200
SHOWN = 10  # problems listed in one message


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
        reader, case, modality = cell["reader"], cell["case"], cell["modality"]
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


def reader_study_import(
    *,
    name: str,
    data: bytes,
    reference: str | None = None,
    user=None,
    source_filename: str = "",
) -> ImportedReaderStudy:
    """Validate the CSV, then store it as a study with its readings (one transaction).

    `reference` is the modality the others are compared against (default: the first modality
    in the file). Raises ReadingImportError for a bad name, reference or file; then nothing
    is stored.
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
                        case=reading.case,
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
