"""Importing reading data from CSV and the results document (command line and API)."""

import datetime
import json
import statistics
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import path

from annotation import services
from annotation.models import Exam
from annotation.patients.identity import accession_key, decrypt_identifiers
from base.roles import Role
from studies.demo import DEMO_STUDY, demo_imported_study_load
from studies.models import ImportedReaderStudy, ImportedReading
from studies.reading.imported import ReadingImportError, case_accession_number, reader_study_import
from studies.results import readings_csv
from studies.results.sources import imported_study_source
from studies.results.views import reader_study_results_api
from tests.factories import CenterFactory

REFERENCE_DIR = Path(__file__).resolve().parents[3] / "shared" / "reference" / "mrmc"

# The API test runs against this URL configuration, so it does not depend on the project's
# router; the project wires the same view at the same path.
urlpatterns = [
    path(
        "api/reader-studies/<str:name>/results/",
        reader_study_results_api,
        name="reader-study-results",
    )
]

METRICS = ("accuracy", "sensitivity", "specificity", "ppv", "npv")
READER_KEYS = {"reader", "modality", "auc", *METRICS, "kappa", "f1", "median_seconds"}
TEST_KEYS = {"difference", "ci_low", "ci_high", "statistic", "p_value"}
# Each mrmc entry: what the issue lists, and what docs/reader_study_results.md adds.
MRMC_ISSUE_KEYS = {"reader_means", "var", "cov1", "cov2", "cov3", "rrrc", "frrc", "rrfc"}
MRMC_DOC_KEYS = {"metric", "covariance", "reference", "cases", "diseased", "per_reader"}
MRMC_DOC_KEYS |= {"ms_t", "ms_tr"}
TEST_ISSUE_KEYS = {"F": TEST_KEYS | {"df_denominator"}, "chi-square": TEST_KEYS}
TEST_DOC_KEYS = {"df_numerator", "error_term"}


def _assert_mrmc_keys(document: dict, modalities: set[str]) -> None:
    """Every mrmc entry has exactly the documented keys (two modalities: no comparisons)."""
    for metric, entry in document["mrmc"].items():
        assert set(entry) == MRMC_ISSUE_KEYS | MRMC_DOC_KEYS, metric
        assert entry["metric"] == metric
        assert set(entry["reader_means"]) == set(entry["per_reader"]) == modalities
        for name, statistic in (("rrrc", "F"), ("frrc", "chi-square"), ("rrfc", "F")):
            assert set(entry[name]) == TEST_ISSUE_KEYS[statistic] | TEST_DOC_KEYS, (metric, name)


def _import(path, name="study", *extra):
    call_command("reader_study_import", str(path), "--name", name, *extra)


def _results(capsys, name="study", *extra) -> dict:
    capsys.readouterr()
    call_command("reader_study_results", name, "--json", *extra)
    return json.loads(capsys.readouterr().out)


def _csv(tmp_path, text: str, name="readings.csv") -> Path:
    file = tmp_path / name
    file.write_text(text.lstrip(), encoding="utf-8")
    return file


def _synthetic(with_seconds=True) -> str:
    """2 modalities x 3 readers x 8 cases (4 diseased) with decisions and reading times."""
    lines = ["reader,case,modality,truth,rating,decision" + (",seconds" if with_seconds else "")]
    for modality in ("without AI", "with AI"):
        for r, reader in enumerate(("anna", "ben", "chloe")):
            for case in range(1, 9):
                truth = int(case <= 4)
                # With AI every reader finds one more diseased case and rates it higher.
                found = case <= 2 + r % 2 + (modality == "with AI")
                false_alarm = case == 5 + r
                decision = int(found or false_alarm)
                rating = 20 + 60 * decision + case
                seconds = 10 * case + r + (5 if modality == "with AI" else 0)
                line = f"{reader},c{case},{modality},{truth},{rating},{decision}"
                lines.append(line + (f",{seconds}" if with_seconds else ""))
    return "\n".join(lines) + "\n"


