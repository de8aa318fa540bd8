"""The readings as cells of the design, and what is missing from a full factorial design."""

from __future__ import annotations

from collections.abc import Iterable

from studies.models import ImportedReaderStudy
from studies.reading.imported import Reading
from studies.results.common import SHOWN, _sort_key
from studies.results.sources import imported_study_source

Cell = tuple[str, str, str]  # (modality, reader, case)


def _cells(readings: Iterable[Reading]) -> tuple[dict[Cell, tuple], dict[str, int]]:
    cells: dict[Cell, tuple] = {}
    truth: dict[str, int] = {}
    for reading in readings:
        cells[(reading.modality, reading.reader, reading.case)] = (
            reading.rating,
            reading.decision,
            reading.seconds,
        )
        truth[reading.case] = reading.truth
    return cells, truth


def _axes(cells: dict[Cell, tuple], reference: str) -> tuple[list[str], list[str], list[str]]:
    modalities = sorted({m for m, _, _ in cells}, key=lambda m: (m != reference, _sort_key(m)))
    readers = sorted({r for _, r, _ in cells}, key=_sort_key)
    cases = sorted({c for _, _, c in cells}, key=_sort_key)
    return modalities, readers, cases


def design_gaps(
    cells: dict[Cell, tuple], modalities: list[str], readers: list[str], cases: list[str]
) -> list[str]:
    """Per reader, the readings missing from a full factorial design."""
    gaps = []
    for reader in readers:
        absent = [
            f"case {case} in modality {modality}"
            for modality in modalities
            for case in cases
            if (modality, reader, case) not in cells
        ]
        if absent:
            shown = "; ".join(absent[:SHOWN]) + (" ..." if len(absent) > SHOWN else "")
            gaps.append(f"reader {reader} did not read {len(absent)} of them ({shown})")
    return gaps


def _gap_message(cells: dict[Cell, tuple], reference: str) -> str | None:
    modalities, readers, cases = _axes(cells, reference)
    gaps = design_gaps(cells, modalities, readers, cases)
    if not gaps:
        return None
    return (
        f"the design is incomplete: each of {len(readers)} readers should read "
        f"{len(cases)} cases in {len(modalities)} modalities "
        f"({len(cases) * len(modalities)} readings); " + "; ".join(gaps)
    )


def study_design_gaps(study: ImportedReaderStudy) -> str | None:
    """What is missing for every reader to have read every case in every modality, or None."""
    cells, _ = _cells(imported_study_source(study).readings)
    return _gap_message(cells, study.reference_modality)


def _complete_part(
    cells: dict[Cell, tuple], modalities: list[str], readers: list[str], cases: list[str]
) -> tuple[list[str], list[str]]:
    """The readers and cases of a complete sub-design, dropping the most incomplete first.

    Greedy: repeatedly drop the reader or case with the largest share of missing readings
    (a case on ties: readers are the scarce unit of an MRMC study) until none is missing.
    """
    readers, cases = list(readers), list(cases)
    while readers and cases:
        reader_gap = {
            r: sum((m, r, c) not in cells for m in modalities for c in cases) / len(cases)
            for r in readers
        }
        case_gap = {
            c: sum((m, r, c) not in cells for m in modalities for r in readers) / len(readers)
            for c in cases
        }
        worst_reader = max(readers, key=lambda r: reader_gap[r])
        worst_case = max(cases, key=lambda c: case_gap[c])
        if reader_gap[worst_reader] == 0 and case_gap[worst_case] == 0:
            break
        if case_gap[worst_case] >= reader_gap[worst_reader]:
            cases.remove(worst_case)
        else:
            readers.remove(worst_reader)
    return readers, cases
