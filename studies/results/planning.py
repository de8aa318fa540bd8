"""Planning a reader study: readers and cases for a given power (Hillis-Obuchowski).

The pilot's OR variance components come from an imported study's MRMC analysis of the AUC
or are entered by hand; `studies.stats.power` does the arithmetic (see its docs). The page
shows the power for readers 3..15 against a list of case counts, and per number of readers
the fewest cases that reach the target power.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms

from studies.models import ImportedReaderStudy
from studies.results import COVARIANCES, ReaderStudyResultsError, reader_study_results
from studies.stats import PilotComponents, StatsInputError, power_table, sample_size_table
from studies.stats.power import ANALYSES, var_tr_from_ms

READERS = tuple(range(3, 16))
DEFAULT_CASES = (50, 100, 150, 200, 300, 400, 500, 750, 1000)
MAX_CASE_COLUMNS = 15
MAX_CASES = 100_000
ANALYSIS_LABELS = {
    "rrrc": "random readers, random cases",
    "frrc": "fixed readers, random cases",
    "rrfc": "random readers, fixed cases",
}
COMPONENTS = ("var", "cov1", "cov2", "cov3")
HAND_FIELDS = ("auc_reference", "auc_other", *COMPONENTS, "var_tr", "ms_tr", "pilot_cases")
QUESTION_FIELDS = ("effect", "power", "alpha", "analysis", "cases")


class PlanningError(ValueError):
    """The pilot or the question cannot give a power table; the message says why."""


def _case_list(text: str) -> list[int]:
    try:
        values = sorted({int(part) for part in text.replace(";", ",").split(",") if part.strip()})
    except ValueError:
        raise forms.ValidationError("give whole numbers separated by commas") from None
    if not values:
        raise forms.ValidationError("give at least one number of cases")
    if values[0] < 2 or values[-1] > MAX_CASES:
        raise forms.ValidationError(f"each number of cases must lie between 2 and {MAX_CASES}")
    if len(values) > MAX_CASE_COLUMNS:
        raise forms.ValidationError(f"at most {MAX_CASE_COLUMNS} numbers of cases")
    return values


class PlanningForm(forms.Form):
    """A GET form: a pilot study or hand-entered components, and what to detect."""

    pilot = forms.ModelChoiceField(
        ImportedReaderStudy.objects.all(),
        required=False,
        empty_label="— enter the components by hand —",
        help_text="an imported study whose AUC analysis gives the variance components",
    )
    covariance = forms.ChoiceField(
        choices=[(c, c) for c in COVARIANCES], initial="jackknife", required=False
    )
    auc_reference = forms.FloatField(
        required=False, min_value=0, max_value=1, label="AUC, reference modality"
    )
    auc_other = forms.FloatField(
        required=False, min_value=0, max_value=1, label="AUC, other modality"
    )
    var = forms.FloatField(required=False, label="Var")
    cov1 = forms.FloatField(required=False, label="Cov1")
    cov2 = forms.FloatField(required=False, label="Cov2")
    cov3 = forms.FloatField(required=False, label="Cov3")
    var_tr = forms.FloatField(required=False, label="var_TR")
    ms_tr = forms.FloatField(required=False, label="MS(TR)")
    pilot_cases = forms.IntegerField(
        required=False, min_value=2, label="Pilot cases", help_text="cases the components came from"
    )
    effect = forms.FloatField(
        required=False,
        min_value=0.001,
        max_value=1,
        label="AUC difference to detect",
        help_text="blank: the pilot's observed difference",
    )
    power = forms.FloatField(
        required=False, min_value=0.05, max_value=0.99, initial=0.8, label="Target power"
    )
    alpha = forms.FloatField(
        required=False, min_value=0.001, max_value=0.5, initial=0.05, label="Alpha (two-sided)"
    )
    analysis = forms.ChoiceField(
        choices=[(a, f"{a.upper()}: {ANALYSIS_LABELS[a]}") for a in ANALYSES],
        initial="rrrc",
        required=False,
    )
    cases = forms.CharField(
        required=False,
        initial=", ".join(str(c) for c in DEFAULT_CASES),
        label="Numbers of cases (columns)",
    )

    def hand_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in HAND_FIELDS]

    def question_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in QUESTION_FIELDS]

    def clean_cases(self) -> list[int]:
        return _case_list(self.cleaned_data.get("cases") or ", ".join(map(str, DEFAULT_CASES)))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["power"] = data.get("power") or 0.8
        data["alpha"] = data.get("alpha") or 0.05
        data["analysis"] = data.get("analysis") or "rrrc"
        data["covariance"] = data.get("covariance") or "jackknife"
        if data.get("pilot") is None:
            missing = [
                self.fields[name].label
                for name in (*COMPONENTS, "pilot_cases")
                if data.get(name) is None
            ]
            if missing:
                raise forms.ValidationError(
                    "choose a pilot study, or enter " + ", ".join(missing) + " by hand"
                )
            if (data.get("var_tr") is None) == (data.get("ms_tr") is None):
                raise forms.ValidationError("enter either var_TR or MS(TR), one of them")
        return data


@dataclass(frozen=True)
class Pilot:
    components: PilotComponents
    source: str  # what the components came from, in words
    auc_reference: float | None
    auc_other: float | None
    note: str = ""

    @property
    def observed_difference(self) -> float | None:
        if self.auc_reference is None or self.auc_other is None:
            return None
        return self.auc_other - self.auc_reference


def pilot_from_study(study: ImportedReaderStudy, covariance: str = "jackknife") -> Pilot:
    """The OR components of an imported study's AUC analysis (its complete part)."""
    try:
        document = reader_study_results(study, covariance=covariance, complete_only=True)
    except ReaderStudyResultsError as error:
        raise PlanningError(f"the pilot study cannot be analysed: {error}") from None
    analysis = document["mrmc"]["auc"]
    var_tr = var_tr_from_ms(
        analysis["ms_tr"], analysis["var"], analysis["cov1"], analysis["cov2"], analysis["cov3"]
    )
    components = PilotComponents(
        analysis["var"],
        analysis["cov1"],
        analysis["cov2"],
        analysis["cov3"],
        var_tr,
        analysis["cases"],
    )
    means = analysis["reader_means"]
    reference = analysis["reference"]
    others = [m for m in means if m != reference]
    excluded = document["excluded"]
    notes = []
    if excluded["readers"] or excluded["cases"]:
        notes.append(
            f"the incomplete design was analysed without {len(excluded['readers'])} readers "
            f"and {len(excluded['cases'])} cases"
        )
    if len(others) > 1:
        notes.append(
            f"the pilot has {len(means)} modalities; the components pool all of them and the "
            f"observed difference is {others[0]} minus {reference}"
        )
    return Pilot(
        components,
        f"{study.name} ({len(means)} modalities, {len(analysis['per_reader'][reference])} "
        f"readers, {analysis['cases']} cases, {covariance} covariance)",
        means[reference],
        means[others[0]],
        "; ".join(notes),
    )


