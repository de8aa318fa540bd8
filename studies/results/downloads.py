"""Downloads: the per-reader table (rows and CSV) and the readings in the long format."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from base.csv_cells import csv_dict_writer
from studies.reading.imported import Reading
from studies.results.common import DECISION_METRICS, _sort_key

ESTIMATE_METRICS = ("auc", *DECISION_METRICS, "kappa", "f1")
TABLE_COLUMNS = (
    "row",
    "reader",
    "modality",
    *(f"{metric}{suffix}" for metric in ESTIMATE_METRICS for suffix in ("", "_ci_low", "_ci_high")),
    "median_seconds",
    "cases",
    "tp",
    "fp",
    "tn",
    "fn",
)
LONG_COLUMNS = ("reader", "case", "modality", "truth", "rating", "decision", "seconds")


def _estimate_cells(metric: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {
            metric: value["estimate"],
            f"{metric}_ci_low": value["ci_low"],
            f"{metric}_ci_high": value["ci_high"],
        }
    return {metric: value}


def _table_row(kind: str, reader: str, modality: str, entry: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"row": kind, "reader": reader, "modality": modality}
    pooled = kind in ("pooled", "subgroup")
    auc_value = entry.get("auc") if pooled else entry.get("auc_ci")
    row.update(_estimate_cells("auc", auc_value))
    for metric in DECISION_METRICS:
        row.update(_estimate_cells(metric, entry.get(metric)))
    kappa = entry.get("kappa") if pooled else entry.get("kappa_ci")
    row.update(_estimate_cells("kappa", kappa if kappa is not None else entry.get("kappa")))
    row.update(_estimate_cells("f1", entry.get("f1")))
    seconds = entry.get("median_seconds")
    row["median_seconds"] = seconds["estimate"] if isinstance(seconds, dict) else seconds
    row["cases"] = entry.get("cases")
    counts = entry.get("counts") or {}
    row.update({name: counts.get(name) for name in ("tp", "fp", "tn", "fn")})
    return row


def results_table(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-reader table of a `source_results` document: reader rows, pooled, AI alone.

    `row` is "reader", "pooled" (mean across readers, t interval), "subgroup" (the mean
    across a subgroup's readers; `reader` names it, e.g. "experience: under 5 years") or
    "ai" (the AI alone).
    """
    cases = document.get("study", {}).get("cases")
    table = [
        _table_row("reader", entry["reader"], entry["modality"], entry)
        for entry in document["readers"]
    ]
    for modality, metrics in document["pooled"].items():
        table.append(_table_row("pooled", "", modality, {**metrics, "cases": cases}))
    for grouping, subgroups in document.get("subgroups", {}).items():
        for subgroup in subgroups:
            for modality, metrics in subgroup["pooled"].items():
                name = f"{grouping}: {subgroup['label']}"
                table.append(_table_row("subgroup", name, modality, {**metrics, "cases": cases}))
    if document.get("ai"):
        table.append(_table_row("ai", "AI alone", "", document["ai"]))
    return table


def _csv_text(columns: Iterable[str], rows: Iterable[dict[str, Any]]) -> str:
    """Text cells that a spreadsheet would run as formulas are written as text (csv_cells)."""
    out = io.StringIO()
    writer = csv_dict_writer(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def results_table_csv(document: dict[str, Any]) -> str:
    """`results_table` as CSV (columns TABLE_COLUMNS; empty cells where undefined)."""
    return _csv_text(TABLE_COLUMNS, results_table(document))


def readings_csv(readings: Iterable[Reading]) -> str:
    """The readings in the long format `reader_study_import` reads (and iMRMC / RJafroc).

    `decision` is written only when every reading has one (the import takes all or none),
    `seconds` when any reading has one. Ratings keep every digit, so the file round-trips.
    """
    readings = sorted(
        readings, key=lambda r: (_sort_key(r.modality), _sort_key(r.reader), _sort_key(r.case))
    )
    with_decision = bool(readings) and all(r.decision is not None for r in readings)
    with_seconds = any(r.seconds is not None for r in readings)
    columns = [
        c
        for c in LONG_COLUMNS
        if (c != "decision" or with_decision) and (c != "seconds" or with_seconds)
    ]
    rows = (
        {
            "reader": r.reader,
            "case": r.case,
            "modality": r.modality,
            "truth": r.truth,
            "rating": repr(float(r.rating)),
            **({"decision": r.decision} if with_decision else {}),
            **({"seconds": r.seconds} if with_seconds else {}),
        }
        for r in readings
    )
    return _csv_text(columns, rows)
