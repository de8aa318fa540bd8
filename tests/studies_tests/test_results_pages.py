"""Reader-study results pages, downloads and API; the planning page."""

import csv
import io
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from django.urls import reverse

from base.roles import Role
from studies.models import ImportedReaderStudy, ReaderStudy
from studies.reading.imported import parse_readings, reader_study_import
from studies.results import (
    TABLE_COLUMNS,
    reader_study_results,
    readings_csv,
    results_table,
    source_results,
)
from studies.results.planning import READERS, pilot_from_study, plan
from studies.results.sources import ResultSource, imported_study_source
from studies.stats import (
    auc,
    auc_ci,
    binary_metrics,
    mean_t_interval,
    mrmc_from_long,
    proportion_ci,
    roc_curve,
)
from tests.factories import UserFactory

REFERENCE_DIR = Path(__file__).resolve().parents[3] / "shared" / "reference" / "mrmc"
READERS_NAMES = ("anna", "ben", "chloe")
CASES = [f"c{i}" for i in range(1, 11)]
TRUTH = {case: int(i < 5) for i, case in enumerate(CASES)}  # c1..c5 diseased


def _study_csv(*, decisions=True, seconds=True, drop=None) -> bytes:
    """2 arms x 3 readers x 10 cases; with AI every reader finds more and rates better."""
    header = "reader,case,modality,truth,rating" + (",decision" if decisions else "")
    lines = [header + (",seconds" if seconds else "")]
    for modality in ("without AI", "with AI"):
        for r, reader in enumerate(READERS_NAMES):
            for i, case in enumerate(CASES):
                if drop == (reader, case, modality):
                    continue
                truth = TRUTH[case]
                aided = modality == "with AI"
                found = i < 2 + r % 2 + aided if truth else i in (5 + r, 9 - r * aided)
                rating = 30 + 40 * found + 3 * i * (1 if truth else -1) + r
                line = f"{reader},{case},{modality},{truth},{rating}"
                line += f",{int(found)}" if decisions else ""
                lines.append(line + (f",{10 + i + 5 * aided + r}" if seconds else ""))
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def study(db):
    return reader_study_import(name="Hand-made study", data=_study_csv(), reference="without AI")


@pytest.fixture
def coordinator(client, db):
    client.force_login(UserFactory(role=Role.COORDINATOR))
    return client


def _ai_by_case():
    # A decent AI: scores rank all but one pair correctly; it calls c1..c4 and c7 malignant.
    scores = {case: 0.9 - 0.07 * i for i, case in enumerate(CASES)}
    scores["c5"], scores["c6"] = 0.3, 0.35
    return {case: (scores[case], int(case in ("c1", "c2", "c3", "c4", "c7"))) for case in CASES}


def _readings(source, reader, modality):
    """One reader's readings in one modality, in the order of CASES."""
    chosen = [r for r in source.readings if (r.reader, r.modality) == (reader, modality)]
    return sorted(chosen, key=lambda r: CASES.index(r.case))


# --- the document -------------------------------------------------------------------------


