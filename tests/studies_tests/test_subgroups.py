"""Subgroup results of a designed study: the pooled metrics per arm within the readers of each
specialty and each experience band; none for an imported study."""

import csv
import io
import json
import sys
import types

import pytest
from django.core.management import call_command
from django.urls import reverse
from scipy import stats

from base.roles import Role
from studies.design.services import reader_study_reader_update
from studies.models import ReaderStudy
from studies.reading.flow import reading_next, reading_submit
from studies.reading.imported import Reading, reader_study_import
from studies.results import results_table, results_table_csv, source_results
from studies.results.designed_reads import designed_study_source
from studies.results.reader_groups import NOT_RECORDED, ONE_READER, experience_band
from studies.results.sources import ReaderProfile, ResultSource, imported_study_source
from tests.factories import UserFactory
from tests.studies_tests.design_factories import designed_study

T = stats.t.ppf(0.975, 1)  # Student t, 1 df: the interval of a two-reader mean is ± T·s/√2

# Cases c1, c2 malignant, c3, c4 benign. Per reader and arm: (decisions, ratings) by case.
READS = {
    ("without AI", "anna"): ((1, 0, 0, 0), (90, 25, 30, 20)),  # sens 1/2, spec 1, AUC 3/4
    ("without AI", "ben"): ((1, 1, 1, 0), (90, 80, 70, 10)),  # sens 1, spec 1/2, AUC 1
    ("without AI", "chloe"): ((1, 1, 0, 0), (80, 70, 30, 20)),  # sens 1, spec 1, AUC 1
    ("without AI", "dan"): ((0, 1, 0, 1), (40, 60, 50, 70)),  # sens 1/2, spec 1/2, AUC 1/4
    **{("with AI", r): ((1, 1, 0, 0), (90, 80, 20, 10)) for r in ("anna", "ben", "chloe")},
    ("with AI", "dan"): ((1, 1, 1, 0), (90, 80, 70, 10)),
}
PROFILES = {
    "anna": ReaderProfile("general_radiology", "General radiology", 3),
    "ben": ReaderProfile("general_radiology", "General radiology", 12),
    "chloe": ReaderProfile("gynaecological_ultrasound", "Gynaecological ultrasound", 7),
    "dan": ReaderProfile("", "", 20),  # no specialty recorded
}


def _source(profiles=PROFILES) -> ResultSource:
    readings = [
        Reading(
            line=0,
            reader=reader,
            case=f"c{case}",
            modality=modality,
            truth=int(case <= 2),
            rating=float(ratings[case - 1]),
            decision=decisions[case - 1],
            seconds=10.0 * case,
        )
        for (modality, reader), (decisions, ratings) in READS.items()
        for case in range(1, 5)
    ]
    return ResultSource("Designed", readings, "without AI", None, profiles)


def _by_key(subgroups):
    return {subgroup["key"]: subgroup for subgroup in subgroups}


def test_experience_bands_include_both_ends():
    assert [experience_band(y)[1] for y in (0, 4, 5, 10, 11, 40)] == [
        "under 5 years",
        "under 5 years",
        "5–10 years",
        "5–10 years",
        "over 10 years",
        "over 10 years",
    ]
    assert experience_band(None) == NOT_RECORDED


def test_subgroups_by_specialty_pool_their_readers_as_the_pooled_rows_do(db):
    document = source_results(_source())
    specialty = document["subgroups"]["specialty"]
    assert [s["label"] for s in specialty] == [
        "General radiology",
        "Gynaecological ultrasound",
        "not recorded",
    ]
    general = _by_key(specialty)["general_radiology"]
    assert general["readers"] == ["anna", "ben"] and general["note"] is None
    unaided = general["pooled"]["without AI"]
    # Sensitivity 1/2 and 1: mean 3/4, s = √2/4, so the half-width is T·(√2/4)/√2 = T/4.
    assert unaided["sensitivity"]["estimate"] == pytest.approx(0.75)
    # 0.75 ± T/4 = 0.75 ± 3.18 runs past 0..1: clipped to the range of a proportion.
    assert T / 4 > 1
    assert (unaided["sensitivity"]["ci_low"], unaided["sensitivity"]["ci_high"]) == (0.0, 1.0)
    assert unaided["specificity"]["estimate"] == pytest.approx(0.75)
    # Accuracy 3/4 for both: no spread, so the interval closes on the mean.
    assert unaided["accuracy"] == pytest.approx({"estimate": 0.75, "ci_low": 0.75, "ci_high": 0.75})
    assert unaided["ppv"]["estimate"] == pytest.approx((1 + 2 / 3) / 2)  # 1/1 and 2/3
    assert unaided["npv"]["estimate"] == pytest.approx((2 / 3 + 1) / 2)  # 2/3 and 1/1
    # AUC 3/4 and 1: mean 7/8, half-width T·(√2/8)/√2 = T/8.
    assert unaided["auc"]["estimate"] == pytest.approx(0.875)
    assert unaided["auc"]["ci_high"] == min(1.0, 0.875 + T / 8) == 1.0
    assert unaided["median_seconds"]["estimate"] == pytest.approx(25.0)  # median of 10..40
    aided = general["pooled"]["with AI"]
    assert aided["sensitivity"] == pytest.approx({"estimate": 1, "ci_low": 1, "ci_high": 1})
    assert aided["auc"]["estimate"] == pytest.approx(1.0)
    # The same function as the pooled rows: with every reader in it, the same numbers.
    whole = source_results(_source({reader: PROFILES["anna"] for reader in PROFILES}))
    [general_all] = whole["subgroups"]["specialty"]
    assert general_all["pooled"] == whole["pooled"]


