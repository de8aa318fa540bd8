"""CSV that a spreadsheet opens as data, never as a formula (CSV or formula injection).

Excel, LibreOffice and Google Sheets run a cell that begins with `=`, `+`, `-` or `@` as a
formula (and some strip a leading tab or carriage return first), so a reader named
`=cmd|' /C calc'!A0` or a reason `=HYPERLINK(...)` in an export would run on the coordinator's
machine. Every CSV the product writes goes through `csv_writer` or `csv_dict_writer`, which
pass each cell through `csv_safe`: such a text cell gets a leading apostrophe, which the
spreadsheet shows as text. Numbers stay numbers, also as text (`"-0.12"`, `"1e-3"`), so a
negative difference still reads as one. `csv_unsafe` undoes it for our own importers.

No Django: any layer may import it.
"""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
# A plain decimal number; the strict form, so "-1_0", " -1" or "-inf" are not taken as one.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def csv_safe(value: Any) -> Any:
    """The value as it may be written to a CSV cell: text that a spreadsheet would run as a
    formula gets a leading apostrophe; numbers, booleans, None and other text are unchanged."""
    if value is None or isinstance(value, (bool, int, float, Decimal)):
        return value
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return ESCAPE + text
    return value


def csv_unsafe(text: str) -> str:
    """A cell read back from a CSV that `csv_safe` wrote: the apostrophe it added removed."""
    if text.startswith(ESCAPE) and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


class _SafeWriter:
    """csv.writer whose cells pass through csv_safe."""

    def __init__(self, handle, **options) -> None:
        self._writer = csv.writer(handle, **options)
        self.dialect = self._writer.dialect

    def writerow(self, row):
        return self._writer.writerow([csv_safe(cell) for cell in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(handle, **options) -> _SafeWriter:
    """Like csv.writer(handle, **options), with every cell through csv_safe."""
    return _SafeWriter(handle, **options)


class _SafeDictWriter(csv.DictWriter):
    def __init__(self, handle, fieldnames, **options) -> None:
        super().__init__(handle, fieldnames, **options)
        self.writer = _SafeWriter(handle, **_writer_options(options))


def _writer_options(options: dict) -> dict:
    return {k: v for k, v in options.items() if k not in ("restval", "extrasaction")}


def csv_dict_writer(handle, fieldnames, **options) -> csv.DictWriter:
    """Like csv.DictWriter(handle, fieldnames, **options), with every cell through csv_safe."""
    return _SafeDictWriter(handle, fieldnames, **options)