def test_the_table_values_are_the_statistics_functions_values(study):
    document = source_results(imported_study_source(study))
    source = imported_study_source(study)
    y = np.array([TRUTH[c] for c in CASES])
    for entry in document["readers"]:
        readings = _readings(source, entry["reader"], entry["modality"])
        ratings = np.array([r.rating for r in readings])
        decisions = np.array([r.decision for r in readings])
        tp = int(((y == 1) & (decisions == 1)).sum())
        fn = int(((y == 1) & (decisions == 0)).sum())
        assert entry["sensitivity"] == proportion_ci(tp, tp + fn).as_dict()
        metrics = binary_metrics(y, decisions)
        for name in ("accuracy", "specificity", "ppv", "npv"):
            assert entry[name] == metrics[name].as_dict()
        assert entry["kappa"] == metrics["kappa"].estimate
        assert entry["kappa_ci"] == metrics["kappa"].as_dict()
        assert entry["f1"] == metrics["f1"]
        assert entry["counts"] == {k: metrics[k] for k in ("n", "tp", "fp", "tn", "fn")}
        assert entry["auc"] == auc(y, ratings)
        # (The case order differs: the sums agree to the last bit or two.)
        assert entry["auc_ci"] == pytest.approx(auc_ci(y, ratings).as_dict(), rel=1e-12)
        assert entry["median_seconds"] == float(np.median([r.seconds for r in readings]))
    for modality in ("without AI", "with AI"):
        rows = [e for e in document["readers"] if e["modality"] == modality]
        assert document["pooled"][modality]["auc"] == _clipped(
            mean_t_interval([e["auc"] for e in rows]).as_dict()
        )
        assert document["pooled"][modality]["sensitivity"] == _clipped(
            mean_t_interval([e["sensitivity"]["estimate"] for e in rows]).as_dict()
        )
    expected = mrmc_from_long(
        [{"reader": r.reader, "case": r.case, "modality": r.modality, "truth": r.truth,
          "rating": r.rating, "decision": r.decision} for r in source.readings],
        reference="without AI",
    )  # fmt: skip
    for metric in ("auc", "sensitivity", "specificity"):
        assert document["mrmc"][metric]["rrrc"] == expected[metric]["rrrc"]
    assert document["study"]["modalities"] == ["without AI", "with AI"]
    assert document["study"]["readers"] == list(READERS_NAMES)
    assert (document["study"]["cases"], document["study"]["diseased"]) == (10, 5)
    assert document["ai"] is None and document["roc"]["ai"] is None


def _clipped(interval: dict) -> dict:
    # Pooled intervals of proportions and AUC are clipped to 0..1.
    return {
        **interval,
        "ci_low": max(0.0, interval["ci_low"]),
        "ci_high": min(1.0, interval["ci_high"]),
    }


def test_pooled_intervals_stay_within_the_range_of_their_metric(study):
    document = source_results(imported_study_source(study))
    for modality, pooled in document["pooled"].items():
        for name, value in pooled.items():
            if value is None or name == "median_seconds":
                continue
            low = -1.0 if name == "kappa" else 0.0
            assert low <= value["ci_low"] <= value["estimate"] <= value["ci_high"] <= 1.0, (
                modality,
                name,
            )


def test_the_imported_document_keeps_its_keys_and_values(study):
    legacy = reader_study_results(study)
    full = source_results(imported_study_source(study))
    assert set(legacy) == {"readers", "pooled", "mrmc"}
    for old, new in zip(legacy["readers"], full["readers"], strict=True):
        assert old == {key: new[key] for key in old}
    assert legacy["pooled"] == full["pooled"] and legacy["mrmc"] == full["mrmc"]


def test_roc_points_and_operating_points(study):
    document = source_results(imported_study_source(study))
    y = np.array([TRUTH[c] for c in CASES])
    assert len(document["roc"]["readers"]) == 6
    for entry, row in zip(document["roc"]["readers"], document["readers"], strict=True):
        assert (entry["reader"], entry["modality"]) == (row["reader"], row["modality"])
        assert entry["auc"] == row["auc"]
        # The area under the points is the AUC (trapezoids).
        assert np.trapezoid(entry["tpr"], entry["fpr"]) == pytest.approx(row["auc"])
        assert entry["operating_point"] == {
            "fpr": 1 - row["specificity"]["estimate"],
            "tpr": row["sensitivity"]["estimate"],
        }
    first = document["roc"]["readers"][0]
    readings = [
        r
        for r in imported_study_source(study).readings
        if (r.reader, r.modality) == ("anna", "without AI")
    ]
    ratings = np.array([r.rating for r in sorted(readings, key=lambda r: CASES.index(r.case))])
    fpr, tpr, _ = roc_curve(y, ratings)
    assert (first["fpr"], first["tpr"]) == (fpr.tolist(), tpr.tolist())


