"""The access log: an entry for each opening of identified data, search by hospital ID,
DICOM export with real identifiers and export download; append-only, even for administrators."""

import csv
import io

import numpy as np
import pytest
from django.db import connection, transaction
from django.db.models import ProtectedError
from django.db.utils import DatabaseError
from django.urls import reverse

from annotation import services
from annotation.labelling.sets import annotation_set_create
from annotation.models import ImageSource
from base.models import AccessAction, AccessLogEntry, AccessLogError
from base.roles import Role
from tests import image_factories, labelling_factories
from tests.factories import ExamFactory, UserFactory
from tests.inference_tests.test_dicom_export import dicom_exam  # noqa: F401  (fixture)
from tests.studies_tests.perm_results import objects as study_objects

pytestmark = pytest.mark.django_db

R, CO, CL, A = Role.RADIOLOGIST, Role.COORDINATOR, Role.CLINICIAN, Role.ADMINISTRATOR
HOSPITAL_ID = "MRN-0042"


@pytest.fixture
def patient():
    patient = services.patient_get_or_create(hospital_id=HOSPITAL_ID, birth_year=1970)
    ExamFactory(patient=patient)
    return patient


def entries(**filters):
    return list(AccessLogEntry.objects.filter(**filters).order_by("pk"))


def no_identifier_kept():
    for entry in AccessLogEntry.objects.all():
        assert HOSPITAL_ID not in f"{entry.target} {entry.path}"


def test_opening_identified_data_is_logged_for_those_who_see_it(client_for, patient):
    client = client_for(CL)
    response = client.get(reverse("annotation:patient_detail", args=[patient.pk]))
    assert HOSPITAL_ID in response.content.decode()
    [entry] = entries()
    assert (entry.action, entry.patient_id) == (AccessAction.IDENTIFIERS_VIEWED, patient.pk)
    assert entry.username == response.wsgi_request.user.username
    assert entry.ip_address == "127.0.0.1"
    # A coordinator sees the patient without identifiers: nothing identified was opened.
    client_for(CO).get(reverse("annotation:patient_detail", args=[patient.pk]))
    assert len(entries()) == 1


def test_searches_by_hospital_id_are_logged_without_the_id(client_for, patient):
    client = client_for(CL)
    client.post(reverse("annotation:patient_find"), {"hospital_id": HOSPITAL_ID})
    client.post(reverse("annotation:patient_find"), {"hospital_id": "MRN-NOBODY"})
    client.post(reverse("inference:worklist_search"), {"hospital_id": HOSPITAL_ID})
    found, missed, worklist = entries(action=AccessAction.HOSPITAL_ID_SEARCHED)
    assert (found.patient_id, found.target) == (patient.pk, "found")
    assert (missed.patient_id, missed.target) == (None, "not found")
    assert worklist.patient_id == patient.pk
    no_identifier_kept()


def test_dicom_with_real_identifiers_is_logged_and_pseudonymous_dicom_is_not(
    client_for,
    dicom_exam,  # noqa: F811
):
    exam, _, _ = dicom_exam
    url = reverse("inference:report_dicom", args=[exam.pk, "sr"])
    assert client_for(CO).get(url).status_code == 200  # pseudonymous for coordinators
    assert entries() == []
    assert client_for(CL).get(url).status_code == 200
    [entry] = entries()
    assert entry.action == AccessAction.DICOM_EXPORTED_IDENTIFIED
    assert entry.patient_id == exam.patient_id
    assert entry.target == f"exam-{exam.pk}-ai-report-sr.dcm"


