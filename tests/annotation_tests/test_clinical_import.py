"""Clinical CSV import (docs/clinical_csv.md): parser, importer, command and upload page."""

import csv
import io
import json
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotation import services
from annotation.demo import centers_from_manifest
from annotation.importing.clinical import clinical_csv_import
from annotation.importing.clinical_csv import COLUMNS, parse_clinical_csv
from annotation.models import (
    CA125Measurement,
    Center,
    Exam,
    LesionFeatures,
    PathologyResult,
    Patient,
)
from annotation.patients.identity import accession_key, patient_pseudonym
from annotation.synthetic import generate_dataset
from annotation.synthetic.cohort import build_cohort
from annotation.synthetic.dataset import CLINICAL_COLUMNS, clinical_rows
from base.roles import Role
from tests.factories import CenterFactory

# The doc's advanced-cancer example row; each test changes what it needs.
MALIGNANT = {
    "patient_id": "H-315402",
    "accession_number": "A20230412-0381",
    "exam_date": "2023-04-12",
    "center": "INT2",
    "birth_year": "1961",
    "ca125_u_per_ml": "846.0",
    "ca125_date": "2023-04-05",
    "pathology": "malignant",
    "histology": "high-grade serous carcinoma",
    "figo_stage": "IIIC",
    "grade": "3",
    "operation_date": "2023-05-02",
    "report_lesion_size_mm": "96",
    "report_text": "Right adnexa: multilocular-solid mass measuring 96 mm, irregular inner wall.",
    "mass_type": "multilocular_solid",
    "lesion_diameter_mm": "98",
    "solid_diameter_mm": "58",
    "locules": "6",
    "papillary_projections": "2",
    "acoustic_shadows": "0",
    "ascites": "1",
    "color_score": "4",
    "irregular_walls": "1",
}
NO_MASS = {
    **{column: "" for column in COLUMNS},
    "patient_id": "H-442871",
    "accession_number": "A20170923-5120",
    "exam_date": "2017-09-23",
    "center": "INT1",
    "birth_year": "1990",
    "report_text": "Uterus and both ovaries of normal appearance. No adnexal mass.",
    "ascites": "0",
}