def pilot_from_form(data: dict[str, Any]) -> Pilot:
    """The pilot of a valid PlanningForm's cleaned data."""
    if data.get("pilot") is not None:
        return pilot_from_study(data["pilot"], data["covariance"])
    var_tr = data["var_tr"]
    if var_tr is None:
        var_tr = var_tr_from_ms(data["ms_tr"], *(data[name] for name in COMPONENTS))
    components = PilotComponents(
        *(data[name] for name in COMPONENTS), var_tr=var_tr, cases=data["pilot_cases"]
    )
    return Pilot(
        components,
        f"components entered by hand ({data['pilot_cases']} pilot cases)",
        data.get("auc_reference"),
        data.get("auc_other"),
    )


def plan(
    *,
    pilot: Pilot,
    effect: float | None,
    cases: list[int],
    readers: tuple[int, ...] = READERS,
    power: float = 0.8,
    alpha: float = 0.05,
    analysis: str = "rrrc",
) -> dict[str, Any]:
    """The power table (rows: readers, columns: cases) and the cases needed per reader count.

    `effect` None takes the pilot's observed AUC difference (its absolute value).
    """
    if effect is None:
        observed = pilot.observed_difference
        if observed is None or abs(observed) < 1e-9:
            raise PlanningError(
                "give the AUC difference to detect (the pilot gives no difference to use)"
            )
        effect = abs(observed)
    try:
        grid = power_table(
            effect=effect,
            pilot=pilot.components,
            readers=readers,
            cases=cases,
            alpha=alpha,
            target_power=power,
            analysis=analysis,
        )
        needed = sample_size_table(
            effect=effect,
            pilot=pilot.components,
            readers=readers,
            alpha=alpha,
            target_power=power,
            analysis=analysis,
            max_cases=MAX_CASES,
        )
    except StatsInputError as error:
        raise PlanningError(str(error)) from None
    by_readers: dict[int, list[dict[str, Any]]] = {r: [] for r in readers}
    for cell in grid:
        by_readers[cell["readers"]].append(cell)  # type: ignore[index]
    rows = [
        {
            "readers": r,
            "cells": by_readers[r],
            "cases_needed": need["cases"],
            "power_at_needed": need["power"],
        }
        for r, need in zip(readers, needed, strict=True)
    ]
    return {
        "effect": effect,
        "power": power,
        "alpha": alpha,
        "analysis": analysis,
        "analysis_label": ANALYSIS_LABELS[analysis],
        "cases": cases,
        "rows": rows,
        "max_cases": MAX_CASES,
    }
