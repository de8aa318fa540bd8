"""Designing a reader study: the reading plan, the checks, opening, the lock, the pages, and
the bridge from its reads to the results."""

import math

import pytest
from django.urls import reverse
from django.utils import timezone

from annotation.models import Center
from annotation.patients.identity import accession_key
from base.roles import Role
from studies.design.forms import ReaderStudyForm
from studies.design.services import (
    ReaderStudyError,
    reader_study_close,
    reader_study_create,
    reader_study_open,
    reader_study_reader_update,
    reader_study_update,
    reading_plan,
)
from studies.models import Arm, CaseReading, ReaderStudy, ReadingSession
from studies.reading.flow import reading_next, reading_submit
from studies.results.designed_reads import designed_study_source
from tests.factories import CenterFactory, UserFactory
from tests.inference_tests.factories import ensemble_make, exam_result_make
from tests.studies_tests.design_factories import case_exams, designed_study, exam_with_images

CASES = [(exam_id, int(exam_id <= 8)) for exam_id in range(1, 21)]  # 8 malignant, 12 benign


# ---- the reading plan (no database) ----


def test_sequential_reads_every_case_without_then_with_ai_in_a_seeded_order():
    plan = reading_plan(design="sequential", seed=3, reader_key=1, cases=CASES, practice=[90, 91])
    assert [(s.arm, s.period) for s in plan] == [("without_ai", 1), ("with_ai", 2)]
    for session in plan:
        assert sorted(session.cases) == list(range(1, 21))
        assert session.practice == (90, 91)
    assert plan[0].cases != plan[1].cases  # each session its own order
    again = reading_plan(design="sequential", seed=3, reader_key=1, cases=CASES, practice=[90, 91])
    assert again == plan
    other = reading_plan(design="sequential", seed=3, reader_key=2, cases=CASES, practice=[90, 91])
    assert other[0].cases != plan[0].cases  # each reader their own order
    assert reading_plan(design="sequential", seed=4, reader_key=1, cases=CASES)[0] != plan[0]


def test_crossover_splits_the_cases_in_halves_balanced_by_truth_and_swaps_them():
    plan = reading_plan(design="crossover", seed=3, reader_key=1, cases=CASES, practice=[90])
    assert [(s.arm, s.period) for s in plan] == [
        ("with_ai", 1),
        ("without_ai", 1),
        ("without_ai", 2),
        ("with_ai", 2),
    ]
    first, second = set(plan[0].cases), set(plan[1].cases)
    assert not first & second and first | second == set(range(1, 21))
    assert len(first) == len(second) == 10
    truth = dict(CASES)
    assert sum(truth[e] for e in first) == sum(truth[e] for e in second) == 4
    assert set(plan[2].cases) == first and set(plan[3].cases) == second
    assert [s.practice for s in plan] == [(90,), (90,), (), ()]  # practice opens each arm


def test_crossover_with_odd_strata_keeps_the_halves_within_one_case():
    cases = [(i, int(i <= 3)) for i in range(1, 10)]  # 3 malignant, 6 benign
    plan = reading_plan(design="crossover", seed=1, reader_key=5, cases=cases)
    assert abs(len(plan[0].cases) - len(plan[1].cases)) <= 1


# ---- services ----


@pytest.mark.django_db
def test_a_study_with_cases_without_truth_or_images_or_non_radiologist_readers_is_refused():
    good = case_exams(1, 1)
    no_truth = exam_with_images(outcome=None)
    no_images = exam_with_images(outcome="malignant", images=0)
    clinician = UserFactory(role=Role.CLINICIAN)
    with pytest.raises(ReaderStudyError) as refused:
        reader_study_create(
            name="Bad",
            cases=[*good, no_truth, no_images],
            practice_cases=[good[0]],
            readers=[clinician],
            seed=1,
        )
    message = str(refused.value)
    assert f"without a pathology result cannot be cases (no truth): {no_truth.pk}" in message
    assert f"exams without images cannot be read: {no_images.pk}" in message
    assert f"both a case and a practice case: {good[0].pk}" in message
    assert f"readers must be radiologists: {clinician.username}" in message
    assert not ReaderStudy.objects.exists()


@pytest.mark.django_db
def test_names_are_unique_and_unknown_clinical_data_is_named():
    reader = UserFactory(role=Role.RADIOLOGIST)
    designed_study(readers=[reader], name="Same", opened=False)
    with pytest.raises(ReaderStudyError, match="named 'Same' already exists"):
        reader_study_create(name="Same", cases=case_exams(1, 1), readers=[reader], seed=1)
    with pytest.raises(ReaderStudyError, match="unknown clinical data 'pathology'"):
        reader_study_create(
            name="Other",
            cases=case_exams(1, 1),
            readers=[reader],
            seed=1,
            clinical_with_ai=["age", "pathology"],
        )


