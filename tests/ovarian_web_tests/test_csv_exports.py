"""Every CSV the product writes is safe to open in a spreadsheet (base/csv_cells.py).

A text cell that begins with =, +, -, @, tab or carriage return would run as a formula; each
CSV endpoint, fed hostile names and reasons, must write them as text, and numbers as numbers.
The last tests fail when a CSV endpoint or writer appears that this file does not cover.
"""

import csv
import io
import re
from pathlib import Path

import numpy as np
import pytest
from django.urls import reverse

from annotation.labelling import flow as labelling
from annotation.labelling.sets import annotation_set_create
from annotation.models import ImageSource
from base.csv_cells import FORMULA_STARTS, csv_dict_writer, csv_safe, csv_unsafe, csv_writer
from base.models import AccessAction, AccessLogEntry
from base.roles import Role
from studies.reading.flow import reading_next, reading_submit
from studies.reading.imported import parse_readings, reader_study_import
from studies.results.views import CsvRenderer
from tests import image_factories, labelling_factories
from tests.factories import CenterFactory, ExamFactory, UserFactory
from tests.ovarian_web_tests.test_permissions import MATRIX, _url
from tests.ovarian_web_tests.test_permissions import objects as objects  # the fixture
from tests.studies_tests.design_factories import designed_study

ROOT = Path(__file__).resolve().parents[2]
CMD = "=cmd|' /C calc'!A0"
LINK = '=HYPERLINK("http://example.invalid/x","details")'
SUM = "@SUM(1+1)"
TAB = "\t=1+1"
CR = "\r=1+1"
CASE = "-2+3"
CENTER = "-cmd"  # a valid slug
NEGATIVE = "-0.12"
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


# --- The cell function ------------------------------------------------------------------------


@pytest.mark.parametrize("text", [CMD, LINK, SUM, TAB, CR, CASE, "+1+1", "-", "-inf", "-1_0"])
def test_a_text_cell_that_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert csv_safe(text) == "'" + text
    assert csv_unsafe(csv_safe(text)) == text


@pytest.mark.parametrize(
    "value", [-3, 0, 2.5, -0.12, NEGATIVE, "+3", "-5", "1e-3", "-.5", None, True, "r01", "'x"]
)
def test_numbers_and_harmless_text_stay_as_they_are(value):
    assert csv_safe(value) == value
    if isinstance(value, str):
        assert csv_unsafe(value) == value


def test_the_writers_pass_every_cell_through_csv_safe():
    out = io.StringIO()
    csv_writer(out, lineterminator="\n").writerow([CMD, -1.5, "-1.5", "ok"])
    writer = csv_dict_writer(out, ["a", "b"], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerow({"a": SUM, "b": -2, "ignored": CMD})
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [["'" + CMD, "-1.5", "-1.5", "ok"], ["a", "b"], ["'" + SUM, "-2"]]


def test_a_readings_file_with_escaped_cells_imports_as_it_was_exported():
    text = f"reader,case,modality,truth,rating\n'{CMD},'{CASE},m1,1,-0.5\n'{CMD},'{CASE},m2,1,2\n"
    readings = parse_readings(text.encode()).readings
    assert {(r.reader, r.case, r.rating) for r in readings} == {(CMD, CASE, -0.5), (CMD, CASE, 2)}


# --- Every CSV endpoint, fed hostile data ------------------------------------------------------


def _readings_file() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["reader", "case", "modality", "truth", "rating", "decision", "seconds"])
    for modality in ("unaided", SUM):
        for reader in (CMD, "r2"):
            for i, case in enumerate((CASE, "c2", "c3", "c4", "c5", "c6")):
                truth = int(i < 3)
                rating = NEGATIVE if (i, reader, modality) == (3, "r2", "unaided") else 10 + 15 * i
                rating = rating if truth == 0 or rating == NEGATIVE else 90 - i - len(reader)
                writer.writerow([reader, case, modality, truth, rating, truth, 5 + i])
    return out.getvalue().encode()