def _edit(lines: list[str], index: int, column: int, value: str) -> None:
    fields = lines[index].split(",")
    fields[column] = value
    lines[index] = ",".join(fields)


def _error(capsys, path, *extra) -> str:
    with pytest.raises(CommandError) as error:
        _import(path, "bad", *extra)
    assert not ImportedReaderStudy.objects.exists()
    assert not ImportedReading.objects.exists()
    return str(error.value)


# --- Van Dyke: the published values ---------------------------------------------------------


def test_van_dyke_reproduces_the_published_jackknife_analysis(db, capsys):
    _import(REFERENCE_DIR / "vandyke.csv", "vandyke", "--reference", "1")
    study = ImportedReaderStudy.objects.get(name="vandyke")
    assert study.reference_modality == "1"
    assert study.source_filename == "vandyke.csv"
    assert study.readings.count() == 2 * 5 * 114
    document = _results(capsys, "vandyke")

    aucs = {(e["modality"], e["reader"]): e["auc"] for e in document["readers"]}
    published = {
        "1": [0.91964573, 0.85877617, 0.90386473, 0.97310789, 0.82979066],
        "2": [0.94782609, 0.90531401, 0.92173913, 0.99935588, 0.92995169],
    }
    for modality, values in published.items():
        for reader, value in zip("12345", values, strict=True):
            assert aucs[(modality, reader)] == pytest.approx(value, abs=5e-9)

    auc = document["mrmc"]["auc"]
    assert set(document["mrmc"]) == {"auc"}
    assert auc["reader_means"]["1"] == pytest.approx(0.89703704, abs=5e-9)
    assert auc["reader_means"]["2"] == pytest.approx(0.94083736, abs=5e-9)
    assert auc["var"] == pytest.approx(0.00080229, abs=5e-9)
    assert auc["cov1"] == pytest.approx(0.00034661, abs=5e-9)
    assert auc["cov2"] == pytest.approx(0.00034407, abs=5e-9)
    assert auc["cov3"] == pytest.approx(0.00023903, abs=5e-9)

    rrrc, frrc, rrfc = auc["rrrc"], auc["frrc"], auc["rrfc"]
    assert rrrc["difference"] == pytest.approx(0.04380032, abs=5e-9)
    assert round(rrrc["statistic"], 2) == 4.46
    assert round(rrrc["df_denominator"], 2) == 15.26
    assert round(rrrc["p_value"], 4) == 0.0517
    # Published as modality 1 minus 2, (-0.08796, 0.00036): flipped for 2 minus 1.
    assert round(rrrc["ci_low"], 5) == -0.00036
    assert round(rrrc["ci_high"], 5) == 0.08796
    assert round(frrc["statistic"], 5) == 5.47595
    assert "df_denominator" not in frrc
    assert round(frrc["p_value"], 4) == 0.0193
    assert (round(frrc["ci_low"], 5), round(frrc["ci_high"], 5)) == (0.00711, 0.08049)
    assert round(rrfc["statistic"], 2) == 8.70
    assert rrfc["df_denominator"] == pytest.approx(4)
    assert round(rrfc["p_value"], 4) == 0.0420
    assert (round(rrfc["ci_low"], 5), round(rrfc["ci_high"], 5)) == (0.00258, 0.08502)

    pooled = document["pooled"]
    assert list(pooled) == ["1", "2"]
    assert pooled["2"]["auc"]["estimate"] == pytest.approx(0.94083736, abs=5e-9)


def test_van_dyke_with_delong_covariance(db, capsys):
    _import(REFERENCE_DIR / "vandyke.csv", "vandyke", "--reference", "1")
    auc = _results(capsys, "vandyke", "--covariance", "delong")["mrmc"]["auc"]
    assert auc["var"] == pytest.approx(0.0007921325, abs=5e-11)
    assert auc["cov1"] == pytest.approx(0.0003420090, abs=5e-11)
    assert auc["cov2"] == pytest.approx(0.0003395265, abs=5e-11)
    assert auc["cov3"] == pytest.approx(0.0002358497, abs=5e-11)
    rrrc = auc["rrrc"]
    assert rrrc["statistic"] == pytest.approx(4.484854, abs=5e-7)
    assert rrrc["df_denominator"] == pytest.approx(15.06611, abs=5e-6)
    assert rrrc["p_value"] == pytest.approx(0.05123303, abs=5e-9)
    assert rrrc["ci_low"] == pytest.approx(-0.0002665519, abs=5e-11)
    assert rrrc["ci_high"] == pytest.approx(0.0878671960, abs=5e-11)


