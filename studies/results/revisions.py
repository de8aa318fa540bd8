"""The answers readers changed by going back: which, when, and from what to what."""

from __future__ import annotations

from typing import Any

from studies.results.downloads import _csv_text

ANSWER_COLUMNS = ("malignant", "confidence", "orads", "comment")
REVISION_COLUMNS = (
    "reader",
    "case",
    "modality",
    "practice",
    "answered_at",
    "revised_at",
    *(f"{when}_{name}" for when in ("old", "new") for name in ANSWER_COLUMNS),
)


def revisions_csv(rows: list[dict[str, Any]]) -> str:
    """`studies.reading.progress.study_revisions` as CSV (columns REVISION_COLUMNS)."""
    return _csv_text(
        REVISION_COLUMNS,
        (
            {
                **{key: row[key] for key in REVISION_COLUMNS[:6]},
                **{f"old_{name}": row["old"].get(name) for name in ANSWER_COLUMNS},
                **{f"new_{name}": row["new"].get(name) for name in ANSWER_COLUMNS},
            }
            for row in rows
        ),
    )