@pytest.fixture
def hostile(db):
    """A labelled set, an imported and a designed study, named and answered with formulas."""
    member = UserFactory(role=Role.RADIOLOGIST, username=CMD)
    exam = ExamFactory(center=CenterFactory(code=CENTER))
    image_factories.image_store(
        exam=exam,
        pixels=np.zeros((32, 48), dtype=np.uint8),
        source=ImageSource.PNG,
        color_model="MONOCHROME2",
    )
    annotation_set = annotation_set_create(
        name=LINK, readers=[member], size=1, seed=1, adjudicator=member
    )
    label = labelling_factories.label_next(annotation_set=annotation_set, reader=member)
    answers = {"cannot_determine": True, "cannot_determine_reason": LINK + TAB}
    labelling.label_submit(label_id=label.pk, user=member, answers=answers)
    imported = reader_study_import(name=CR, data=_readings_file(), reference="unaided")
    readers = [UserFactory(role=Role.RADIOLOGIST, username=name) for name in (TAB, "+r2")]
    designed = designed_study(readers=readers, washout_days=0, name=SUM)
    truth = {c.exam_id: c.exam.pathology.outcome for c in designed.cases.select_related("exam")}
    for session in designed.sessions.order_by("period"):
        session.refresh_from_db()  # the first period's end opens the second
        while (reading := reading_next(session=session)) is not None:
            said = truth[reading.exam_id] == "malignant"
            answers = {"malignant": said, "confidence": 70 if said else 30}
            reading_submit(reading=reading, answers=answers)
    AccessLogEntry.objects.create(
        user=member,
        username=CMD,
        action=AccessAction.ACCESS_LOG_EXPORTED,
        target=LINK,
        path="/" + SUM,
    )
    return {"set": annotation_set, "imported": imported, "designed": designed}


def _set_export(what):
    return lambda o: reverse(
        "annotation:set_export", kwargs={"pk": o["set"].pk, "what": what, "fmt": "csv"}
    )


def _set_api(what):
    return lambda o: (
        reverse("annotation-set-export", kwargs={"set_id": o["set"].pk, "what": what}) + "?as=csv"
    )


def _download(kind, what):
    return lambda o: reverse(
        f"studies:{kind}_results_download", kwargs={"pk": o[kind].pk, "what": what}
    )


def _study_api(route, kind):
    return lambda o: reverse(route, kwargs={"pk": o[kind].pk})


# route name -> (variant, url of the hostile objects, what must be in it, escaped)
CSV_ENDPOINTS = {
    "access_log_export": [("log", lambda o: reverse("access_log_export"), (CMD, LINK))],
    "annotation:set_export": [
        ("labels", _set_export("labels"), (CMD, CENTER, LINK + TAB)),
        ("consensus", _set_export("consensus"), (CENTER,)),
        ("draw", _set_export("draw"), ()),
    ],
    "annotation-set-export": [
        ("labels", _set_api("labels"), (CMD, CENTER, LINK + TAB)),
        ("consensus", _set_api("consensus"), (CENTER,)),
    ],
    "studies:imported_results_download": [
        ("readings", _download("imported", "readings"), (CMD, CASE, SUM)),
        ("table", _download("imported", "table"), (CMD, SUM)),
    ],
    "studies:designed_results_download": [
        ("readings", _download("designed", "readings"), (TAB, "+r2")),
        ("table", _download("designed", "table"), (TAB, "+r2")),
    ],
    "imported-study-results-table": [
        ("table", _study_api("imported-study-results-table", "imported"), (CMD, SUM)),
    ],
    "imported-study-readings": [
        ("readings", _study_api("imported-study-readings", "imported"), (CMD, CASE, SUM)),
    ],
    "designed-study-results-table": [
        ("table", _study_api("designed-study-results-table", "designed"), (TAB, "+r2")),
    ],
    "designed-study-readings": [
        ("readings", _study_api("designed-study-readings", "designed"), (TAB, "+r2")),
    ],
}