def test_the_reference_defaults_to_the_first_modality_in_the_file(db, capsys, tmp_path):
    lines = (REFERENCE_DIR / "vandyke.csv").read_text().splitlines()
    # Modality 2's rows first: the default reference becomes "2", the difference flips.
    body = [line for line in lines[1:] if line.split(",")[2] == "2"]
    body += [line for line in lines[1:] if line.split(",")[2] == "1"]
    _import(_csv(tmp_path, "\n".join([lines[0], *body]) + "\n"))
    assert ImportedReaderStudy.objects.get().reference_modality == "2"
    document = _results(capsys)
    assert document["mrmc"]["auc"]["rrrc"]["difference"] == pytest.approx(-0.04380032, abs=5e-9)
    assert list(document["pooled"]) == ["2", "1"]


def test_the_document_has_exactly_the_documented_keys(db, capsys):
    _import(REFERENCE_DIR / "vandyke.csv", "vandyke", "--reference", "1")
    document = _results(capsys, "vandyke")
    assert set(document) == {"readers", "pooled", "mrmc"}
    assert len(document["readers"]) == 10
    for entry in document["readers"]:
        assert set(entry) == READER_KEYS
        # No decision column: every decision metric is null; no seconds: no median.
        assert all(entry[name] is None for name in (*METRICS, "kappa", "f1", "median_seconds"))
        assert isinstance(entry["auc"], float)
    for metrics in document["pooled"].values():
        assert set(metrics) == READER_KEYS - {"reader", "modality"}
        assert set(metrics["auc"]) == {"estimate", "ci_low", "ci_high"}
    assert set(document["mrmc"]) == {"auc"}  # no decision column
    _assert_mrmc_keys(document, {"1", "2"})
    assert "df_denominator" not in document["mrmc"]["auc"]["frrc"]


# --- decisions and reading times --------------------------------------------------------------