def test_the_ai_alone_on_the_same_cases(study):
    ai = _ai_by_case()
    del ai["c10"]  # a case without an AI result is left out of the AI row only
    source = imported_study_source(study)
    document = source_results(
        ResultSource(source.title, source.readings, source.reference_modality, ai)
    )
    cases = [c for c in CASES if c in ai]
    y = np.array([TRUTH[c] for c in cases])
    scores = np.array([ai[c][0] for c in cases])
    metrics = binary_metrics(y, np.array([ai[c][1] for c in cases]))
    row = document["ai"]
    assert (row["cases"], row["cases_without_ai"]) == (9, 1)
    assert row["auc_ci"] == auc_ci(y, scores).as_dict() and row["auc"] == auc(y, scores)
    assert row["sensitivity"] == metrics["sensitivity"].as_dict()
    assert row["specificity"] == metrics["specificity"].as_dict()
    assert row["kappa"] == metrics["kappa"].estimate and row["f1"] == metrics["f1"]
    assert document["roc"]["ai"]["operating_point"] == {
        "fpr": 1 - metrics["specificity"].estimate,
        "tpr": metrics["sensitivity"].estimate,
    }
    table = results_table(document)
    assert [row["row"] for row in table].count("ai") == 1
    assert table[-1]["reader"] == "AI alone" and table[-1]["auc"] == auc(y, scores)
    assert len(document["readers"]) == 6  # the readers' rows are unchanged


def test_without_decisions_the_binary_metrics_are_absent(db):
    study = reader_study_import(name="ratings only", data=_study_csv(decisions=False))
    document = source_results(imported_study_source(study))
    assert set(document["mrmc"]) == {"auc"}
    assert not document["study"]["has_decisions"]
    for entry in document["readers"]:
        assert entry["sensitivity"] is None and entry["kappa"] is None
        assert entry["counts"] is None and entry["auc"] is not None
    assert all(entry["operating_point"] is None for entry in document["roc"]["readers"])


