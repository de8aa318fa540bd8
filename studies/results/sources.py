"""What a reader study's results are computed from, whatever kind of study it is.

A `ResultSource` is the common input of `studies.results.source_results`: the readings in
the long format of the CSV import (one `Reading` per reader, case and modality), the
reference modality (the difference is the other modality minus this one: with AI minus
without), and the AI alone on the same cases when the study has AI output.

- `imported_study_source` builds one from an imported study (no AI alone: the file has no
  AI column).
- `studies.results.designed_reads.designed_study_source` builds one from a designed study (its arms,
  the model's exam scores and decisions, and each reader's experience for subgroups).
"""

from __future__ import annotations

from dataclasses import dataclass

from studies.models import ImportedReaderStudy
from studies.reading.imported import Reading


@dataclass(frozen=True)
class ReaderProfile:
    """A reader's experience, for subgroup results; empty / None where not recorded."""

    specialty: str = ""  # the stored value, e.g. "general_radiology"
    specialty_label: str = ""  # as shown, e.g. "General radiology"
    experience_years: int | None = None


@dataclass(frozen=True)
class ResultSource:
    """The readings of one study and what they are compared against.

    `ai_by_case` maps a case (as in the readings) to the AI's score (higher = more likely
    malignant) and its 0/1 decision; None when the study has no AI output. Cases missing
    from it are left out of the AI-alone row only.

    `reader_profiles` maps a reader (as in the readings) to their experience; a study that
    records it (a designed one) gets subgroup results, others (None) do not.
    """

    title: str
    readings: list[Reading]
    reference_modality: str
    ai_by_case: dict[str, tuple[float, int]] | None = None
    reader_profiles: dict[str, ReaderProfile] | None = None


def imported_study_source(study: ImportedReaderStudy) -> ResultSource:
    """The readings of an imported study, numbered as lines of its long-format CSV."""
    rows = study.readings.order_by("modality", "reader", "case").values_list(
        "reader", "case", "modality", "truth", "rating", "decision", "seconds"
    )
    readings = [Reading(line, *row) for line, row in enumerate(rows, start=2)]
    return ResultSource(
        title=study.name,
        readings=readings,
        reference_modality=study.reference_modality,
        ai_by_case=None,
    )