def csv_bytes(rows: list[dict], columns=COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def row(**changes) -> dict:
    return {**MALIGNANT, **changes}


def errors_of(data) -> list[tuple[int, str]]:
    return [(error.line, error.column) for error in parse_clinical_csv(data).errors]


@pytest.fixture
def centers(db):
    return [CenterFactory(code=code) for code in ("INT1", "INT2", "EXT1", "EXT2")]


@pytest.fixture
def generated(db, tmp_path):
    """A realistic clinical.csv from the generator, with its centres in the database."""
    manifest = generate_dataset(tmp_path / "data", patients=3, seed=1)
    centers_from_manifest(manifest)
    path = tmp_path / "data" / "clinical.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return path, rows


# --- the parser, without a database -------------------------------------------------------


def test_columns_match_the_generator_and_its_output_parses_clean():
    assert COLUMNS == CLINICAL_COLUMNS
    for seed in (1, 2, 2026):
        rows = clinical_rows(build_cohort(400, seed))
        result = parse_clinical_csv(csv_bytes(rows))
        assert result.errors == [] and len(result.rows) == len(rows)


def test_the_docs_example_rows_parse_into_python_values():
    example = NO_MASS, row()
    result = parse_clinical_csv(csv_bytes(list(example)))
    assert result.errors == []
    no_mass, cancer = result.rows
    assert (no_mass.line, cancer.line) == (2, 3)
    assert no_mass.mass_type == "" and no_mass.lesion_diameter_mm is None
    assert no_mass.ascites is False and no_mass.ca125_u_per_ml is None
    assert cancer.exam_date == date(2023, 4, 12) and cancer.birth_year == 1961
    assert cancer.ca125_u_per_ml == 846.0 and cancer.grade == 3
    assert cancer.irregular_walls is True and cancer.acoustic_shadows is False


def test_quoted_cells_with_commas_quotes_and_newlines_are_one_row():
    text = 'Mass, "quoted" word,\nsecond line.'
    result = parse_clinical_csv(csv_bytes([row(report_text=text), NO_MASS]))
    assert result.errors == []
    assert result.rows[0].report_text == text
    assert result.rows[1].line == 3  # the spreadsheet row, not the physical line


def test_a_byte_order_mark_and_blank_lines_are_accepted():
    data = b"\xef\xbb\xbf" + csv_bytes([row()]) + b"\n,,,,,,,,,,,,,,,,,,,,,,\n"
    assert parse_clinical_csv(data).errors == []


@pytest.mark.parametrize(
    ("columns", "named"),
    [
        (COLUMNS[:-1], "irregular_walls"),  # missing
        (COLUMNS + ("comment",), "comment"),  # extra
        (("hospital_id",) + COLUMNS[1:], "hospital_id"),  # renamed (wrong)
        (COLUMNS[:3] + (COLUMNS[4], COLUMNS[3]) + COLUMNS[5:], "birth_year"),  # reordered
    ],
    ids=["missing", "extra", "wrong", "reordered"],
)
def test_a_wrong_header_is_refused_naming_the_columns(columns, named):
    values = row()
    values.setdefault("comment", "x")
    values["hospital_id"] = values["patient_id"]
    data = csv_bytes([{c: values[c] for c in columns}], columns=columns)
    result = parse_clinical_csv(data)
    assert result.fatal and result.rows == []
    assert all(error.line == 1 for error in result.errors)
    assert any(named in error.message and named in error.column for error in result.errors)
    assert "the header must be exactly: patient_id,accession_number," in result.errors[-1].message


def test_a_file_that_is_not_utf8_is_refused_with_its_line_and_column():
    data = csv_bytes([NO_MASS, row(report_text="Kyste uniloculaire, échogène.")])
    latin1 = data.decode().encode("latin-1")
    result = parse_clinical_csv(latin1)
    assert result.fatal
    [error] = result.errors
    assert (error.line, error.column) == (3, "report_text")
    assert "not UTF-8" in error.message


@pytest.mark.parametrize("data", [b"", b"  \n\n", csv_bytes([])], ids=["empty", "blank", "header"])
def test_an_empty_file_is_refused(data):
    result = parse_clinical_csv(data)
    assert result.fatal
    assert result.errors[0].line == 1
    assert "empty" in result.errors[0].message or "no exam rows" in result.errors[0].message


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"exam_date": "2023-02-30"}, "exam_date"),
        ({"exam_date": "12/04/2023"}, "exam_date"),
        ({"operation_date": "2023-5-2"}, "operation_date"),
        ({"birth_year": "1850"}, "birth_year"),
        ({"birth_year": "19x1"}, "birth_year"),
        ({"ca125_u_per_ml": "0"}, "ca125_u_per_ml"),
        ({"ca125_u_per_ml": "100000.1"}, "ca125_u_per_ml"),
        ({"ca125_u_per_ml": "84,6"}, "ca125_u_per_ml"),
        ({"grade": "4"}, "grade"),
        ({"color_score": "5"}, "color_score"),
        ({"lesion_diameter_mm": "401"}, "lesion_diameter_mm"),
        ({"report_lesion_size_mm": "0"}, "report_lesion_size_mm"),
        ({"papillary_projections": "5"}, "papillary_projections"),
        ({"locules": "101"}, "locules"),
        ({"irregular_walls": "yes"}, "irregular_walls"),
        ({"pathology": "Malignant"}, "pathology"),
        ({"figo_stage": "V"}, "figo_stage"),
        ({"mass_type": "complex"}, "mass_type"),
        ({"histology": "carcinoma"}, "histology"),
        ({"patient_id": ""}, "patient_id"),
        ({"accession_number": ""}, "accession_number"),
        ({"center": ""}, "center"),
        ({"patient_id": "H" * 65}, "patient_id"),
        ({"report_text": "bad \x00 byte"}, "report_text"),
    ],
)
def test_a_bad_value_is_reported_at_its_line_and_column(changes, column):
    result = parse_clinical_csv(csv_bytes([NO_MASS, row(**changes)]))
    assert (3, column) in [(error.line, error.column) for error in result.errors]
    assert [r.line for r in result.rows] == [2]  # the good row is kept, the bad one is not
    assert not result.fatal


