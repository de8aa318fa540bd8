"""Reading and checking a clinical CSV (docs/clinical_csv.md); no Django, no database.

`parse_clinical_csv` turns the file into typed `ClinicalRow`s and a list of `RowError`s.
Line numbers are the row numbers a spreadsheet shows: the header is line 1, the first exam
line 2 (a quoted cell spanning several physical lines still counts as one row).

Two kinds of error:
- file errors (too large, not UTF-8, empty, wrong header, too many rows): the file as a whole
  is unusable, `ParseResult.fatal` is true and no row is returned;
- row errors: the row is left out of `rows` and each problem is listed with its column.

What the database knows (centre codes) is checked by the importer, not here. Text cells are
kept verbatim (after trimming spaces): a cell such as `=HYPERLINK(...)` or `<script>` is data,
escaped wherever it is shown.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date

COLUMNS = (
    "patient_id", "accession_number", "exam_date", "center", "birth_year", "ca125_u_per_ml",
    "ca125_date", "pathology", "histology", "figo_stage", "grade", "operation_date",
    "report_lesion_size_mm", "report_text", "mass_type", "lesion_diameter_mm",
    "solid_diameter_mm", "locules", "papillary_projections", "acoustic_shadows", "ascites",
    "color_score", "irregular_walls",
)  # fmt: skip
FEATURE_COLUMNS = COLUMNS[14:]
# Features that describe the mass itself: required with mass_type, empty without one.
MASS_COLUMNS = tuple(column for column in FEATURE_COLUMNS[1:] if column != "ascites")

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
MAX_IDENTIFIER_LENGTH = 64
MAX_TEXT_LENGTH = 5000

PATHOLOGY_OUTCOMES = ("benign", "borderline", "malignant")
HISTOLOGY = {
    "benign": (
        "serous cystadenoma",
        "mucinous cystadenoma",
        "endometrioma",
        "mature teratoma",
        "fibroma/thecoma",
    ),
    "borderline": ("serous borderline tumour", "mucinous borderline tumour"),
    "malignant": (
        "high-grade serous carcinoma",
        "low-grade serous carcinoma",
        "endometrioid carcinoma",
        "clear cell carcinoma",
        "mucinous carcinoma",
        "metastatic tumour",
    ),
}
METASTATIC = "metastatic tumour"
FIGO_STAGES = (
    "I", "IA", "IB", "IC", "II", "IIA", "IIB", "III", "IIIA", "IIIB", "IIIC", "IV", "IVA", "IVB",
)  # fmt: skip
MASS_TYPES = ("unilocular", "unilocular_solid", "multilocular", "multilocular_solid", "solid")
# The doc's only null marker is the empty cell; these are what spreadsheets and R write instead.
NULL_MARKERS = {"na", "n/a", "#n/a", "null", "none", "nan", "-", "?"}

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
# Control characters other than tab and newline have no place in a clinical text and
# PostgreSQL refuses NUL outright.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class ClinicalRow:
    """One exam. Text is "" and other values None where the cell was empty."""

    line: int
    patient_id: str
    accession_number: str
    exam_date: date
    center: str
    birth_year: int
    ca125_u_per_ml: float | None
    ca125_date: date | None
    pathology: str
    histology: str
    figo_stage: str
    grade: int | None
    operation_date: date | None
    report_lesion_size_mm: int | None
    report_text: str
    mass_type: str
    lesion_diameter_mm: int | None
    solid_diameter_mm: int | None
    locules: int | None
    papillary_projections: int | None
    acoustic_shadows: bool | None
    ascites: bool | None
    color_score: int | None
    irregular_walls: bool | None


@dataclass
class ParseResult:
    rows: list[ClinicalRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    fatal: bool = False  # the file as a whole was refused; `rows` is empty

    @property
    def bad_lines(self) -> set[int]:
        return {error.line for error in self.errors}


class _CellError(ValueError):
    pass


def parse_clinical_csv(
    data: str | bytes, *, max_bytes: int = MAX_FILE_BYTES, max_rows: int = MAX_ROWS
) -> ParseResult:
    """Check every row of a clinical CSV; rows with any error are left out of `rows`."""
    if isinstance(data, str):
        text = data
        size = len(data.encode("utf-8", errors="surrogatepass"))
    else:
        size = len(data)
    if size > max_bytes:
        return _fatal(
            1, "", f"the file is {_megabytes(size)}; the limit is {_megabytes(max_bytes)}"
        )
    if isinstance(data, bytes):
        try:
            text = codecs.decode(data, "utf-8-sig")
        except UnicodeDecodeError as error:
            return _fatal(*_encoding_error(data, error))
    text = text.removeprefix("\ufeff")  # Excel writes a byte-order mark
    if not text.strip():
        return _fatal(1, "", "the file is empty; it needs the header row and one row per exam")
    try:
        body = _body(_records(text), max_rows)
    except csv.Error as error:
        return _fatal(error.args[1], "", f"the file is not valid CSV: {error.args[0]}")
    if isinstance(body, ParseResult):
        return body
    if not body:
        return _fatal(1, "", "the file has a header but no exam rows")
    return _parse_body(body)


def _fatal(line: int, column: str, message: str) -> ParseResult:
    return ParseResult(errors=[RowError(line, column, message)], fatal=True)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _records(text: str):
    """(line, cells) per CSV record, numbered as a spreadsheet numbers its rows."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 0
    try:
        for line, cells in enumerate(reader, start=1):
            yield line, cells
    except csv.Error as error:
        raise csv.Error(str(error), line + 1) from None


