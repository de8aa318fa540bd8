"""The clinician's exam report, sign-off, disagreements and the results API."""

import datetime

import numpy as np
import pytest
from django.urls import reverse

from annotation import services
from annotation.models import ImageSource
from base.models import JobStatus
from base.roles import Role
from inference.models import (
    ClinicianReview,
    ExamResult,
    InferenceJob,
    ResultStatus,
)
from inference.reports import exam_report, image_contributions
from tests import image_factories
from tests.factories import ExamFactory, PatientFactory
from tests.inference_tests.factories import ensemble_make, exam_result_make

pytestmark = pytest.mark.django_db

R, CO, CL, A = Role.RADIOLOGIST, Role.COORDINATOR, Role.CLINICIAN, Role.ADMINISTRATOR


def exam_images(exam, count, **fields):
    images = []
    for index in range(count):
        pixels = np.full((24, 32), 40 + index, dtype=np.uint8)
        image, _ = image_factories.image_store(
            exam=exam, pixels=pixels, source=ImageSource.PNG, color_model="MONOCHROME2", **fields
        )
        images.append(image)
    return images


def scored_exam(probabilities=(0.2, 0.9, 0.5), ensemble=None, **exam_fields):
    """A complete exam with one image per probability, scored by `ensemble`."""
    exam = ExamFactory(acquisition_completed_at=datetime.datetime.now(datetime.UTC), **exam_fields)
    images = exam_images(exam, len(probabilities))
    result = exam_result_make(
        exam=exam, images=images, probabilities=list(probabilities), ensemble=ensemble
    )
    return exam, images, result


def not_scorable_result(exam, ensemble, images):
    return ExamResult.objects.create(
        exam=exam,
        ensemble=ensemble,
        status=ResultStatus.NOT_SCORABLE,
        reason="no adnexal image with a lesion",
        left_out=[{"image_id": image.pk, "reason": "not_adnexal"} for image in images],
    )