@pytest.mark.parametrize("marker", ["NA", "null", "NULL", "N/A", "-", "nan"])
def test_null_markers_are_errors_not_unknowns(marker):
    result = parse_clinical_csv(csv_bytes([row(ca125_u_per_ml=marker, ca125_date=marker)]))
    assert {(e.line, e.column) for e in result.errors} == {
        (2, "ca125_u_per_ml"),
        (2, "ca125_date"),
    }
    assert "leave the cell empty" in result.errors[0].message


def test_a_repeated_accession_number_is_an_error_on_the_second_line():
    second = row(patient_id="H-1")
    assert errors_of(csv_bytes([row(), NO_MASS, second])) == [(4, "accession_number")]
    result = parse_clinical_csv(csv_bytes([row(), NO_MASS, second]))
    assert "repeats line 2" in result.errors[0].message


def test_conflicting_rows_of_one_patient_are_errors():
    other_exam = {**NO_MASS, "patient_id": MALIGNANT["patient_id"].lower(), "birth_year": "1962"}
    assert errors_of(csv_bytes([row(), other_exam])) == [(3, "birth_year")]
    same_day = row(accession_number="A2", ca125_u_per_ml="12.0")
    assert errors_of(csv_bytes([row(), same_day])) == [(3, "ca125_u_per_ml")]


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"solid_diameter_mm": "99"}, "solid_diameter_mm"),
        ({"pathology": "benign", "histology": "serous cystadenoma", "grade": ""}, "figo_stage"),
        ({"pathology": "borderline", "histology": "serous borderline tumour"}, "grade"),
        ({"histology": "metastatic tumour"}, "figo_stage"),
        ({"operation_date": "2023-04-11"}, "operation_date"),
        ({"ca125_date": ""}, "ca125_date"),
        ({"ca125_u_per_ml": ""}, "ca125_date"),
        ({"pathology": "benign", "figo_stage": "", "grade": ""}, "histology"),
        ({"operation_date": ""}, "operation_date"),
        ({"mass_type": "unilocular", "solid_diameter_mm": "0", "locules": "2"}, "locules"),
        ({"mass_type": "unilocular", "locules": "1"}, "solid_diameter_mm"),
        ({"color_score": ""}, "color_score"),
        ({"birth_year": "2024"}, "birth_year"),
    ],
)
def test_consistency_rules_of_the_doc(changes, column):
    assert column in [c for _, c in errors_of(csv_bytes([row(**changes)]))]


def test_values_without_their_parent_column_are_errors():
    orphan_pathology = {**NO_MASS, "histology": "endometrioma", "operation_date": "2017-10-01"}
    orphan_features = {**NO_MASS, "accession_number": "B1", "locules": "3"}
    assert errors_of(csv_bytes([orphan_pathology, orphan_features])) == [
        (2, "histology"),
        (2, "operation_date"),
        (3, "locules"),
    ]


def test_hostile_text_is_kept_verbatim_as_data():
    hostile = '=HYPERLINK("http://evil.example","click") <script>alert(1)</script>'
    result = parse_clinical_csv(csv_bytes([row(report_text=hostile)]))
    assert result.errors == []
    assert result.rows[0].report_text == hostile


def test_a_huge_file_is_refused_before_it_is_read():
    result = parse_clinical_csv(b"x" * (20 * 1024 * 1024 + 1))
    assert result.fatal
    assert "the limit is 20.0 MB" in result.errors[0].message


def test_too_many_rows_is_refused():
    rows = [row(accession_number=f"A{n}", ca125_u_per_ml="") for n in range(4)]
    for values in rows:
        values["ca125_date"] = ""
    result = parse_clinical_csv(csv_bytes(rows), max_rows=3)
    assert result.fatal and result.rows == []
    assert "more than 3 exam rows" in result.errors[0].message


# --- the importer -------------------------------------------------------------------------


def _database_text() -> str:
    """Every stored value of the clinical tables, as one string."""
    models = (Patient, Exam, PathologyResult, CA125Measurement, LesionFeatures, Center)
    return repr([list(model.objects.values_list()) for model in models])