def _body(records, max_rows: int) -> list[tuple[int, list[str]]] | ParseResult:
    """The exam rows after a correct header, blank rows dropped; a ParseResult on a file error."""
    _, header = next(records)
    header_errors = _header_errors(header)
    if header_errors:
        return ParseResult(errors=header_errors, fatal=True)
    body = []
    for line, cells in records:
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, or a row of empty cells left by a spreadsheet
        body.append((line, cells))
        if len(body) > max_rows:
            return _fatal(line, "", f"the file has more than {max_rows} exam rows; split it")
    return body


def _encoding_error(data: bytes, error: UnicodeDecodeError) -> tuple[int, str, str]:
    """Where the first undecodable byte is, so the user can find and fix it."""
    line, column = 1, ""
    text = data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    try:
        for record_line, cells in _records(text):
            bad = [index for index, cell in enumerate(cells) if re.search("[\udc80-\udcff]", cell)]
            if bad:
                line = record_line
                column = COLUMNS[bad[0]] if bad[0] < len(COLUMNS) else f"column {bad[0] + 1}"
                break
    except csv.Error:
        pass
    byte = data[error.start]
    return (
        line,
        column,
        f"the file is not UTF-8 (byte 0x{byte:02X}); save it as 'CSV UTF-8' and upload it again",
    )


def _header_errors(header: list[str]) -> list[RowError]:
    names = [name.strip() for name in header]
    if tuple(names) == COLUMNS:
        return []
    errors = []
    missing = [column for column in COLUMNS if column not in names]
    unknown = [name for name in names if name not in COLUMNS]
    repeated = sorted({name for name in names if name in COLUMNS and names.count(name) > 1})
    if missing:
        errors.append(RowError(1, ", ".join(missing), f"missing column(s): {', '.join(missing)}"))
    if unknown:
        shown = ", ".join(repr(name) for name in unknown)
        errors.append(RowError(1, ", ".join(unknown), f"unknown column(s): {shown}"))
    if repeated:
        errors.append(
            RowError(1, ", ".join(repeated), f"repeated column(s): {', '.join(repeated)}")
        )
    if not errors:
        position = next(i for i, (a, b) in enumerate(zip(names, COLUMNS, strict=True)) if a != b)
        errors.append(
            RowError(
                1,
                names[position],
                f"columns are out of order: column {position + 1} is {names[position]!r}, "
                f"expected {COLUMNS[position]!r}",
            )
        )
    errors.append(RowError(1, "", f"the header must be exactly: {','.join(COLUMNS)}"))
    return errors


def _parse_body(body: list[tuple[int, list[str]]]) -> ParseResult:
    result = ParseResult()
    seen_accessions: dict[str, int] = {}
    seen_birth_years: dict[str, tuple[int, int]] = {}
    seen_ca125: dict[tuple[str, date], tuple[int, float]] = {}
    for line, cells in body:
        row, errors = _parse_row(line, cells)
        if row is not None:
            errors += _file_level_errors(row, seen_accessions, seen_birth_years, seen_ca125)
        if errors:
            result.errors += errors
        elif row is not None:
            result.rows.append(row)
    return result