def _is_csv(response) -> bool:
    return response.get("Content-Type", "").startswith("text/csv")


def _cells(response) -> list[str]:
    text = response.content.decode("utf-8")
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def _unsafe_cells(cells: list[str]) -> list[str]:
    return [c for c in cells if c.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(c)]


def test_every_csv_endpoint_writes_hostile_text_as_text(client_for, hostile):
    # One pass over every endpoint: the hostile data take seconds to make.
    client = client_for(Role.ADMINISTRATOR)
    for name, variants in CSV_ENDPOINTS.items():
        for variant, url_for, expected in variants:
            response = client.get(url_for(hostile))
            assert _is_csv(response), (name, variant, response.status_code)
            cells = _cells(response)
            assert cells, (name, variant, "an empty file proves nothing")
            assert _unsafe_cells(cells) == [], (name, variant)
            for text in expected:
                assert "'" + text in cells, (name, variant, text)  # it arrived, as text


def test_a_negative_rating_stays_a_number(client_for, hostile):
    url = _download("imported", "readings")(hostile)
    cells = _cells(client_for(Role.ADMINISTRATOR).get(url))
    assert NEGATIVE in cells and "'" + NEGATIVE not in cells


def test_an_api_error_asked_for_as_csv_is_written_safely():
    body = CsvRenderer().render({"detail": CMD, "reader": -1})
    assert list(csv.reader(io.StringIO(body))) == [["detail", "'" + CMD], ["reader", "-1"]]


# --- Nothing left out ---------------------------------------------------------------------------

# Files that write CSV or answer text/csv, each covered above; the generator's own files are
# synthetic (no user's text reaches them) and the generator imports nothing of the project.
CSV_WRITERS = {"base/csv_cells.py", "annotation/synthetic/dataset.py"}
CSV_RESPONSES = {
    "ovarian_web/views.py": {"access_log_export"},
    "annotation/labelling/exports.py": {"annotation:set_export", "annotation-set-export"},
    "studies/results/views/downloads.py": {
        "studies:imported_results_download",
        "studies:designed_results_download",
    },
    "studies/results/views/api.py": {
        "imported-study-results-table",
        "imported-study-readings",
        "designed-study-results-table",
        "designed-study-readings",
    },
}
WRITER = re.compile(r"csv\.(writer|DictWriter)\(|\bTO\s+STDOUT\b|copy_expert|copy_to\(")


def _product_files():
    for app in ("annotation", "inference", "studies", "ovarian_web"):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def test_csv_is_written_only_through_csv_cells():
    writers = {name for name, text in _product_files() if WRITER.search(text)}
    assert writers <= CSV_WRITERS, "write CSV with base.csv_cells and test it here"
    responses = {name for name, text in _product_files() if "text/csv" in text}
    assert responses <= set(CSV_RESPONSES), "a new CSV response: add its routes to CSV_ENDPOINTS"
    assert set().union(*CSV_RESPONSES.values()) == set(CSV_ENDPOINTS)


def test_every_route_that_answers_csv_is_covered(client_for, objects):
    """Ask every page and endpoint for CSV in each way a client can; only covered routes may
    answer it (the permission matrix lists every route and how to fill its URL)."""
    client = client_for(Role.ADMINISTRATOR)
    answering = set()
    for name, (method, _, key, *_) in sorted(MATRIX.items()):
        if method != "get":
            continue
        url = _url(name, key, objects)
        join = "&" if "?" in url else "?"
        for query in ("", f"{join}as=csv", f"{join}format=csv"):
            for accept in ("*/*", "text/csv"):
                if _is_csv(client.get(url + query, HTTP_ACCEPT=accept)):
                    answering.add(name)
    assert answering, "the probe found no CSV at all: it is broken"
    assert answering <= set(CSV_ENDPOINTS), "add the new CSV route to CSV_ENDPOINTS"