def test_a_clean_import_creates_patients_exams_and_clinical_data(generated):
    path, rows = generated
    report = clinical_csv_import(data=path.read_bytes())
    assert report.imported and report.errors == []
    assert (report.created, report.updated, report.unchanged, report.skipped) == (
        len(rows),
        0,
        0,
        0,
    )
    assert Patient.objects.count() == len({r["patient_id"] for r in rows})
    assert Exam.objects.count() == len(rows)
    for values in rows:
        exam = Exam.objects.get(accession_key=accession_key(values["accession_number"]))
        assert exam.patient.pseudonym == patient_pseudonym(values["patient_id"])
        assert exam.patient.birth_year == int(values["birth_year"])
        assert exam.center.code == values["center"]
        assert exam.exam_date.isoformat() == values["exam_date"]
        assert exam.report_text == values["report_text"]
        assert exam.report_mass_type == values["mass_type"]
        assert exam.report_lesion_size_mm == float(values["report_lesion_size_mm"])
        assert exam.pathology.outcome == values["pathology"]
        assert exam.pathology.histological_type == values["histology"]
        assert exam.pathology.operation_date.isoformat() == values["operation_date"]
        [ca125] = exam.ca125.all()
        assert ca125.value_u_per_ml == float(values["ca125_u_per_ml"])
        assert ca125.measured_on.isoformat() == values["ca125_date"]
        assert exam.features.mass_type == values["mass_type"]
        assert exam.features.lesion_diameter_mm == float(values["lesion_diameter_mm"])
        assert exam.features.color_score == int(values["color_score"])
    stored = _database_text()
    for values in rows:
        assert values["patient_id"] not in stored
        assert values["accession_number"] not in stored


def test_an_exam_without_a_mass_keeps_only_its_ascites_answer(centers):
    report = clinical_csv_import(data=csv_bytes([NO_MASS]))
    assert report.created == 1
    exam = Exam.objects.get()
    assert not hasattr(exam, "pathology")
    assert exam.ca125.count() == 0
    assert exam.features.mass_type == "" and exam.features.ascites is False
    assert exam.features.lesion_diameter_mm is None


def test_reimporting_the_same_file_changes_nothing(generated):
    path, rows = generated
    clinical_csv_import(data=path.read_bytes())
    before = {exam.pk: exam.updated_at for exam in Exam.objects.all()}
    snapshot = _database_text()
    with CaptureQueriesContext(connection) as queries:
        report = clinical_csv_import(data=path.read_bytes())
    assert (report.created, report.updated, report.unchanged) == (0, 0, len(rows))
    writes = [
        q["sql"] for q in queries if q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE")
    ]
    assert writes == []
    assert len(queries) < 12  # a few bulk reads, none per row
    assert {exam.pk: exam.updated_at for exam in Exam.objects.all()} == before
    assert _database_text() == snapshot


def test_a_corrected_file_updates_in_place(generated):
    path, rows = generated
    clinical_csv_import(data=path.read_bytes())
    pks = sorted(Exam.objects.values_list("pk", flat=True))
    rows[0]["ca125_u_per_ml"] = "123.4"
    rows[1]["histology"] = "mucinous cystadenoma"
    report = clinical_csv_import(data=csv_bytes(rows))
    assert (report.created, report.updated, report.unchanged) == (0, 2, len(rows) - 2)
    assert sorted(Exam.objects.values_list("pk", flat=True)) == pks
    first = Exam.objects.get(accession_key=accession_key(rows[0]["accession_number"]))
    assert [m.value_u_per_ml for m in first.ca125.all()] == [123.4]
    second = Exam.objects.get(accession_key=accession_key(rows[1]["accession_number"]))
    assert second.pathology.histological_type == "mucinous cystadenoma"
    assert CA125Measurement.objects.count() == len(rows)
    assert PathologyResult.objects.count() == len(rows)


