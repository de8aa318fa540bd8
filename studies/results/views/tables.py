"""The results page's tables: per-reader rows, subgroups and the MRMC tests."""

from __future__ import annotations

from typing import Any

from studies.results import results_table

COLUMNS = (
    ("auc", "AUC"),
    ("accuracy", "Accuracy"),
    ("sensitivity", "Sensitivity"),
    ("specificity", "Specificity"),
    ("ppv", "PPV"),
    ("npv", "NPV"),
    ("kappa", "Cohen's κ"),
    ("f1", "F1"),
)
TESTS = (
    ("rrrc", "Random readers, random cases", "F"),
    ("frrc", "Fixed readers, random cases", "χ²"),
    ("rrfc", "Random readers, fixed cases", "F"),
)
METRIC_LABELS = {"auc": "AUC", "sensitivity": "Sensitivity", "specificity": "Specificity"}


def _cell(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {"estimate": value["estimate"], "low": value["ci_low"], "high": value["ci_high"]}
    return {"estimate": value, "low": None, "high": None}


def _table(document: dict[str, Any], columns: tuple[tuple[str, str], ...]) -> list[dict]:
    """Rows for the template, grouped: each modality's readers and pooled row, then the AI."""
    groups: dict[str, dict[str, Any]] = {
        modality: {"title": modality, "rows": []} for modality in document["study"]["modalities"]
    }
    ai_group = {"title": "AI alone", "rows": []}
    for row in results_table(document):
        cells = [
            _cell(
                {
                    "estimate": row.get(key),
                    "ci_low": row.get(f"{key}_ci_low"),
                    "ci_high": row.get(f"{key}_ci_high"),
                }
            )
            for key, _ in columns
        ]
        entry = {
            "kind": row["row"],
            "reader": row["reader"],
            "cells": cells,
            "median_seconds": row.get("median_seconds"),
            "counts": (
                f"TP {row['tp']} · FP {row['fp']} · TN {row['tn']} · FN {row['fn']}"
                if row.get("tp") is not None
                else ""
            ),
        }
        if row["row"] == "ai":
            ai_group["rows"].append(entry)
        elif row["row"] != "subgroup":  # their own table (_subgroup_table)
            groups[row["modality"]]["rows"].append(entry)
    return [*groups.values(), *([ai_group] if ai_group["rows"] else [])]


SUBGROUPINGS = {"specialty": "By specialty", "experience": "By years of experience"}


def _subgroup_table(document: dict[str, Any], columns: tuple[tuple[str, str], ...]) -> list[dict]:
    """Rows for the subgroup table: per grouping, per subgroup one row per modality."""
    order = document["study"]["modalities"]
    return [
        {
            "title": SUBGROUPINGS.get(grouping, grouping),
            "grouping": grouping,
            "subgroups": [
                {
                    "key": subgroup["key"],
                    "label": subgroup["label"],
                    "readers": subgroup["readers"],
                    "note": subgroup["note"],
                    "rows": [
                        {
                            "modality": modality,
                            "cells": [
                                _cell(subgroup["pooled"][modality][key]) for key, _ in columns
                            ],
                            "median_seconds": (
                                subgroup["pooled"][modality]["median_seconds"] or {}
                            ).get("estimate"),
                        }
                        for modality in order
                    ],
                }
                for subgroup in subgroups
            ],
        }
        for grouping, subgroups in document.get("subgroups", {}).items()
    ]


def _p_value(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"


def _number(value: float | None, decimals: int) -> str:
    """Fixed decimals for ordinary sizes; a degenerate design's huge F or df in short form."""
    if value is None:
        return "—"
    return f"{value:.{decimals}f}" if abs(value) < 1e5 else f"{value:.3g}"


def _mrmc(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The MRMC tables: per metric, each test (pairwise against the reference)."""
    order = document["study"]["modalities"]
    sections = []
    for metric, analysis in document["mrmc"].items():
        reference = analysis["reference"]
        comparisons = analysis.get("comparisons") or {
            next(m for m in order if m != reference): {name: analysis[name] for name, *_ in TESTS}
        }
        tests = []
        for modality, result in comparisons.items():
            for name, label, statistic in TESTS:
                test = result[name]
                df = str(test["df_numerator"])
                if test.get("df_denominator") is not None:
                    df += f", {_number(test['df_denominator'], 2)}"
                tests.append(
                    {
                        "modality": modality,
                        "name": name,
                        "label": label,
                        "difference": _number(test["difference"], 4),
                        "ci": (
                            f"{_number(test['ci_low'], 4)} to {_number(test['ci_high'], 4)}"
                            if test["ci_low"] is not None
                            else "—"
                        ),
                        "statistic": f"{statistic} = {_number(test['statistic'], 3)}",
                        "df": df,
                        "p": _p_value(test["p_value"]),
                    }
                )
        sections.append(
            {
                "metric": metric,
                "label": METRIC_LABELS.get(metric, metric),
                "covariance": analysis["covariance"],
                "reference": reference,
                "many": len(comparisons) > 1,
                "reader_means": [(m, analysis["reader_means"][m]) for m in order],
                "components": [
                    (name, f"{analysis[name]:.3g}")
                    for name in ("var", "cov1", "cov2", "cov3", "ms_tr")
                ],
                "tests": tests,
            }
        )
    return sections