def test_subgroups_by_experience_follow_the_bands(db):
    experience = source_results(_source())["subgroups"]["experience"]
    assert [(s["key"], s["readers"]) for s in experience] == [
        ("under_5", ["anna"]),
        ("5_to_10", ["chloe"]),
        ("over_10", ["ben", "dan"]),
    ]
    senior = _by_key(experience)["over_10"]["pooled"]["without AI"]
    # AUC 1 and 1/4: mean 5/8, s = 3√2/8, half-width T·(3√2/8)/√2 = 3T/8.
    assert senior["auc"]["estimate"] == pytest.approx(0.625)
    assert senior["auc"]["ci_low"] == max(0.0, 0.625 - 3 * T / 8) == 0.0
    assert senior["sensitivity"]["estimate"] == pytest.approx(0.75)  # 1 and 1/2
    assert senior["specificity"]["estimate"] == pytest.approx(0.5)  # 1/2 and 1/2


def test_a_one_reader_subgroup_has_the_readers_values_without_an_interval_and_says_why(db):
    document = source_results(_source())
    readers = {(e["modality"], e["reader"]): e for e in document["readers"]}
    junior = _by_key(document["subgroups"]["experience"])["under_5"]
    assert junior["note"] == ONE_READER and "needs at least two" in junior["note"]
    for modality in ("without AI", "with AI"):
        own = readers[(modality, "anna")]
        pooled = junior["pooled"][modality]
        assert pooled["auc"] == {"estimate": own["auc"], "ci_low": None, "ci_high": None}
        for name in ("accuracy", "sensitivity", "specificity", "ppv", "npv"):
            assert pooled[name] == {
                "estimate": own[name]["estimate"],
                "ci_low": None,
                "ci_high": None,
            }
    assert junior["pooled"]["without AI"]["sensitivity"]["estimate"] == 0.5
    unrecorded = _by_key(document["subgroups"]["specialty"])["not_recorded"]
    assert unrecorded["readers"] == ["dan"] and unrecorded["note"] == ONE_READER
    assert unrecorded["pooled"]["without AI"]["auc"]["estimate"] == pytest.approx(0.25)


def test_readers_without_any_experience_recorded_form_one_not_recorded_subgroup(db):
    document = source_results(_source({}))
    for grouping in ("specialty", "experience"):
        [subgroup] = document["subgroups"][grouping]
        assert subgroup["key"] == "not_recorded"
        assert subgroup["readers"] == ["anna", "ben", "chloe", "dan"]
        assert subgroup["pooled"] == document["pooled"]


def test_the_csv_table_has_a_row_per_subgroup_and_arm_before_the_ai(db):
    document = source_results(_source())
    rows = [row for row in results_table(document) if row["row"] == "subgroup"]
    assert len(rows) == (3 + 3) * 2  # (specialties + bands) × arms
    parsed = list(csv.DictReader(io.StringIO(results_table_csv(document))))
    senior = next(
        r
        for r in parsed
        if r["reader"] == "experience: over 10 years" and r["modality"] == "without AI"
    )
    assert senior["row"] == "subgroup" and float(senior["auc"]) == pytest.approx(0.625)
    assert float(senior["auc_ci_low"]) == max(0.0, 0.625 - 3 * T / 8)
    junior = next(r for r in parsed if r["reader"] == "experience: under 5 years")
    assert junior["auc_ci_low"] == "" and junior["cases"] == "4"