def _file_level_errors(
    row: ClinicalRow,
    accessions: dict[str, int],
    birth_years: dict[str, tuple[int, int]],
    ca125: dict[tuple[str, date], tuple[int, float]],
) -> list[RowError]:
    """Conflicts between rows of the same file; the first row wins, later ones are errors."""
    errors = []
    first = accessions.setdefault(row.accession_number, row.line)
    if first != row.line:
        errors.append(
            RowError(row.line, "accession_number", f"accession number repeats line {first}")
        )
    patient = row.patient_id.upper()  # the pseudonym ignores case, so do we
    first_line, year = birth_years.setdefault(patient, (row.line, row.birth_year))
    if year != row.birth_year:
        errors.append(
            RowError(
                row.line, "birth_year", f"line {first_line} gives this patient birth year {year}"
            )
        )
    if row.ca125_date is not None and row.ca125_u_per_ml is not None:
        first_line, value = ca125.setdefault(
            (patient, row.ca125_date), (row.line, row.ca125_u_per_ml)
        )
        # One measurement per patient per day is stored; two exams may share it.
        if value != row.ca125_u_per_ml:
            errors.append(
                RowError(
                    row.line,
                    "ca125_u_per_ml",
                    f"line {first_line} gives this patient CA125 {value:g} U/mL on the same "
                    "date; only one measurement per patient per day is kept",
                )
            )
    return errors


def _parse_row(line: int, cells: list[str]) -> tuple[ClinicalRow | None, list[RowError]]:
    if len(cells) != len(COLUMNS):
        message = f"the row has {len(cells)} cells; the header has {len(COLUMNS)}"
        return None, [RowError(line, "", message)]
    raw = dict(zip(COLUMNS, (cell.strip() for cell in cells), strict=True))
    values: dict[str, object] = {}
    errors: list[RowError] = []
    for column, cell in raw.items():
        try:
            values[column] = _convert(column, cell)
        except _CellError as error:
            errors.append(RowError(line, column, str(error)))
    if errors:
        return None, errors
    row = ClinicalRow(line=line, **values)  # type: ignore[arg-type]
    errors = [RowError(line, column, message) for column, message in _consistency_errors(row)]
    return row, errors


def _convert(column: str, cell: str) -> object:
    if cell.lower() in NULL_MARKERS:
        raise _CellError(f"{cell!r} is not allowed; leave the cell empty when unknown")
    if _CONTROL.search(cell):
        raise _CellError("contains control characters")
    converter = _CONVERTERS[column]
    if not cell:
        if column in _REQUIRED:
            raise _CellError("required")
        return "" if converter in (_text, _identifier) or isinstance(converter, _Choice) else None
    return converter(cell)


def _identifier(cell: str) -> str:
    if len(cell) > MAX_IDENTIFIER_LENGTH:
        raise _CellError(f"longer than {MAX_IDENTIFIER_LENGTH} characters")
    return cell


def _text(cell: str) -> str:
    if len(cell) > MAX_TEXT_LENGTH:
        raise _CellError(f"longer than {MAX_TEXT_LENGTH} characters")
    return cell


def _date(cell: str) -> date:
    if not _DATE.fullmatch(cell):
        raise _CellError(f"{cell!r} is not a date written YYYY-MM-DD")
    try:
        value = date.fromisoformat(cell)
    except ValueError:
        raise _CellError(f"{cell!r} is not a calendar date") from None
    if not 1900 <= value.year <= 2100:
        raise _CellError(f"{cell!r} is outside 1900-2100")
    return value


class _Integer:
    def __init__(self, low: int, high: int, *, above_low: bool = False) -> None:
        self.low, self.high, self.above_low = low, high, above_low

    def __call__(self, cell: str) -> int:
        if not _INTEGER.fullmatch(cell):
            raise _CellError(f"{cell!r} is not a whole number")
        value = int(cell)
        too_low = value <= self.low if self.above_low else value < self.low
        if too_low or value > self.high:
            low = f"more than {self.low}" if self.above_low else f"at least {self.low}"
            raise _CellError(f"{value} is out of range: must be {low} and at most {self.high}")
        return value


def _ca125(cell: str) -> float:
    if not _DECIMAL.fullmatch(cell):
        raise _CellError(f"{cell!r} is not a number (use a point for decimals)")
    value = float(cell)
    if not 0 < value <= 100000:
        raise _CellError(f"{cell} is out of range: must be more than 0 and at most 100000")
    return value


def _boolean(cell: str) -> bool:
    if cell not in ("0", "1"):
        raise _CellError(f"{cell!r} is not 0 or 1")
    return cell == "1"