def test_a_corrected_file_can_blank_clinical_data_and_move_a_ca125_date(centers):
    clinical_csv_import(data=csv_bytes([row()]))
    blanked = {
        **row(ca125_date="2023-04-06", pathology="", histology="", figo_stage="", grade=""),
        "operation_date": "",
        **{column: "" for column in ("mass_type", "lesion_diameter_mm", "solid_diameter_mm")},
        **{c: "" for c in ("locules", "papillary_projections", "acoustic_shadows", "ascites")},
        **{column: "" for column in ("color_score", "irregular_walls")},
    }
    report = clinical_csv_import(data=csv_bytes([blanked]))
    assert report.updated == 1
    exam = Exam.objects.get()
    assert PathologyResult.objects.count() == 0
    assert LesionFeatures.objects.count() == 0
    assert [m.measured_on for m in CA125Measurement.objects.all()] == [date(2023, 4, 6)]
    assert exam.report_mass_type == ""
    without_ca125 = {**blanked, "ca125_u_per_ml": "", "ca125_date": ""}
    assert clinical_csv_import(data=csv_bytes([without_ca125])).updated == 1
    assert CA125Measurement.objects.count() == 0
    assert clinical_csv_import(data=csv_bytes([without_ca125])).unchanged == 1


def test_two_exams_may_share_one_ca125_measurement(centers):
    rows = [row(), row(accession_number="A2", exam_date="2023-04-20", operation_date="2023-05-03")]
    report = clinical_csv_import(data=csv_bytes(rows))
    assert report.created == 2 and report.errors == []
    assert CA125Measurement.objects.count() == 1
    assert clinical_csv_import(data=csv_bytes(rows)).unchanged == 2


def test_an_exam_imported_from_dicom_keeps_its_study_uid(centers):
    patient = services.patient_get_or_create(hospital_id=MALIGNANT["patient_id"], birth_year=1961)
    exam = services.exam_upsert(
        patient=patient,
        center=centers[1],
        exam_date=date(2023, 4, 12),
        accession_number=MALIGNANT["accession_number"],
        study_instance_uid="1.2.826.0.1.3680043.99",
    )
    report = clinical_csv_import(data=csv_bytes([row()]))
    assert (report.created, report.updated) == (0, 1)
    refreshed = Exam.objects.get()
    assert refreshed.pk == exam.pk
    assert refreshed.study_instance_uid == exam.study_instance_uid != ""
    assert refreshed.report_mass_type == "multilocular_solid"


def test_a_birth_year_correction_counts_as_an_update(centers):
    clinical_csv_import(data=csv_bytes([row()]))
    report = clinical_csv_import(data=csv_bytes([row(birth_year="1960")]))
    assert (report.updated, report.unchanged) == (1, 0)
    assert Patient.objects.get().birth_year == 1960


def test_a_file_with_a_bad_row_imports_nothing(centers):
    data = csv_bytes([NO_MASS, row(exam_date="2023-13-01")])
    report = clinical_csv_import(data=data)
    assert not report.imported
    assert report.errors == [
        {"line": 3, "column": "exam_date", "message": "'2023-13-01' is not a calendar date"}
    ]
    assert (report.created, report.skipped) == (0, 0)
    assert Exam.objects.count() == 0 and Patient.objects.count() == 0


def test_skip_invalid_imports_the_good_rows_and_reports_the_bad(centers):
    data = csv_bytes(
        [NO_MASS, row(exam_date="2023-13-01"), row(accession_number="A3", center="XX")]
    )
    report = clinical_csv_import(data=data, skip_invalid=True)
    assert report.imported
    assert (report.created, report.skipped) == (1, 2)
    assert [(e["line"], e["column"]) for e in report.errors] == [(3, "exam_date"), (4, "center")]
    assert Exam.objects.count() == 1


def test_skip_invalid_does_not_rescue_a_broken_file(centers):
    report = clinical_csv_import(data=csv_bytes([row()], columns=COLUMNS[:-1]), skip_invalid=True)
    assert not report.imported and Exam.objects.count() == 0


def test_an_unknown_centre_is_not_created(centers):
    report = clinical_csv_import(data=csv_bytes([row(center="NEW9")]))
    assert not report.imported
    [error] = report.errors
    assert (error["line"], error["column"]) == (2, "center")
    assert "add the centre first" in error["message"]
    assert not Center.objects.filter(code="NEW9").exists()