@pytest.mark.django_db
def test_opening_makes_each_readers_sessions_in_a_stored_order_practice_first():
    readers = [UserFactory(role=Role.RADIOLOGIST) for _ in range(2)]
    study = designed_study(readers=readers, malignant=3, benign=3, practice=2, opened=False)
    assert not ReadingSession.objects.exists()
    now = timezone.now()
    reader_study_open(study=study, now=now)
    study.refresh_from_db()
    assert study.state == "open" and study.opened_at == now
    sessions = ReadingSession.objects.filter(study=study).order_by("reader_id", "period")
    assert [(s.arm, s.period) for s in sessions] == [("without_ai", 1), ("with_ai", 2)] * 2
    assert all(s.available_from == now for s in sessions if s.period == 1)
    assert all(s.available_from is None for s in sessions if s.period == 2)
    for session in sessions:
        readings = list(session.readings.order_by("position"))
        assert [r.practice for r in readings] == [True, True] + [False] * 6
        assert [r.position for r in readings] == list(range(8))
    orders = [
        [r.exam_id for r in s.readings.order_by("position") if not r.practice]
        for s in sessions.filter(period=1)
    ]
    assert orders[0] != orders[1] or len(orders[0]) < 3  # each reader their own order
    with pytest.raises(ReaderStudyError, match="is open for reading already"):
        reader_study_open(study=study)


@pytest.mark.django_db
def test_a_study_without_both_truths_or_readers_cannot_open():
    study = designed_study(malignant=0, benign=3, opened=False)
    with pytest.raises(ReaderStudyError, match=r"at least one malignant and one benign .*0 malig"):
        reader_study_open(study=study)
    assert ReaderStudy.objects.get(pk=study.pk).state == "draft"


def _same_design(study: ReaderStudy, **changes) -> dict:
    form = ReaderStudyForm.for_study(study)
    kwargs = {
        name: form.initial[name]
        for name in (
            "name", "description", "design", "washout_days", "seed", "ask_orads", "ask_comment",
            "clinical_without_ai", "clinical_with_ai", "allow_going_back", "readers",
        )
    }  # fmt: skip
    kwargs["cases"] = [c.exam for c in study.cases.filter(practice=False)]
    kwargs["practice_cases"] = [c.exam for c in study.cases.filter(practice=True)]
    return {**kwargs, **changes}


@pytest.mark.django_db
def test_an_open_study_is_edited_until_reading_starts_then_locked_with_a_reason():
    reader = UserFactory(role=Role.RADIOLOGIST)
    study = designed_study(readers=[reader])
    reader_study_update(study=study, **_same_design(study, design="crossover", washout_days=0))
    study.refresh_from_db()
    assert study.design == "crossover"
    assert study.sessions.count() == 4  # rebuilt for the new design

    session = study.sessions.get(arm="with_ai", period=1)
    reading_next(session=session)
    study.refresh_from_db()
    assert study.reading_started_at is not None
    with pytest.raises(ReaderStudyError, match="cannot be changed: reading started on .* UTC"):
        reader_study_update(study=study, **_same_design(study, washout_days=14))
    assert ReaderStudy.objects.get(pk=study.pk).washout_days == 0


@pytest.mark.django_db
def test_closing_stops_the_study_and_experience_changes_at_any_time():
    study = designed_study()
    reader_study_close(study=study)
    study.refresh_from_db()
    assert study.state == "closed" and study.closed_at is not None
    with pytest.raises(ReaderStudyError, match="only an open study can be closed"):
        reader_study_close(study=study)
    participant = study.readers.get()
    reader_study_reader_update(
        participant=participant, experience_years=12, specialty="gynaecological_ultrasound"
    )
    participant.refresh_from_db()
    assert (participant.experience_years, participant.specialty) == (
        12,
        "gynaecological_ultrasound",
    )
    with pytest.raises(ReaderStudyError, match="unknown specialty"):
        reader_study_reader_update(participant=participant, experience_years=1, specialty="x")


# ---- choosing the cases (the form) ----


def _form_data(**fields) -> dict:
    data = {
        "name": "Form study",
        "design": "sequential",
        "washout_days": 28,
        "seed": 11,
        "readers": [],
        "practice_count": 0,
        "clinical_without_ai": ["age"],
        "clinical_with_ai": ["age", "ca125"],
    }
    data.update(fields)
    return data