def test_export_downloads_are_logged(client_for):
    reader = UserFactory(role=R)
    image_factories.image_store(
        exam=ExamFactory(),
        pixels=np.zeros((8, 8), dtype=np.uint8),
        source=ImageSource.PNG,
        color_model="MONOCHROME2",
    )
    annotation_set = annotation_set_create(name="log", readers=[reader], size=1, seed=1)
    labelling_factories.label_next(annotation_set=annotation_set, reader=reader)
    study = study_objects({})["imported_study"]
    client = client_for(CO)
    page = reverse("annotation:set_export", args=[annotation_set.pk, "labels", "csv"])
    api = reverse("annotation-set-export", args=[annotation_set.pk, "consensus"])
    results = reverse("studies:imported_results_download", args=[study.pk, "table"])
    assert client.get(page).status_code == 200
    assert client.get(api).status_code == 200
    assert client.get(results).status_code == 200
    targets = [e.target for e in entries(action=AccessAction.EXPORT_DOWNLOADED)]
    assert targets == [
        f"set-{annotation_set.pk}-labels.csv",
        f"set-{annotation_set.pk}-consensus (API)",
        f"reader study {study.pk} table",
    ]
    # A refused export is not a download.
    client.get(reverse("annotation:set_export", args=[annotation_set.pk, "nothing", "csv"]))
    assert len(entries()) == 3


def test_entries_cannot_be_changed_or_removed_through_the_models(client_for, patient):
    client_for(CL).get(reverse("annotation:patient_detail", args=[patient.pk]))
    entry = AccessLogEntry.objects.get()
    entry.target = "tampered"
    with pytest.raises(AccessLogError):
        entry.save()
    with pytest.raises(AccessLogError):
        entry.delete()
    with pytest.raises(AccessLogError):
        AccessLogEntry.objects.filter(pk=entry.pk).update(target="tampered")
    with pytest.raises(AccessLogError):
        AccessLogEntry.objects.all().delete()
    entry.refresh_from_db()
    assert entry.target == ""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_postgresql_refuses_changes_even_in_sql(client_for, patient):
    client_for(CL).get(reverse("annotation:patient_detail", args=[patient.pk]))
    table = AccessLogEntry._meta.db_table
    for statement in (f"UPDATE {table} SET target = 'x'", f"DELETE FROM {table}"):  # noqa: S608
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)
    assert AccessLogEntry.objects.count() == 1


def test_the_admin_shows_the_log_read_only(client_for, patient):
    client_for(CL).get(reverse("annotation:patient_detail", args=[patient.pk]))
    entry = AccessLogEntry.objects.get()
    admin = client_for(A)
    changelist = reverse("admin:ovarian_web_accesslogentry_changelist")
    assert admin.get(changelist).status_code == 200
    assert admin.get(reverse("admin:ovarian_web_accesslogentry_add")).status_code == 403
    change = reverse("admin:ovarian_web_accesslogentry_change", args=[entry.pk])
    assert admin.get(change).status_code == 200  # view only
    assert admin.post(change, {"target": "tampered", "username": "x"}).status_code == 403
    delete = reverse("admin:ovarian_web_accesslogentry_delete", args=[entry.pk])
    assert admin.post(delete, {"post": "yes"}).status_code == 403
    response = admin.post(
        changelist, {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302)
    entry.refresh_from_db()
    assert entry.target == ""


def test_a_user_with_entries_cannot_be_deleted(client_for, patient):
    client = client_for(CL)
    client.get(reverse("annotation:patient_detail", args=[patient.pk]))
    user = AccessLogEntry.objects.get().user
    with pytest.raises(ProtectedError):
        user.delete()


def test_the_page_filters_and_exports_csv(client_for, patient):
    clinician = client_for(CL)
    clinician.get(reverse("annotation:patient_detail", args=[patient.pk]))
    clinician.post(reverse("annotation:patient_find"), {"hospital_id": HOSPITAL_ID})
    admin = client_for(A)
    page = admin.get(reverse("access_log"), {"action": AccessAction.HOSPITAL_ID_SEARCHED})
    assert page.status_code == 200
    assert [e.action for e in page.context["page"]] == [AccessAction.HOSPITAL_ID_SEARCHED]
    backwards = {"since": "2030-01-02", "until": "2030-01-01"}
    assert admin.get(reverse("access_log"), backwards).status_code == 400
    response = admin.get(reverse("access_log_export"), {"patient_id": patient.pk})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert sorted(row["action"] for row in rows) == [
        AccessAction.HOSPITAL_ID_SEARCHED,
        AccessAction.IDENTIFIERS_VIEWED,
    ]
    # The export is itself logged.
    [exported] = entries(action=AccessAction.ACCESS_LOG_EXPORTED)
    assert exported.username == page.wsgi_request.user.username
    assert client_for(CL).get(reverse("access_log")).status_code == 403