def test_hostile_text_is_stored_as_plain_text_and_shown_escaped(centers, client_for):
    hostile = '=HYPERLINK("http://evil.example","click") <script>alert(1)</script>'
    clinical_csv_import(data=csv_bytes([row(report_text=hostile)]))
    exam = Exam.objects.get()
    assert exam.report_text == hostile
    page = client_for(Role.CLINICIAN).get(reverse("annotation:exam_detail", args=[exam.pk]))
    assert b"<script>alert(1)</script>" not in page.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.content


# --- the command --------------------------------------------------------------------------


def test_command_json_output(centers, tmp_path, capsys):
    path = tmp_path / "clinical.csv"
    path.write_bytes(csv_bytes([NO_MASS, row(ca125_u_per_ml="NA")]))
    call_command("import_clinical", str(path), "--json")
    output = json.loads(capsys.readouterr().out)
    assert output == {
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "errors": [
            {
                "line": 3,
                "column": "ca125_u_per_ml",
                "message": "'NA' is not allowed; leave the cell empty when unknown",
            }
        ],
        "imported": False,
    }
    call_command("import_clinical", str(path), "--json", "--skip-invalid")
    output = json.loads(capsys.readouterr().out)
    assert (output["created"], output["skipped"], output["imported"]) == (1, 1, True)


def test_command_human_summary(centers, tmp_path, capsys):
    path = tmp_path / "clinical.csv"
    path.write_bytes(csv_bytes([row(grade="7")]))
    call_command("import_clinical", str(path))
    out = capsys.readouterr().out
    assert "Nothing imported" in out
    assert "line 2, column grade: 7 is out of range" in out
    path.write_bytes(csv_bytes([row()]))
    call_command("import_clinical", str(path))
    assert "1 created" in capsys.readouterr().out


def test_command_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_clinical", str(tmp_path / "nope.csv"))


# --- the upload page ----------------------------------------------------------------------


def _upload(content: bytes, name: str = "clinical.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_the_coordinator_uploads_a_file_and_sees_the_report(centers, client_for):
    client = client_for(Role.COORDINATOR)
    url = reverse("annotation:clinical_upload")
    assert client.get(url).status_code == 200
    response = client.post(url, {"file": _upload(csv_bytes([NO_MASS, row()]))})
    assert response.status_code == 200
    assert response.context["report"].created == 2
    assert b"Imported" in response.content
    assert Exam.objects.count() == 2


def test_the_upload_page_lists_errors_escaped_and_skips_on_request(centers, client_for):
    client = client_for(Role.ADMINISTRATOR)
    url = reverse("annotation:clinical_upload")
    data = csv_bytes([NO_MASS, row(center="<b>X</b>")])
    response = client.post(url, {"file": _upload(data)})
    assert b"Nothing imported" in response.content
    assert b"import-errors" in response.content
    assert b"&lt;b&gt;X&lt;/b&gt;" in response.content and b"<b>X</b>" not in response.content
    assert Exam.objects.count() == 0
    response = client.post(url, {"file": _upload(data), "skip_invalid": "on"})
    assert (response.context["report"].created, response.context["report"].skipped) == (1, 1)


def test_the_upload_page_refuses_a_file_over_the_limit(centers, client_for, monkeypatch):
    monkeypatch.setattr("annotation.importing.clinical_views.MAX_FILE_BYTES", 100)
    client = client_for(Role.COORDINATOR)
    response = client.post(
        reverse("annotation:clinical_upload"), {"file": _upload(csv_bytes([row()]))}
    )
    assert response.status_code == 200
    assert response.context["report"] is None
    assert "the limit is" in response.content.decode()
    assert Exam.objects.count() == 0


@pytest.mark.parametrize("role", [Role.RADIOLOGIST, Role.CLINICIAN, None])
def test_other_roles_may_not_upload(client_for, role):
    client = client_for(role)
    url = reverse("annotation:clinical_upload")
    assert client.get(url).status_code == 403
    assert client.post(url, {"file": _upload(csv_bytes([row()]))}).status_code == 403


def test_anonymous_users_are_sent_to_login(client, db):
    response = client.get(reverse("annotation:clinical_upload"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