@pytest.mark.django_db
def test_cases_are_drawn_from_external_centres_with_a_seed_and_practice_from_the_rest():
    reader = UserFactory(role=Role.RADIOLOGIST)
    external = CenterFactory(code="EXT", is_internal=False)
    internal = CenterFactory(code="INT", is_internal=True)
    ext_exams = case_exams(4, 4, center=external)
    case_exams(2, 2, center=internal)
    exam_with_images(outcome=None, center=external)  # no truth: never drawn
    form = ReaderStudyForm(
        _form_data(readers=[reader.pk], external_only="on", case_count=5, practice_count=2)
    )
    assert form.is_valid(), form.errors
    cases, practice = form.cleaned_data["cases"], form.cleaned_data["practice_cases"]
    assert len(cases) == 5 and {e.pk for e in cases} <= {e.pk for e in ext_exams}
    assert len(practice) == 2 and not {e.pk for e in practice} & {e.pk for e in cases}
    again = ReaderStudyForm(
        _form_data(readers=[reader.pk], external_only="on", case_count=5, practice_count=2)
    )
    assert again.is_valid() and again.cleaned_data["cases"] == cases  # the seed decides


@pytest.mark.django_db
def test_cases_by_exam_id_or_accession_name_what_is_not_found():
    reader = UserFactory(role=Role.RADIOLOGIST)
    exams = case_exams(1, 1)
    exams[1].accession_key = accession_key("ACC-77")
    exams[1].save(update_fields=["accession_key"])
    form = ReaderStudyForm(
        _form_data(readers=[reader.pk], exam_ids=f"{exams[0].pk}, 999999 x1", accessions="ACC-9")
    )
    assert not form.is_valid()
    assert "not exam IDs (whole numbers): x1" in str(form.errors["exam_ids"])
    assert "no exam with accession number ACC-9" in str(form.errors["accessions"])
    form = ReaderStudyForm(
        _form_data(readers=[reader.pk], exam_ids=str(exams[0].pk), accessions="ACC-77\n")
    )
    assert form.is_valid(), form.errors
    assert [e.pk for e in form.cleaned_data["cases"]] == [exams[0].pk, exams[1].pk]


# ---- the coordinator's pages ----


@pytest.mark.django_db
def test_a_coordinator_creates_opens_and_follows_a_study_through_the_pages(client_for):
    client = client_for(Role.COORDINATOR)
    reader = UserFactory(role=Role.RADIOLOGIST, username="dr_reader")
    exams = case_exams(2, 2)
    response = client.post(
        reverse("studies:study_create"),
        _form_data(
            readers=[reader.pk],
            exam_ids="\n".join(str(e.pk) for e in exams),
            ask_orads="on",
        ),
    )
    study = ReaderStudy.objects.get(name="Form study")
    assert response.status_code == 302 and response.url == reverse(
        "studies:study_detail", args=[study.pk]
    )
    assert study.ask_orads and study.clinical_data("without_ai") == ("age",)
    assert client.post(reverse("studies:study_open", args=[study.pk])).status_code == 302
    page = client.get(reverse("studies:study_detail", args=[study.pk])).content.decode()
    assert "dr_reader" in page and "0/4" in page
    assert reverse("studies:designed_results", kwargs={"pk": study.pk}) in page
    listing = client.get(reverse("studies:study_list")).content.decode()
    assert "Form study" in listing
    progress = client.get(reverse("designed-study-progress", args=[study.pk])).json()
    assert progress["arms"]["without_ai"] == {
        "label": "without AI",
        "done": 0,
        "total": 4,
        "median_seconds": None,
    }
    client.post(
        reverse("studies:study_reader_edit", args=[study.pk, reader.pk]),
        {f"r{reader.pk}-experience_years": "9", f"r{reader.pk}-specialty": "general_radiology"},
    )
    assert study.readers.get().experience_years == 9


@pytest.mark.django_db
def test_the_edit_page_of_a_locked_study_says_why_and_refuses_the_change(client_for):
    study = designed_study()
    reading_next(session=study.sessions.get(period=1))
    client = client_for(Role.COORDINATOR)
    page = client.get(reverse("studies:study_edit", args=[study.pk])).content.decode()
    assert "This study cannot be changed: reading started on" in page
    data = _form_data(
        name=study.name,
        readers=[study.readers.get().reader_id],
        exam_ids=" ".join(str(c.exam_id) for c in study.cases.filter(practice=False)),
    )
    response = client.post(reverse("studies:study_edit", args=[study.pk]), data)
    assert response.status_code == 200
    assert "cannot be changed: reading started" in response.content.decode()
    assert ReaderStudy.objects.get(pk=study.pk).seed == 7


# ---- the bridge to the results ----


def _answer(session, malignant_cases: set[int]):
    session.refresh_from_db()  # the first period's end sets the second's availability
    while (reading := reading_next(session=session)) is not None:
        said = reading.exam_id in malignant_cases
        reading_submit(
            reading=reading,
            answers={"malignant": said, "confidence": 80 if said else 20},
            active_seconds_delta=3,
        )