def test_decisions_give_sensitivity_and_specificity_and_reading_times(db, capsys, tmp_path):
    _import(_csv(tmp_path, _synthetic()))
    assert ImportedReaderStudy.objects.get().reference_modality == "without AI"
    document = _results(capsys)
    assert set(document["mrmc"]) == {"auc", "sensitivity", "specificity"}
    _assert_mrmc_keys(document, {"without AI", "with AI"})
    entries = {(e["modality"], e["reader"]): e for e in document["readers"]}
    assert len(entries) == 6

    anna = entries[("without AI", "anna")]  # finds c1, c2; false alarm on c5
    assert anna["sensitivity"]["estimate"] == pytest.approx(2 / 4)
    assert anna["specificity"]["estimate"] == pytest.approx(3 / 4)
    assert anna["accuracy"]["estimate"] == pytest.approx(5 / 8)
    assert anna["ppv"]["estimate"] == pytest.approx(2 / 3)
    assert anna["npv"]["estimate"] == pytest.approx(3 / 5)
    assert anna["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))
    assert isinstance(anna["kappa"], float)
    assert 0 <= anna["sensitivity"]["ci_low"] < 0.5 < anna["sensitivity"]["ci_high"] <= 1
    assert anna["median_seconds"] == statistics.median(10 * c for c in range(1, 9))
    assert entries[("with AI", "ben")]["median_seconds"] == statistics.median(
        10 * c + 6 for c in range(1, 9)
    )

    sensitivity = document["mrmc"]["sensitivity"]
    for modality in ("without AI", "with AI"):
        mean = statistics.mean(
            entries[(modality, r)]["sensitivity"]["estimate"] for r in ("anna", "ben", "chloe")
        )
        assert sensitivity["reader_means"][modality] == pytest.approx(mean)
        assert document["pooled"][modality]["sensitivity"]["estimate"] == pytest.approx(mean)
        assert document["pooled"][modality]["median_seconds"]["estimate"] is not None
    # Every reader finds one more diseased case with AI: +1/4.
    assert sensitivity["rrrc"]["difference"] == pytest.approx(0.25)
    assert document["mrmc"]["specificity"]["rrrc"]["difference"] == pytest.approx(0.0)


def test_decisions_without_seconds_give_null_medians(db, capsys, tmp_path):
    _import(_csv(tmp_path, _synthetic(with_seconds=False)))
    document = _results(capsys)
    assert all(entry["median_seconds"] is None for entry in document["readers"])
    assert all(metrics["median_seconds"] is None for metrics in document["pooled"].values())


def test_the_text_summary_and_an_unknown_study(db, capsys, tmp_path):
    _import(_csv(tmp_path, _synthetic()))
    capsys.readouterr()
    call_command("reader_study_results", "study")
    assert "sensitivity" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no imported reader study named 'other'"):
        call_command("reader_study_results", "other", "--json")


# --- bad input: a clear message naming the line, nothing stored ---------------------------------


def test_a_missing_column_is_refused(db, capsys, tmp_path):
    message = _error(capsys, _csv(tmp_path, "reader,case,modality,truth\n1,1,A,0\n"))
    assert "line 1: missing column rating" in message


def test_a_rating_that_is_not_a_number_is_refused(db, capsys, tmp_path):
    lines = _synthetic().splitlines()
    _edit(lines, 4, 4, "high")
    message = _error(capsys, _csv(tmp_path, "\n".join(lines) + "\n"))
    assert "line 5: rating 'high' is not a number" in message


def test_a_case_whose_truth_differs_between_rows_is_refused(db, capsys, tmp_path):
    lines = _synthetic().splitlines()
    assert lines[12].startswith("ben,c4,without AI,1,")  # line 13 of the file
    _edit(lines, 12, 3, "0")
    message = _error(capsys, _csv(tmp_path, "\n".join(lines) + "\n"))
    assert "line 13: case c4 has truth 0 here but 1 on line 5" in message


def test_duplicate_rows_are_refused(db, capsys, tmp_path):
    lines = _synthetic().splitlines()
    lines.append(lines[3])
    message = _error(capsys, _csv(tmp_path, "\n".join(lines) + "\n"))
    assert f"line {len(lines)}: duplicate reading of reader anna, case c3" in message
    assert "(first on line 4)" in message


def test_other_bad_cells_are_refused_with_their_lines(db, capsys, tmp_path):
    lines = _synthetic().splitlines()
    _edit(lines, 1, 3, "yes")  # truth
    _edit(lines, 2, 5, "2")  # decision
    _edit(lines, 3, 6, "-1")  # seconds
    message = _error(capsys, _csv(tmp_path, "\n".join(lines) + "\n"))
    assert "line 2: truth 'yes' is not 0 or 1" in message
    assert "line 3: decision '2' is not 0 or 1" in message
    assert "line 4: seconds '-1' is not a non-negative number" in message


def test_an_unknown_reference_or_a_taken_name_is_refused(db, capsys, tmp_path):
    file = _csv(tmp_path, _synthetic())
    message = _error(capsys, file, "--reference", "AI")
    assert "reference modality 'AI' is not in the file" in message
    _import(file, "taken")
    with pytest.raises(CommandError, match="already exists"):
        _import(file, "taken")
    assert ImportedReaderStudy.objects.count() == 1


def test_an_incomplete_design_says_what_is_missing(db, capsys, tmp_path):
    lines = _synthetic().splitlines()
    # chloe skipped c8 with AI; ben skipped c7 and c8 without AI.
    dropped = {"chloe,c8,with AI", "ben,c7,without AI", "ben,c8,without AI"}
    kept = [line for line in lines if ",".join(line.split(",")[:3]) not in dropped]
    assert len(kept) == len(lines) - 3
    capsys.readouterr()
    _import(_csv(tmp_path, "\n".join(kept) + "\n"))
    warning = capsys.readouterr().err
    assert "reader chloe did not read 1 of them (case c8 in modality with AI)" in warning
    assert "reader ben did not read 2 of them (case c7 in modality without AI" in warning

    with pytest.raises(CommandError) as error:
        _results(capsys)
    assert "reader ben did not read 2 of them" in str(error.value)
    assert "--complete-only" in str(error.value)

    # The complete part: cases c7 and c8 leave, all three readers stay.
    document = _results(capsys, "study", "--complete-only")
    assert document["excluded"] == {"readers": [], "cases": ["c7", "c8"]}
    assert document["mrmc"]["auc"]["cases"] == 6
    assert {e["reader"] for e in document["readers"]} == {"anna", "ben", "chloe"}


def test_a_reader_missing_a_whole_modality_is_left_out_with_complete_only(db, capsys, tmp_path):
    lines = _synthetic().splitlines()
    kept = [line for line in lines if not line.startswith("chloe,") or "without AI" in line]
    _import(_csv(tmp_path, "\n".join(kept) + "\n"))
    document = _results(capsys, "study", "--complete-only")
    assert document["excluded"] == {"readers": ["chloe"], "cases": []}
    assert len(document["readers"]) == 4


# --- API ----------------------------------------------------------------------------------------


@pytest.mark.urls(__name__)
def test_the_api_returns_the_document_to_coordinators_only(db, capsys, client_for):
    _import(REFERENCE_DIR / "vandyke.csv", "vandyke", "--reference", "1")
    expected = _results(capsys, "vandyke")
    url = "/api/reader-studies/vandyke/results/"
    response = client_for(Role.COORDINATOR).get(url)
    assert response.status_code == 200
    assert response.json() == expected
    delong = client_for(Role.ADMINISTRATOR).get(url, {"covariance": "delong"}).json()
    assert delong == _results(capsys, "vandyke", "--covariance", "delong")
    assert client_for(Role.COORDINATOR).get("/api/reader-studies/other/results/").status_code == 404
    for role in (Role.RADIOLOGIST, Role.CLINICIAN):
        assert client_for(role).get(url).status_code == 403


# --- Accession numbers as cases -----------------------------------------------------------------

ACCESSION = "A20170705-8515"


def _exam_with_accession(accession: str):
    patient = services.patient_get_or_create(hospital_id=f"H-{accession}", birth_year=1970)
    return services.exam_upsert(
        patient=patient,
        center=CenterFactory(),
        exam_date=datetime.date(2017, 7, 5),
        accession_number=accession,
    )


def _accession_csv(cases: list[str]) -> str:
    lines = ["reader,case,modality,truth,rating"]
    for modality in ("unaided", "aided"):
        for reader in ("r1", "r2"):
            for i, case in enumerate(cases):
                lines.append(f"{reader},{case},{modality},{i % 2},{10 + 20 * i + len(reader)}")
    return "\n".join(lines) + "\n"


def _stored_text() -> str:
    """Every column of every imported reading, as one text to search."""
    return json.dumps(list(ImportedReading.objects.values()), default=str)


def test_a_case_that_is_a_known_accession_number_is_stored_as_its_exam_key(db, tmp_path):
    exam = _exam_with_accession(ACCESSION)
    cases = [ACCESSION, "A20180101-0001", "c3", "c4"]  # the second: no such exam
    _import(_csv(tmp_path, _accession_csv(cases)))
    study = ImportedReaderStudy.objects.get()
    stored = set(study.readings.values_list("case", flat=True))
    assert stored == {exam.accession_key, "A20180101-0001", "c3", "c4"}
    assert Exam.objects.get(accession_key__in=stored) == exam  # the case matches its exam
    assert ACCESSION not in _stored_text()
    downloaded = readings_csv(imported_study_source(study).readings)
    assert ACCESSION not in downloaded and exam.accession_key in downloaded
    hidden = study.readings.filter(case=exam.accession_key)
    assert hidden.count() == 4 and not hidden.filter(case_encrypted="").exists()
    assert not study.readings.exclude(case=exam.accession_key).exclude(case_encrypted="").exists()


def test_with_accession_cases_every_case_is_pseudonymised(db, tmp_path, capsys):
    cases = [ACCESSION, "A20180101-0001", "A20180101-0002", "A20180101-0003"]
    _import(_csv(tmp_path, _accession_csv(cases)), "study", "--accession-cases")
    assert "4 cases are accession numbers" in capsys.readouterr().out
    stored = set(ImportedReading.objects.values_list("case", flat=True))
    assert stored == {accession_key(case) for case in cases}
    assert not any(case in _stored_text() for case in cases)
    # The exam imported later has the same key: the study's case matches it.
    assert _exam_with_accession(cases[1]).accession_key in stored


def test_only_clinicians_and_administrators_read_the_accession_number_back(db, make_user):
    reader_study_import(
        name="s", data=_accession_csv([ACCESSION, "B1", "B2", "B3"]).encode(), accession_cases=True
    )
    reading = ImportedReading.objects.filter(case=accession_key(ACCESSION)).first()
    for role in (Role.CLINICIAN, Role.ADMINISTRATOR):
        assert case_accession_number(reading=reading, user=make_user(role)) == ACCESSION
    for role in (Role.COORDINATOR, Role.RADIOLOGIST, None):
        assert case_accession_number(reading=reading, user=make_user(role)) == ""


def test_two_spellings_of_one_accession_number_are_refused(db, tmp_path):
    text = _accession_csv([ACCESSION, f" {ACCESSION}", "c3", "c4"])
    with pytest.raises(ReadingImportError, match="the same accession number"):
        reader_study_import(name="s", data=text.encode(), accession_cases=True)
    assert not ImportedReaderStudy.objects.exists()


def test_the_demo_study_keeps_the_exam_keys_not_the_accession_numbers(db, tmp_path):
    accessions = ["A20200101-0001", "A20200101-0002"]
    manifest = {
        "exams": [
            {"accession_number": a, "pathology": {"outcome": o}}
            for a, o in zip(accessions, ("benign", "malignant"), strict=True)
        ]
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    reads = ["reader,accession_number,arm,confidence,malignant,seconds_spent"]
    for arm in ("unaided", "aided"):
        reads += [f"r01,{accessions[0]},{arm},20,0,30", f"r01,{accessions[1]},{arm},80,1,40"]
    (tmp_path / "reader_reads.csv").write_text("\n".join(reads) + "\n")
    demo_imported_study_load(data_dir=tmp_path)
    study = ImportedReaderStudy.objects.get(name=DEMO_STUDY)
    assert set(study.readings.values_list("case", flat=True)) == set(map(accession_key, accessions))
    assert not any(a in _stored_text() for a in accessions)


@pytest.mark.django_db(transaction=True)
def test_the_migration_pseudonymises_existing_accession_cases():
    executor = MigrationExecutor(connection)
    target = ("studies", "0004_imported_case_pseudonyms")
    parents = executor.loader.graph.node_map[target].parents
    before = [node.key for node in parents if node.key[0] == "studies"]
    exam = _exam_with_accession(ACCESSION)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    old_study = apps.get_model("studies", "ImportedReaderStudy").objects.create(
        name="old", reference_modality="unaided"
    )
    old_reading = apps.get_model("studies", "ImportedReading")
    for case in (ACCESSION, "c2"):
        old_reading.objects.create(
            study=old_study, reader="r1", case=case, modality="unaided", truth=0, rating=1
        )
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    reading = ImportedReading.objects.get(case=exam.accession_key)
    assert decrypt_identifiers(reading.case_encrypted) == {"accession_number": ACCESSION}
    assert ImportedReading.objects.get(case="c2").case_encrypted == ""
    assert ACCESSION not in _stored_text()