# --- pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.ADMINISTRATOR])
def test_pages_render_for_coordinators_and_administrators(client_for, study, role):
    client = client_for(role)
    listing = client.get(reverse("studies:imported_list"))
    assert listing.status_code == 200
    results_url = reverse("studies:imported_results", args=[study.pk])
    assert results_url in listing.content.decode()
    page = client.get(results_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="roc-plot"' in html and 'id="results-data"' in html and "roc.js" in html
    assert client.get(reverse("studies:planning")).status_code == 200


@pytest.mark.parametrize("role", [Role.RADIOLOGIST, Role.CLINICIAN, None])
def test_pages_and_endpoints_are_refused_to_other_roles(client_for, study, role):
    client = client_for(role)
    for url in (
        reverse("studies:imported_list"),
        reverse("studies:imported_results", args=[study.pk]),
        reverse("studies:imported_results_download", args=[study.pk, "readings"]),
        reverse("studies:planning"),
        reverse("imported-study-list"),
        reverse("imported-study-results", args=[study.pk]),
        reverse("imported-study-results-table", args=[study.pk]),
        reverse("imported-study-readings", args=[study.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"anna" not in response.content


def test_the_results_page_shows_the_methods_table(coordinator, study):
    document = source_results(imported_study_source(study))
    html = coordinator.get(reverse("studies:imported_results", args=[study.pk])).content.decode()
    anna = document["readers"][0]
    sensitivity = anna["sensitivity"]
    assert f"{sensitivity['estimate']:.3f}" in html
    assert f"{sensitivity['ci_low']:.3f}–{sensitivity['ci_high']:.3f}" in html
    for header in ("AUC", "Accuracy", "Sensitivity", "Specificity", "PPV", "NPV", "F1"):
        assert f"<th>{header}</th>" in html
    assert "κ</th>" in html
    assert html.count('data-kind="reader"') == 6 and html.count('data-kind="pooled"') == 2
    assert 'data-kind="ai"' not in html  # an imported study has no AI alone
    for metric in ("auc", "sensitivity", "specificity"):
        assert f'data-metric="{metric}"' in html
    rrrc = document["mrmc"]["auc"]["rrrc"]
    assert f"{rrrc['difference']:.4f}" in html
    assert 'id="no-decisions"' not in html


def test_the_covariance_is_selectable(coordinator, study):
    url = reverse("studies:imported_results", args=[study.pk])
    delong = source_results(imported_study_source(study), covariance="delong")
    html = coordinator.get(url, {"covariance": "delong"}).content.decode()
    assert f"{delong['mrmc']['auc']['rrrc']['ci_low']:.4f}" in html
    assert '<option value="delong" selected>' in html
    assert "(delong covariance)" in html and "(jackknife covariance)" in html  # sens/spec
    response = coordinator.get(
        reverse("imported-study-results", args=[study.pk]), {"covariance": "delong"}
    )
    assert response.json()["mrmc"]["auc"]["covariance"] == "delong"


def test_the_page_says_when_decisions_are_missing(coordinator, db):
    study = reader_study_import(name="ratings only", data=_study_csv(decisions=False))
    html = coordinator.get(reverse("studies:imported_results", args=[study.pk])).content.decode()
    assert 'id="no-decisions"' in html
    assert "<th>Sensitivity" not in html and "<th>AUC" in html
    assert 'data-metric="sensitivity"' not in html


def test_an_incomplete_design_is_explained_and_its_complete_part_analysed(coordinator, db):
    study = reader_study_import(name="incomplete", data=_study_csv(drop=("ben", "c3", "with AI")))
    url = reverse("studies:imported_results", args=[study.pk])
    html = coordinator.get(url).content.decode()
    assert 'id="results-error"' in html and "reader ben did not read 1" in html
    assert "complete_only=1" in html
    html = coordinator.get(url, {"complete_only": "1"}).content.decode()
    assert 'id="excluded"' in html and 'id="roc-plot"' in html


@pytest.fixture
def designed(monkeypatch, study):
    """A designed study whose source is the hand-made readings with an AI alone.

    The design area's `designed_study_source` is replaced by a stand-in module, so these
    tests depend only on the contract (a ResultSource).
    """
    imported = imported_study_source(study)
    source = ResultSource(
        "Designed study", imported.readings, imported.reference_modality, _ai_by_case()
    )
    module = types.ModuleType("studies.results.designed_reads")
    module.designed_study_source = lambda designed_study: source
    monkeypatch.setitem(sys.modules, "studies.results.designed_reads", module)
    return ReaderStudy.objects.create(name="Designed study", seed=1)


def test_the_designed_study_page_has_the_ai_alone(coordinator, designed):
    response = coordinator.get(reverse("studies:designed_results", args=[designed.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-kind="ai"' in html and "AI alone" in html
    data = json.loads(
        html.split('id="results-data" type="application/json">')[1].split("</script>")[0]
    )
    assert data["roc"]["ai"]["fpr"] and data["roc"]["ai"]["operating_point"]
    table = coordinator.get(
        reverse("studies:designed_results_download", args=[designed.pk, "table"])
    )
    rows = list(csv.DictReader(io.StringIO(table.content.decode())))
    assert rows[-1]["row"] == "ai" and rows[-1]["reader"] == "AI alone"
    document = coordinator.get(reverse("designed-study-results", args=[designed.pk])).json()
    assert document["ai"]["cases"] == 10 and document["study"]["title"] == "Designed study"
    readings = coordinator.get(reverse("designed-study-readings", args=[designed.pk]))
    assert len(parse_readings(readings.content).readings) == 60
    table = coordinator.get(reverse("designed-study-results-table", args=[designed.pk]))
    assert table.status_code == 200


def test_a_missing_designed_study_is_404(coordinator, db):
    assert coordinator.get(reverse("studies:designed_results", args=[999])).status_code == 404


# --- downloads and API ----------------------------------------------------------------------


def test_the_csv_and_json_downloads_parse(coordinator, study):
    document = source_results(imported_study_source(study))
    table = coordinator.get(reverse("studies:imported_results_download", args=[study.pk, "table"]))
    assert table["Content-Type"].startswith("text/csv")
    assert 'filename="hand-made-study-results.csv"' in table["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(table.content.decode())))
    assert tuple(rows[0]) == TABLE_COLUMNS
    assert [row["row"] for row in rows] == ["reader"] * 6 + ["pooled"] * 2
    first = document["readers"][0]
    assert (rows[0]["reader"], rows[0]["modality"]) == (first["reader"], first["modality"])
    assert float(rows[0]["sensitivity_ci_low"]) == first["sensitivity"]["ci_low"]
    assert float(rows[0]["auc_ci_high"]) == first["auc_ci"]["ci_high"]
    assert int(rows[0]["tp"]) == first["counts"]["tp"]
    pooled = document["pooled"]["with AI"]["accuracy"]
    assert float(rows[-1]["accuracy"]) == pooled["estimate"]
    assert float(rows[-1]["accuracy_ci_low"]) == pooled["ci_low"]

    full = coordinator.get(
        reverse("studies:imported_results_download", args=[study.pk, "document"])
    )
    assert "attachment" in full["Content-Disposition"]
    assert json.loads(full.content) == json.loads(json.dumps(document))
    assert (
        coordinator.get(
            reverse("studies:imported_results_download", args=[study.pk, "x"])
        ).status_code
        == 404
    )


def test_the_api_endpoints(coordinator, study):
    listing = coordinator.get(reverse("imported-study-list")).json()
    assert listing == [
        {
            "id": study.pk,
            "name": "Hand-made study",
            "reference_modality": "without AI",
            "readings": 60,
            "created_at": listing[0]["created_at"],
            "results": reverse("imported-study-results", args=[study.pk]),
        }
    ]
    document = coordinator.get(reverse("imported-study-results", args=[study.pk])).json()
    assert document == json.loads(json.dumps(source_results(imported_study_source(study))))
    table = coordinator.get(
        reverse("imported-study-results-table", args=[study.pk]), HTTP_ACCEPT="text/csv"
    )
    assert table.status_code == 200 and table["Content-Type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(table.content.decode())))) == 8
    readings = coordinator.get(reverse("imported-study-readings", args=[study.pk]))
    assert len(parse_readings(readings.content).readings) == 60
    # The existing endpoint keeps its document.
    legacy = coordinator.get(reverse("reader-study-results", args=["Hand-made study"])).json()
    assert set(legacy) == {"readers", "pooled", "mrmc"}


def test_an_unanalysable_study_gives_400_with_the_reason(coordinator, db):
    study = reader_study_import(name="incomplete", data=_study_csv(drop=("ben", "c3", "with AI")))
    response = coordinator.get(reverse("imported-study-results", args=[study.pk]))
    assert response.status_code == 400 and "reader ben" in response.json()["detail"]
    table = coordinator.get(reverse("imported-study-results-table", args=[study.pk]))
    assert table.status_code == 400
    ok = coordinator.get(
        reverse("imported-study-results-table", args=[study.pk]), {"complete_only": "1"}
    )
    assert ok.status_code == 200


@pytest.mark.parametrize("options", [{}, {"decisions": False}, {"seconds": False}])
def test_the_long_csv_round_trips_through_parse_readings(db, options):
    original = parse_readings(_study_csv(**options))
    study = reader_study_import(name="round trip", data=_study_csv(**options))
    written = readings_csv(imported_study_source(study).readings)
    again = parse_readings(written.encode())

    def key(r):
        return (r.reader, r.case, r.modality, r.truth, r.rating, r.decision, r.seconds)

    assert sorted(map(key, again.readings)) == sorted(map(key, original.readings))
    assert again.has_decisions == original.has_decisions
    assert again.has_seconds == original.has_seconds
    # And the round-tripped file gives the same results.
    copy = reader_study_import(
        name="copy", data=written.encode(), reference=study.reference_modality
    )
    assert reader_study_results(copy) == reader_study_results(study)


def test_ratings_keep_every_digit():
    from studies.reading.imported import Reading

    readings = [
        Reading(2, "r", "c1", "m", 1, 0.1 + 0.2, 1, None),
        Reading(3, "r", "c1", "n", 1, 1 / 3, 0, 2.5),
    ]
    again = parse_readings(readings_csv(readings).encode()).readings
    assert [r.rating for r in again] == [0.1 + 0.2, 1 / 3]
    assert [r.seconds for r in again] == [None, 2.5]


# --- planning -------------------------------------------------------------------------------


@pytest.fixture
def van_dyke(db):
    data = (REFERENCE_DIR / "vandyke.csv").read_bytes()
    return reader_study_import(name="Van Dyke", data=data, reference="1")


def test_planning_from_a_pilot_study_reproduces_rjafroc(coordinator, van_dyke):
    # RJafroc's Van Dyke example (see test_stats): 80% power with J = 4/5/6/10 readers needs
    # K = 1089/344/251/163 cases; J = 3 never gets there.
    response = coordinator.get(reverse("studies:planning"), {"pilot": van_dyke.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="planning-table"' in html
    result = response.context["plan"]
    needed = {row["readers"]: row["cases_needed"] for row in result["rows"]}
    assert [needed[r] for r in (3, 4, 5, 6, 10)] == [None, 1089, 344, 251, 163]
    assert result["effect"] == pytest.approx(0.04380032, abs=1e-8)
    assert [row["readers"] for row in result["rows"]] == list(range(3, 16))
    assert '<td class="needed">1089</td>' in html


def test_the_planning_table_is_monotone(van_dyke):
    pilot = pilot_from_study(van_dyke)
    for analysis in ("rrrc", "frrc", "rrfc"):
        result = plan(
            pilot=pilot, effect=0.05, cases=[50, 100, 200, 400, 800, 1600], analysis=analysis
        )
        grid = np.array([[cell["power"] for cell in row["cells"]] for row in result["rows"]])
        assert grid.shape == (len(READERS), 6)
        assert (np.diff(grid, axis=0) >= -1e-12).all(), analysis  # more readers
        assert (np.diff(grid, axis=1) >= -1e-12).all(), analysis  # more cases
        needed = [row["cases_needed"] or np.inf for row in result["rows"]]
        assert needed == sorted(needed, reverse=True)


def test_planning_from_hand_entered_components(coordinator, van_dyke):
    # Van Dyke's published OR components, entered by hand, give the same table.
    by_study = coordinator.get(
        reverse("studies:planning"), {"pilot": van_dyke.pk, "effect": "0.05"}
    )
    by_hand = coordinator.get(
        reverse("studies:planning"),
        {
            "var": "0.00080229", "cov1": "0.00034661", "cov2": "0.00034407",
            "cov3": "0.00023903", "ms_tr": "0.00055103", "pilot_cases": "114",
            "auc_reference": "0.89703704", "auc_other": "0.94083736", "effect": "0.05",
        },
    )  # fmt: skip
    assert by_hand.status_code == 200
    study_rows = by_study.context["plan"]["rows"]
    hand_rows = by_hand.context["plan"]["rows"]
    for a, b in zip(study_rows, hand_rows, strict=True):
        for x, y in zip(a["cells"], b["cells"], strict=True):
            assert x["power"] == pytest.approx(y["power"], abs=1e-4)


def test_planning_says_what_is_missing(coordinator, db):
    response = coordinator.get(reverse("studies:planning"), {"var": "0.0008", "effect": "0.05"})
    html = response.content.decode()
    assert 'id="planning-error"' in html and "Cov1" in html and "Pilot cases" in html
    assert "plan" not in response.context or response.context.get("plan") is None
    both = coordinator.get(
        reverse("studies:planning"),
        {"var": "1e-3", "cov1": "4e-4", "cov2": "3e-4", "cov3": "2e-4", "var_tr": "1e-4",
         "ms_tr": "5e-4", "pilot_cases": "100", "effect": "0.05"},
    )  # fmt: skip
    assert "either var_TR or MS(TR)" in both.content.decode()
    no_effect = coordinator.get(
        reverse("studies:planning"),
        {"var": "1e-3", "cov1": "4e-4", "cov2": "3e-4", "cov3": "2e-4", "var_tr": "1e-4",
         "pilot_cases": "100"},
    )  # fmt: skip
    assert "give the AUC difference to detect" in no_effect.content.decode()
    bad_cases = coordinator.get(reverse("studies:planning"), {"pilot": "", "cases": "10, x"})
    assert "whole numbers" in bad_cases.content.decode()


def test_imported_study_source_numbers_lines_and_keeps_values(study):
    source = imported_study_source(study)
    assert source.title == "Hand-made study" and source.reference_modality == "without AI"
    assert source.ai_by_case is None
    assert [r.line for r in source.readings] == list(range(2, 62))
    assert ImportedReaderStudy.objects.get().readings.count() == len(source.readings)