@pytest.mark.django_db
def test_the_designed_source_has_both_arms_without_practice_and_the_ai_alone():
    readers = [UserFactory(role=Role.RADIOLOGIST, username=f"reader{i}") for i in (1, 2)]
    study = designed_study(readers=readers, malignant=2, benign=2, practice=1, washout_days=0)
    cases = list(study.cases.filter(practice=False).select_related("exam__pathology"))
    malignant = {c.exam_id for c in cases if c.exam.pathology.outcome == "malignant"}
    ensemble = ensemble_make(threshold=0.5)
    scored = cases[0].exam
    exam_result_make(
        exam=scored, images=list(scored.images.all()), probabilities=[0.9], ensemble=ensemble
    )

    for session in study.sessions.order_by("period"):
        _answer(session, malignant)

    source = designed_study_source(study)
    assert source.title == study.name and source.reference_modality == "without AI"
    assert len(source.readings) == 2 * 2 * 4  # readers × arms × cases; practice left out
    assert {r.modality for r in source.readings} == {"without AI", "with AI"}
    assert {r.reader for r in source.readings} == {"reader1", "reader2"}
    assert {r.case for r in source.readings} == {str(c.exam_id) for c in cases}
    for reading in source.readings:
        assert reading.truth == int(int(reading.case) in malignant)
        assert reading.decision == reading.truth and reading.rating in (80.0, 20.0)
        assert 0 <= reading.seconds <= 3
    assert list(source.ai_by_case) == [str(scored.pk)]
    score, decision = source.ai_by_case[str(scored.pk)]
    assert decision == 1 and score == pytest.approx(-math.log(0.1))
    assert CaseReading.objects.filter(practice=True, answered_at__isnull=False).count() == 4


@pytest.mark.django_db
def test_the_results_page_reads_the_designed_source(client_for):
    readers = [UserFactory(role=Role.RADIOLOGIST) for _ in range(2)]
    study = designed_study(readers=readers, malignant=3, benign=3, practice=0, washout_days=0)
    malignant = {
        c.exam_id for c in study.cases.select_related("exam__pathology")
        if c.exam.pathology.outcome == "malignant"
    }  # fmt: skip
    for session in study.sessions.order_by("period"):
        _answer(session, malignant)
    response = client_for(Role.COORDINATOR).get(
        reverse("designed-study-results", kwargs={"pk": study.pk})
    )
    assert response.status_code == 200, response.content
    assert {row["modality"] for row in response.json()["readers"]} == {"without AI", "with AI"}


def test_arm_labels_are_the_results_modalities():
    assert (Arm.WITHOUT_AI.label, Arm.WITH_AI.label) == ("without AI", "with AI")


@pytest.mark.django_db
def test_centres_filter_keeps_only_their_exams():
    reader = UserFactory(role=Role.RADIOLOGIST)
    center = CenterFactory(code="ONE")
    mine = case_exams(1, 1, center=center)
    case_exams(1, 1)
    form = ReaderStudyForm(_form_data(readers=[reader.pk], centers=["ONE"]))
    assert form.is_valid(), form.errors
    assert {e.pk for e in form.cleaned_data["cases"]} == {e.pk for e in mine}
    assert Center.objects.count() >= 2


# ---- the demo ----


@pytest.mark.django_db
def test_the_demo_has_a_designed_study_read_by_simulated_readers_and_open_to_the_radiologist(
    settings, tmp_path
):
    from annotation.demo import demo_data_generate
    from studies.demo import DESIGNED_DEMO_STUDY

    settings.DEMO_DATA_DIR = tmp_path / "demo"
    trainee = UserFactory(username="radiologist", role=Role.RADIOLOGIST)
    demo_data_generate(patients=40, seed=15)
    study = ReaderStudy.objects.get(name=DESIGNED_DEMO_STUDY)
    assert study.state == "open" and study.washout_days == 0
    cases = study.cases.filter(practice=False).select_related("exam__center", "exam__pathology")
    assert all(not case.exam.center.is_internal for case in cases)
    simulated = study.sessions.exclude(reader=trainee)
    assert simulated.count() == 2 * study.readers.exclude(reader=trainee).count() > 0
    assert all(session.finished_at for session in simulated)
    assert study.readers.exclude(reader=trainee).filter(experience_years__isnull=False).exists()
    own = study.sessions.get(reader=trainee, arm="without_ai")
    assert reading_next(session=own) is not None  # the demo radiologist can start now
    source = designed_study_source(study)
    assert {r.modality for r in source.readings} == {"without AI", "with AI"}
    demo_data_generate(patients=40, seed=15)  # a second run adds nothing
    assert ReaderStudy.objects.filter(name=DESIGNED_DEMO_STUDY).count() == 1