def test_an_imported_study_has_no_subgroups(db, capsys):
    text = "reader,case,modality,truth,rating,decision\n" + "".join(
        f"{r},c{c},{m},{int(c <= 2)},{ratings[c - 1]},{decisions[c - 1]}\n"
        for (m, r), (decisions, ratings) in READS.items()
        for c in range(1, 5)
    )
    study = reader_study_import(name="imported", data=text.encode(), reference="without AI")
    assert "subgroups" not in source_results(imported_study_source(study))
    capsys.readouterr()
    call_command("reader_study_results", "imported", "--json")
    assert set(json.loads(capsys.readouterr().out)) == {"readers", "pooled", "mrmc"}


# ---- a designed study: page, downloads and API ----


@pytest.fixture
def coordinator(client, db):
    client.force_login(UserFactory(role=Role.COORDINATOR))
    return client


@pytest.fixture
def designed(monkeypatch, db):
    """A designed study whose source is the hand-made one (the contract: a ResultSource)."""
    module = types.ModuleType("studies.results.designed_reads")
    module.designed_study_source = lambda study: _source()
    monkeypatch.setitem(sys.modules, "studies.results.designed_reads", module)
    return ReaderStudy.objects.create(name="Designed", seed=1)


def test_the_results_page_shows_the_subgroups_under_the_pooled_table(coordinator, designed):
    html = coordinator.get(reverse("studies:designed_results", args=[designed.pk])).content.decode()
    assert html.index('id="results-table"') < html.index('id="subgroup-table"')
    assert html.index('id="subgroup-table"') < html.index('id="roc-plot"')
    table = html.split('id="subgroup-table"')[1].split("</table>")[0]
    assert table.count('data-subgroup="over_10"') == 2  # one row per arm
    senior = table.split('data-subgroup="over_10" data-modality="without AI">')[1].split("</tr>")[0]
    assert "over 10 years" in senior and "ben, dan" in senior and "0.625" in senior
    junior = table.split('data-subgroup="under_5" data-modality="without AI">')[1].split("</tr>")[0]
    assert "a t-interval across readers needs at least two" in junior
    assert "under 5 years (0–4)" in html  # the bands are explained


def test_the_designed_document_and_api_have_the_subgroups(coordinator, designed):
    api = coordinator.get(reverse("designed-study-results", args=[designed.pk])).json()
    download = coordinator.get(
        reverse("studies:designed_results_download", args=[designed.pk, "document"])
    ).json()
    assert (
        api["subgroups"]
        == download["subgroups"]
        == json.loads(json.dumps(source_results(_source())["subgroups"]))
    )
    table = coordinator.get(reverse("designed-study-results-table", args=[designed.pk]))
    assert "experience: over 10 years" in table.content.decode()


def test_the_imported_page_has_no_subgroup_table(coordinator, db):
    text = "reader,case,modality,truth,rating\n" + "".join(
        f"{r},c{c},{m},{int(c <= 2)},{ratings[c - 1]}\n"
        for (m, r), (_, ratings) in READS.items()
        for c in range(1, 5)
    )
    study = reader_study_import(name="imported", data=text.encode(), reference="without AI")
    html = coordinator.get(reverse("studies:imported_results", args=[study.pk])).content.decode()
    assert 'id="results-table"' in html and 'id="subgroup-table"' not in html


# ---- the designed source carries each reader's experience ----


@pytest.mark.django_db
def test_the_designed_source_carries_each_readers_specialty_and_years():
    readers = [UserFactory(role=Role.RADIOLOGIST, username=name) for name in ("rita", "sam")]
    study = designed_study(readers=readers, malignant=2, benign=2, practice=0, washout_days=0)
    rita = study.readers.get(reader__username="rita")
    reader_study_reader_update(
        participant=rita, experience_years=6, specialty="gynaecological_ultrasound"
    )
    truth = {
        c.exam_id: c.exam.pathology.outcome for c in study.cases.select_related("exam__pathology")
    }
    for session in study.sessions.order_by("period"):
        session.refresh_from_db()
        while (reading := reading_next(session=session)) is not None:
            said = truth[reading.exam_id] == "malignant"
            reading_submit(reading=reading, answers={"malignant": said, "confidence": 70})
    source = designed_study_source(study)
    assert source.reader_profiles == {
        "rita": ReaderProfile("gynaecological_ultrasound", "Gynaecological ultrasound", 6),
        "sam": ReaderProfile("", "", None),
    }
    subgroups = source_results(source)["subgroups"]
    assert [(s["label"], s["readers"]) for s in subgroups["specialty"]] == [
        ("Gynaecological ultrasound", ["rita"]),
        ("not recorded", ["sam"]),
    ]
    assert [s["key"] for s in subgroups["experience"]] == ["5_to_10", "not_recorded"]
    rita_unaided = subgroups["specialty"][0]["pooled"]["without AI"]
    assert rita_unaided["sensitivity"] == {"estimate": 1.0, "ci_low": None, "ci_high": None}