class _Choice:
    def __init__(self, allowed: tuple[str, ...]) -> None:
        self.allowed = allowed

    def __call__(self, cell: str) -> str:
        if cell not in self.allowed:
            raise _CellError(f"{cell!r} is not one of: {', '.join(self.allowed)}")
        return cell


_CONVERTERS = {
    "patient_id": _identifier,
    "accession_number": _identifier,
    "exam_date": _date,
    "center": _identifier,
    "birth_year": _Integer(1900, 2100),
    "ca125_u_per_ml": _ca125,
    "ca125_date": _date,
    "pathology": _Choice(PATHOLOGY_OUTCOMES),
    "histology": _Choice(tuple(name for names in HISTOLOGY.values() for name in names)),
    "figo_stage": _Choice(FIGO_STAGES),
    "grade": _Integer(1, 3),
    "operation_date": _date,
    "report_lesion_size_mm": _Integer(0, 400, above_low=True),
    "report_text": _text,
    "mass_type": _Choice(MASS_TYPES),
    "lesion_diameter_mm": _Integer(0, 400, above_low=True),
    "solid_diameter_mm": _Integer(0, 400),
    "locules": _Integer(0, 100),
    "papillary_projections": _Integer(0, 4),
    "acoustic_shadows": _boolean,
    "ascites": _boolean,
    "color_score": _Integer(1, 4),
    "irregular_walls": _boolean,
}
_REQUIRED = {"patient_id", "accession_number", "exam_date", "center", "birth_year"}


def _consistency_errors(row: ClinicalRow) -> list[tuple[str, str]]:
    """The doc's cross-column rules, as (column, message)."""
    return [
        *_ca125_errors(row),
        *_pathology_errors(row),
        *_feature_errors(row),
        *(
            [("birth_year", f"birth year {row.birth_year} is after the exam date")]
            if row.birth_year > row.exam_date.year
            else []
        ),
    ]


def _ca125_errors(row: ClinicalRow) -> list[tuple[str, str]]:
    if row.ca125_u_per_ml is not None and row.ca125_date is None:
        return [("ca125_date", "required when ca125_u_per_ml is given")]
    if row.ca125_u_per_ml is None and row.ca125_date is not None:
        return [("ca125_date", "must be empty when ca125_u_per_ml is empty")]
    return []


def _pathology_errors(row: ClinicalRow) -> list[tuple[str, str]]:
    errors = []
    if not row.pathology:
        for column in ("histology", "figo_stage", "grade", "operation_date"):
            if getattr(row, column) not in ("", None):
                errors.append((column, "must be empty when pathology is empty"))
        return errors
    if not row.histology:
        errors.append(("histology", "required when pathology is given"))
    elif row.histology not in HISTOLOGY[row.pathology]:
        allowed = ", ".join(HISTOLOGY[row.pathology])
        errors.append(("histology", f"{row.histology!r} is not {row.pathology}: use {allowed}"))
    primary_malignant = row.pathology == "malignant" and row.histology != METASTATIC
    for column in ("figo_stage", "grade"):
        if getattr(row, column) not in ("", None) and not primary_malignant:
            errors.append(
                (column, "only for malignant primary tumours; leave it empty for this pathology")
            )
    if row.operation_date is None:
        errors.append(("operation_date", "required when pathology is given"))
    elif row.operation_date < row.exam_date:
        errors.append(("operation_date", f"is before the exam date {row.exam_date.isoformat()}"))
    return errors


def _feature_errors(row: ClinicalRow) -> list[tuple[str, str]]:
    errors = []
    if not row.mass_type:
        for column in MASS_COLUMNS:
            if getattr(row, column) is not None:
                errors.append((column, "must be empty when mass_type is empty"))
        return errors
    for column in MASS_COLUMNS:
        if getattr(row, column) is None:
            errors.append((column, "required when mass_type is given"))
    lesion, solid = row.lesion_diameter_mm, row.solid_diameter_mm
    if lesion is not None and solid is not None and solid > lesion:
        errors.append(("solid_diameter_mm", f"{solid} mm is larger than the lesion ({lesion} mm)"))
    if row.mass_type == "unilocular":
        if row.locules is not None and row.locules != 1:
            errors.append(("locules", f"a unilocular mass has 1 locule, not {row.locules}"))
        if solid:
            errors.append(("solid_diameter_mm", "a unilocular mass has no solid tissue (0)"))
    return errors