def test_the_report_shows_what_a_clinician_needs(client_for):
    exam, images, result = scored_exam((0.2, 0.9, 0.5))
    services.ca125_set(
        patient=exam.patient, exam=exam, value_u_per_ml=87.5, measured_on=exam.exam_date
    )
    page = client_for(CL).get(reverse("inference:report", args=[exam.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    ensemble = result.ensemble
    assert exam.patient.short_pseudonym in html
    assert "54 years" in html  # born 1970, exam 2024
    assert "87.5 U/mL" in html
    assert "2024-03-11" in html
    assert f"Θ = {result.score:.3f}" in html
    assert "Suspicious for malignancy" in html  # Θ ≈ 1.07 ≥ 0.5
    assert "sensitivity 90%" in html and "specificity 80%" in html
    assert "cleared 80.0% of benign exams" in html
    assert ensemble.resnet.label in html and ensemble.darknet.label in html
    assert "Decision aid" in html
    assert 'id="heatmap-toggle"' in html and 'id="heatmap-opacity"' in html
    assert html.count('class="heatmap resnet"') == html.count('class="heatmap darknet"') == 3
    assert 'id="heatmap-model"' in html
    # The image that drove the score comes first.
    order = [html.index(f'data-image="{image.pk}"') for image in images]
    assert order[1] < order[2] < order[0]
    assert 'class="score-chart"' in html
    assert "report.css" in html


def test_shares_of_the_score_add_up_and_mark_the_images_that_drove_it():
    _, images, result = scored_exam((0.05, 0.95, 0.1))
    entries = image_contributions(result)
    assert [entry["image_id"] for entry in entries][0] == images[1].pk
    assert sum(entry["share"] for entry in entries) == pytest.approx(1.0)
    assert [entry["drove"] for entry in entries] == [True, False, False]
    total = sum(entry["contribution"] for entry in entries) / len(entries)
    assert total == pytest.approx(result.score)


def test_the_print_layout_hides_the_screen_furniture():
    from django.contrib.staticfiles import finders

    css = open(finders.find("inference/report.css")).read()
    assert "@media print" in css
    assert ".topbar, footer, .no-print" in css


def test_earlier_exams_appear_on_the_timeline_with_their_scores(client_for):
    ensemble = ensemble_make()
    patient = PatientFactory()
    earlier, _, first = scored_exam(
        (0.1,), ensemble=ensemble, patient=patient, exam_date=datetime.date(2022, 5, 1)
    )
    ExamFactory(patient=patient, exam_date=datetime.date(2023, 1, 1))  # never scored
    exam, _, latest = scored_exam(
        (0.8,), ensemble=ensemble, patient=patient, exam_date=datetime.date(2024, 2, 1)
    )
    ExamFactory(patient=patient, exam_date=datetime.date(2025, 1, 1))  # later: not shown
    report = exam_report(exam_id=exam.pk)
    points = report.timeline["points"]
    assert [p["score"] for p in points] == [first.score, None, latest.score]
    assert [p["current"] for p in points] == [False, False, True]
    assert points[0]["decision"] == "benign" and points[2]["decision"] == "malignant"
    assert [tick["year"] for tick in report.timeline["years"]] == [2023, 2024]
    html = client_for(CL).get(reverse("inference:report", args=[exam.pk])).content.decode()
    assert html.count('class="point') == 3
    assert f"Θ = {first.score:.3f}" in html


def test_an_exam_without_usable_images_gets_a_clear_not_scorable_page(client_for):
    ensemble = ensemble_make()
    exam = ExamFactory()
    images = exam_images(exam, 2)
    not_scorable_result(exam, ensemble, images)
    page = client_for(CL).get(reverse("inference:report", args=[exam.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="not-scorable"' in html
    assert "no adnexal image with a lesion" in html
    assert html.count("Not an adnexal image") == 2
    assert "Suspicious" not in html and "Not flagged" not in html
    assert 'id="score-now"' not in html


def test_an_exam_with_no_images_at_all_is_not_an_error(client_for):
    ensemble = ensemble_make()
    exam = ExamFactory()
    ExamResult.objects.create(
        exam=exam, ensemble=ensemble, status=ResultStatus.NOT_SCORABLE, reason="no images"
    )
    for name in ("inference:report",):
        assert client_for(CL).get(reverse(name, args=[exam.pk])).status_code == 200
    body = client_for(CL).get(reverse("ai-exam-result", args=[exam.pk])).json()
    assert body["status"] == "not_scorable" and body["result"]["score"] is None


def test_without_a_result_the_report_says_why_and_offers_to_score(client_for):
    ensemble = ensemble_make()
    arriving = ExamFactory()
    exam_images(arriving, 1)
    html = client_for(CL).get(reverse("inference:report", args=[arriving.pk])).content.decode()
    assert "Images are still arriving" in html
    assert 'id="score-now"' in html
    client = client_for(CL)
    response = client.post(reverse("inference:report_score", args=[arriving.pk]))
    assert response.status_code == 302
    job = InferenceJob.objects.get()
    assert (job.exam_ids, job.ensemble, job.automatic) == ([arriving.pk], ensemble, False)
    html = client.get(reverse("inference:report", args=[arriving.pk])).content.decode()
    assert f"Scoring job #{job.pk} is at work" in html
    assert 'id="score-now"' not in html
    # Asking again while it works reuses the job.
    client.post(reverse("inference:report_score", args=[arriving.pk]))
    assert InferenceJob.objects.count() == 1


def test_score_now_without_a_model_in_service_explains(client_for):
    exam = ExamFactory()
    client = client_for(CL)
    response = client.post(reverse("inference:report_score", args=[exam.pk]), follow=True)
    assert "Cannot score this exam" in response.content.decode()
    assert "No model ensemble is in service" in response.content.decode()
    assert not InferenceJob.objects.exists()


def test_results_of_two_model_versions_are_never_mixed(client_for):
    old = ensemble_make(in_service=False)
    current = ensemble_make()
    patient = PatientFactory()
    prior, _, prior_old = scored_exam(
        (0.9,), ensemble=old, patient=patient, exam_date=datetime.date(2023, 1, 1)
    )
    exam, images, mine = scored_exam(
        (0.1, 0.2), ensemble=current, patient=patient, exam_date=datetime.date(2024, 1, 1)
    )
    theirs = exam_result_make(exam=exam, images=images, probabilities=[0.9, 0.95], ensemble=old)
    report = exam_report(exam_id=exam.pk)
    assert report.result == mine and report.in_service
    # The prior exam has only the old model's score: on this chart it has none.
    assert [p["score"] for p in report.timeline["points"]] == [None, mine.score]
    assert {e["resnet_probability"] for e in report.images} == {0.1, 0.2}
    client = client_for(CL)
    html = client.get(reverse("inference:report", args=[exam.pk])).content.decode()
    assert f"{theirs.score:.3f}" not in html
    assert f"?ensemble={old.pk}" in html  # offered explicitly, as another model's result
    chosen = client.get(reverse("inference:report", args=[exam.pk]), {"ensemble": old.pk})
    html = chosen.content.decode()
    assert f"Θ = {theirs.score:.3f}" in html and f"Θ = {mine.score:.3f}" not in html
    assert f"ensemble {old.pk} as asked" in html
    assert f"Θ = {prior_old.score:.3f}" in html  # the old model's own history
    assert (
        client.get(reverse("inference:report", args=[exam.pk]), {"ensemble": 999999}).status_code
        == 404
    )
    api = client.get(reverse("ai-exam-result", args=[exam.pk])).json()
    assert api["result"]["ensemble"]["id"] == current.pk
    assert {round(i["probability"], 3) for i in api["images"]} == {0.1, 0.2}


def test_only_roles_allowed_to_see_results_get_them(client_for):
    exam, _, _ = scored_exam()
    urls = [
        reverse("inference:report", args=[exam.pk]),
        reverse("inference:report_dicom", args=[exam.pk, "heatmap"]),
        reverse("ai-exam-result", args=[exam.pk]),
        reverse("ai-result-list"),
        reverse("inference:worklist"),
    ]
    radiologist = client_for(R)
    for url in urls:
        assert radiologist.get(url).status_code == 403, url
    response = radiologist.post(
        reverse("ai-scoring-submit"), {"exam_ids": [exam.pk]}, content_type="application/json"
    )
    assert response.status_code == 403
    clinician = client_for(CL)
    for url in urls:
        assert clinician.get(url).status_code == 200, url


def test_a_clinician_cannot_see_the_annotation_screens(client_for):
    clinician = client_for(CL)
    for name in ("annotation:labelling_list", "annotation:image_list", "annotation:set_list"):
        assert clinician.get(reverse(name)).status_code == 403, name
    assert clinician.get(reverse("labelling-sets")).status_code == 403


def test_hidden_images_stay_hidden_in_the_report(client_for):
    exam, images, _ = scored_exam((0.3, 0.4))
    images[0].hidden = True
    images[0].save(update_fields=["hidden"])
    html = client_for(CL).get(reverse("inference:report", args=[exam.pk])).content.decode()
    assert reverse("annotation:image_file", args=[images[0].pk]) not in html
    assert "Image hidden" in html
    html = client_for(A).get(reverse("inference:report", args=[exam.pk])).content.decode()
    assert reverse("annotation:image_file", args=[images[0].pk]) in html


def test_the_report_makes_a_fixed_number_of_queries(client_for, django_assert_max_num_queries):
    small, _, _ = scored_exam((0.2,))
    large, _, _ = scored_exam((0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8), ensemble=small_ensemble())
    client = client_for(CL)
    with django_assert_max_num_queries(30) as small_queries:
        client.get(reverse("inference:report", args=[small.pk]))
    with django_assert_max_num_queries(len(small_queries) + 0):
        client.get(reverse("inference:report", args=[large.pk]))


def small_ensemble():
    from inference.models import Ensemble

    return Ensemble.objects.get(in_service=True)


# --- Sign-off and disagreements ------------------------------------------------------------


def test_a_clinician_signs_off_and_later_records_the_final_diagnosis(client_for):
    exam, _, result = scored_exam((0.9,))
    client = client_for(CL)
    url = reverse("inference:report_review", args=[exam.pk])
    assert client.post(url, {"agreement": "agree", "comment": "solid part"}).status_code == 302
    review = ClinicianReview.objects.get()
    assert (review.result, review.agreement, review.final_diagnosis) == (result, "agree", "")
    client.post(
        url, {"agreement": "agree", "comment": "solid part", "final_diagnosis": "malignant"}
    )
    review = ClinicianReview.objects.get()
    assert (review.agreement, review.final_diagnosis) == ("agree", "malignant")
    html = client.get(reverse("inference:report", args=[exam.pk])).content.decode()
    assert "Update my review" in html and "solid part" in html


def test_a_review_needs_an_answer_and_a_scored_result(client_for):
    exam, _, _ = scored_exam((0.9,))
    client = client_for(CL)
    response = client.post(reverse("inference:report_review", args=[exam.pk]), {"agreement": "?"})
    assert response.status_code == 400
    ensemble = small_ensemble()
    empty = ExamFactory()
    not_scorable_result(empty, ensemble, [])
    client.post(reverse("inference:report_review", args=[empty.pk]), {"agreement": "agree"})
    assert not ClinicianReview.objects.exists()


def test_coordinators_read_reports_but_do_not_sign_off(client_for):
    exam, _, _ = scored_exam((0.9,))
    client = client_for(CO)
    html = client.get(reverse("inference:report", args=[exam.pk])).content.decode()
    assert "Record my review" not in html
    response = client.post(
        reverse("inference:report_review", args=[exam.pk]), {"agreement": "agree"}
    )
    assert response.status_code == 403


def test_disagreements_are_listed_for_the_coordinator(make_user, client_for):
    flagged, _, flagged_result = scored_exam((0.9,))  # AI: malignant
    cleared, _, cleared_result = scored_exam((0.05,), ensemble=small_ensemble())  # AI: benign
    agreed, _, agreed_result = scored_exam((0.95,), ensemble=small_ensemble())
    clinician = make_user(CL)
    ClinicianReview.objects.create(
        result=flagged_result, clinician=clinician, agreement="disagree", comment="simple cyst"
    )
    ClinicianReview.objects.create(
        result=cleared_result, clinician=clinician, agreement="agree", final_diagnosis="malignant"
    )
    ClinicianReview.objects.create(
        result=agreed_result, clinician=clinician, agreement="agree", final_diagnosis="malignant"
    )
    html = client_for(CO).get(reverse("inference:disagreements")).content.decode()
    assert "simple cyst" in html
    assert f'href="/ai/exams/{flagged.pk}/report/"' in html
    assert f'href="/ai/exams/{cleared.pk}/report/"' in html
    assert f'href="/ai/exams/{agreed.pk}/report/"' not in html
    assert client_for(CL).get(reverse("inference:disagreements")).status_code == 403


# --- The API -------------------------------------------------------------------------------


def test_the_api_gives_scores_decision_and_signed_heatmaps(client_for):
    exam, images, result = scored_exam((0.2, 0.9))
    client = client_for(CL)
    body = client.get(reverse("ai-exam-result", args=[exam.pk])).json()
    assert body["status"] == "scored" and body["job_id"] is None
    assert body["result"]["score"] == pytest.approx(result.score)
    assert body["result"]["decision"] == "malignant"
    assert body["result"]["threshold"] == 0.5
    assert body["result"]["ensemble"]["sensitivity"] == 0.9
    assert [i["image_id"] for i in body["images"]] == [images[1].pk, images[0].pk]
    assert body["images"][0]["resnet_probability"] == 0.9
    heatmap = body["images"][0]["heatmap_url"]
    assert heatmap.startswith("http://testserver/ai/heatmaps/")
    response = client.get(heatmap)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "Decision aid" in body["notice"]
    listing = client.get(reverse("ai-result-list")).json()
    assert listing["count"] == 1
    assert listing["results"][0]["exam_id"] == exam.pk


def test_the_result_list_filters_by_centre_date_and_status(client_for):
    first, _, _ = scored_exam((0.2,), exam_date=datetime.date(2024, 1, 5))
    ensemble = small_ensemble()
    second, _, _ = scored_exam((0.2,), ensemble=ensemble, exam_date=datetime.date(2024, 6, 5))
    third = ExamFactory(exam_date=datetime.date(2024, 7, 1))
    not_scorable_result(third, ensemble, [])
    client = client_for(CO)

    def ids(**params):
        return [
            row["exam_id"]
            for row in client.get(reverse("ai-result-list"), params).json()["results"]
        ]

    assert ids() == [third.pk, second.pk, first.pk]
    assert ids(center=first.center.code) == [first.pk]
    assert ids(date_from="2024-02-01", date_to="2024-06-30") == [second.pk]
    assert ids(status="not_scorable") == [third.pk]
    assert client.get(reverse("ai-result-list"), {"date_from": "soon"}).status_code == 400
    assert client.get(reverse("ai-result-list"), {"ensemble": "x"}).status_code == 400


def test_submitting_exams_for_scoring_answers_202_with_the_job(client_for):
    ensemble = ensemble_make()
    exams = [ExamFactory(), ExamFactory()]
    client = client_for(CO)
    url = reverse("ai-scoring-submit")
    response = client.post(
        url, {"exam_ids": [e.pk for e in exams]}, content_type="application/json"
    )
    assert response.status_code == 202
    job = InferenceJob.objects.get(pk=response.json()["job_id"])
    assert (sorted(job.exam_ids), job.ensemble) == (sorted(e.pk for e in exams), ensemble)
    assert job.created_by is not None
    again = client.post(
        url, {"exam_ids": [exams[1].pk, exams[0].pk]}, content_type="application/json"
    )
    assert again.json()["job_id"] == job.pk
    status = client.get(reverse("ai-scoring-job", args=[job.pk])).json()
    assert status["status"] == JobStatus.QUEUED
    body = client.get(reverse("ai-exam-result", args=[exams[0].pk])).json()
    assert (body["status"], body["job_id"], body["result"]) == ("scoring", job.pk, None)


@pytest.mark.parametrize(
    "payload",
    [{}, {"exam_ids": []}, {"exam_ids": "1"}, {"exam_ids": [0]}, {"exam_ids": ["x"]}],
)
def test_malformed_scoring_requests_are_refused(client_for, payload):
    ensemble_make()
    response = client_for(CL).post(
        reverse("ai-scoring-submit"), payload, content_type="application/json"
    )
    assert response.status_code == 400
    assert not InferenceJob.objects.exists()


def test_scoring_unknown_exams_or_without_a_model_is_refused_with_a_reason(client_for):
    exam = ExamFactory()
    client = client_for(CL)
    url = reverse("ai-scoring-submit")
    response = client.post(url, {"exam_ids": [exam.pk]}, content_type="application/json")
    assert response.status_code == 409
    assert "in service" in response.json()["detail"]
    ensemble_make()
    response = client.post(url, {"exam_ids": [exam.pk, 999999]}, content_type="application/json")
    assert response.status_code == 400
    assert "999999" in response.json()["detail"]
    assert not InferenceJob.objects.exists()


def test_a_completed_exam_is_queued_for_scoring_once_when_an_ensemble_is_in_service(
    django_capture_on_commit_callbacks,
):
    from inference.models import InferenceJob

    waiting = ExamFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.exam_mark_complete(exam_id=waiting.pk)
    assert not InferenceJob.objects.exists()  # no ensemble in service: nothing to score with

    ensemble = ensemble_make()
    exam = ExamFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.exam_mark_complete(exam_id=exam.pk)
        assert not services.exam_mark_complete(exam_id=exam.pk)  # complete once
    job = InferenceJob.objects.get()
    assert (job.exam_ids, job.ensemble, job.automatic) == ([exam.pk], ensemble, True)
