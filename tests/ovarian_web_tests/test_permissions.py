"""Every page and endpoint, for anonymous users and each role: allowed, or refused."""

import numpy as np
import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from annotation.imaging.links import PREFIX, file_link
from annotation.labelling.sets import annotation_set_create
from annotation.models import DemoDataJob, ImageFlag, ImageSource, ImportJob
from base.roles import Role
from tests import image_factories, labelling_factories
from tests.factories import ExamFactory, UserFactory
from tests.inference_tests import perm_report, perm_training
from tests.studies_tests import perm_reading, perm_results

AREAS = (perm_reading, perm_results, perm_training, perm_report)

R, CO, CL, A = Role.RADIOLOGIST, Role.COORDINATOR, Role.CLINICIAN, Role.ADMINISTRATOR
ALL = (R, CO, CL, A)
CLINICAL = (CO, CL, A)
SIGNED_IN = "any signed-in user"
# No session needed or used: a username and password in the body (without them, 400).
CREDENTIALS = "username and password"

# An allowed role may get 404 only on a route marked OBJECT_SCOPED (a fourth element): its
# object belongs to someone else (another radiologist's label, session or set). Anywhere
# else a 404 for an allowed role is a broken route.
OBJECT_SCOPED = "object-scoped"

# name -> (method, roles allowed, kwargs key[, OBJECT_SCOPED]). Kwargs are filled from the
# fixture objects.
MATRIX = {
    "home": ("get", ALL, None),
    "login": ("get", "anonymous too", None),
    "logout": ("post", SIGNED_IN, None),
    "password_change": ("get", SIGNED_IN, None),
    "password_change_done": ("get", SIGNED_IN, None),
    "login_code": ("get", "anonymous too", None),
    "two_factor": ("get", SIGNED_IN, None),
    "tokens": ("get", SIGNED_IN, None),
    # A token key is its owner's: anyone else's (or none) is 404.
    "token_revoke": ("post", SIGNED_IN, lambda o: {"key": "no-such-key"}, OBJECT_SCOPED),
    "access_log": ("get", (A,), None),
    "access_log_export": ("get", (A,), None),
    "api-token-create": ("post", CREDENTIALS, None),
    "api-token-revoke": ("post", SIGNED_IN, None),
    "annotation:exam_list": ("get", CLINICAL, None),
    "annotation:exam_detail": ("get", CLINICAL, "exam"),
    "annotation:patient_detail": ("get", CLINICAL, "patient"),
    "annotation:patient_find": ("get", (CL, A), None),
    "annotation:image_list": ("get", (R, CO, A), None),
    "annotation:image_detail": ("get", ALL, "image"),
    "annotation:image_file": ("get", ALL, "image"),
    "annotation:image_thumbnail": ("get", ALL, "image"),
    # The link is the permission (handed out by role-checked API calls): tests/annotation_tests/
    # test_image_links.py checks that a tampered or expired one is refused.
    "annotation:image_link_file": (
        "get",
        "anonymous too",
        lambda o: {"rest": file_link(o["image"].file.name)[len(PREFIX) :]},
    ),
    "annotation:overview": ("get", (CO, A), None),
    "annotation:job_list": ("get", (CO, A), None),
    "annotation:import_new": ("get", (CO, A), None),
    "annotation:clinical_upload": ("get", (CO, A), None),
    "annotation:patient_delete": ("get", (A,), "patient"),
    "annotation:import_detail": ("get", (CO, A), "import"),
    "annotation:demo_job_start": ("post", (A,), None),
    "annotation:demo_job_retry": ("post", (A,), "job"),
    "admin:index": ("get", (A,), None),
    "annotation:set_list": ("get", (CO, A), None),
    "annotation:set_detail": ("get", (CO, A), "set"),
    "annotation:set_progress": ("get", (CO, A), "set"),
    "annotation:set_agreement": ("get", (CO, A), "set"),
    "annotation:set_reader_remove": (
        "post",
        (CO, A),
        lambda o: {"pk": o["set"].pk, "reader_id": o["member"].pk},
    ),
    "annotation:set_export": (
        "get",
        (CO, A),
        lambda o: {"pk": o["set"].pk, "what": "labels", "fmt": "csv"},
    ),
    # Only the set's adjudicator; a radiologist who is not gets 403 (tested further down).
    "annotation:adjudication_queue": ("get", (), "set"),
    "annotation:adjudication_review": (
        "get",
        (),
        lambda o: {"pk": o["set"].pk, "item_id": o["item"].pk},
    ),
    "annotation:flag_list": ("get", (A,), None),
    "annotation:flag_resolve": ("post", (A,), "flag"),
    "annotation:labelling_list": ("get", (R,), None),
    # The labelling rows name another radiologist's set, label and image: 404 for one who
    # is not on the set (tests/annotation_tests cover the reader's own).
    "annotation:labelling_screen": ("get", (R,), lambda o: {"set_id": o["set"].pk}, OBJECT_SCOPED),
    "labelling-sets": ("get", (R,), None),
    "reader-study-results": ("get", (CO, A), lambda o: {"name": o["imported_study"].name}),
    "annotation-set-progress": ("get", (CO, A), lambda o: {"set_id": o["set"].pk}),
    "annotation-set-export": (
        "get",
        (CO, A),
        lambda o: {"set_id": o["set"].pk, "what": "consensus"},
    ),
    "labelling-next": ("post", (R,), lambda o: {"set_id": o["set"].pk}, OBJECT_SCOPED),
    "labelling-history": ("get", (R,), lambda o: {"set_id": o["set"].pk}, OBJECT_SCOPED),
    "labelling-label": ("get", (R,), "label", OBJECT_SCOPED),
    "labelling-submit": ("post", (R,), "label", OBJECT_SCOPED),
    "labelling-flag": ("post", (R,), lambda o: {"image_id": o["image"].pk}, OBJECT_SCOPED),
    "api-schema": ("get", SIGNED_IN, None),
    "api-docs": ("get", SIGNED_IN, None),
    "api-root": ("get", SIGNED_IN, None),
    "api-me": ("get", SIGNED_IN, None),
    "center-list": ("get", CLINICAL, None),
    "center-detail": ("get", CLINICAL, "center"),
    "exam-list": ("get", CLINICAL, None),
    "exam-detail": ("get", CLINICAL, "exam"),
    "image-list": ("get", ALL, None),
    "image-detail": ("get", ALL, "image"),
    "demo-data-job-list": ("get", (CO, A), None),
    "demo-data-job-detail": ("get", (CO, A), "job"),
    "import-list": ("get", (CO, A), None),
    "import-detail": ("get", (CO, A), "import"),
    "import-files": ("post", (CO, A), "import"),
    "import-start": ("post", (CO, A), "import"),
}
for _area in AREAS:
    assert not set(_area.MATRIX) & set(MATRIX), f"{_area.__name__} repeats a route"
    MATRIX.update(_area.MATRIX)


def _route_names(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            yield from _route_names(pattern.url_patterns, namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{prefix}{pattern.name}"


def test_every_named_route_is_in_the_matrix():
    names = {
        name
        for name in _route_names(get_resolver().url_patterns)
        if not name.startswith("admin:") or name == "admin:index"
    }
    # Format-suffix variants of the API routes share their base route's permission.
    names = {name for name in names if not name.endswith("-format")}
    assert names - set(MATRIX) == set(), "add new routes to the permission matrix"


@pytest.fixture
def objects(db):
    exam = ExamFactory()
    image, _ = image_factories.image_store(
        exam=exam,
        pixels=np.zeros((32, 48), dtype=np.uint8),
        source=ImageSource.PNG,
        color_model="MONOCHROME2",
    )
    job = DemoDataJob.objects.create(patients=1, seed=1, status="failed")
    finished = ImportJob.objects.create(source="upload", status="succeeded")
    member = UserFactory(role=R)
    annotation_set = annotation_set_create(
        name="set", readers=[member], size=1, seed=1, adjudicator=member
    )
    label = labelling_factories.label_next(annotation_set=annotation_set, reader=member)
    flag = ImageFlag.objects.create(image=image, flagged_by=member)
    base = {
        "exam": exam,
        "patient": exam.patient,
        "image": image,
        "job": job,
        "import": finished,
        "set": annotation_set,
        "member": member,
        "item": label.item,
        "label": label,
        "flag": flag,
        "center": exam.center,
    }
    for area in AREAS:
        base.update(area.objects(base))
    return base


def _url(name, kwarg_key, objects):
    if callable(kwarg_key):
        return reverse(name, kwargs=kwarg_key(objects))
    kwargs = {"pk": objects[kwarg_key].pk} if kwarg_key else {}
    return reverse(name, kwargs=kwargs)


def _request(client, method, url):
    # The demo-job POSTs would start real work: an invalid form is enough to pass the gate.
    if method == "post":
        return client.post(url, {"patients": "0"})
    return client.get(url)


def _allowed(expected, role) -> bool:
    if expected in ("anonymous too", CREDENTIALS):
        return True
    if expected == SIGNED_IN:
        return True
    return role in expected


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_anonymous_users_see_only_the_login_page(client, objects, name):
    method, expected, key, *_ = MATRIX[name]
    response = _request(client, method, _url(name, key, objects))
    if expected == "anonymous too":
        assert response.status_code == 200
    elif expected == CREDENTIALS:
        assert response.status_code == 400
    elif _url(name, key, objects).startswith("/api/"):
        assert response.status_code in (401, 403)
    else:
        assert response.status_code == 302
        assert response.url.startswith(("/accounts/login/", "/admin/login/"))


@pytest.mark.parametrize("role", [*Role, None], ids=lambda r: str(r or "no-role"))
@pytest.mark.parametrize("name", sorted(set(MATRIX) - {"login", "logout"}))
def test_each_role_is_allowed_or_refused(client_for, objects, name, role):
    method, expected, key, *flags = MATRIX[name]
    client = client_for(role)
    response = _request(client, method, _url(name, key, objects))
    if response.status_code == 302 and name == "admin:index":
        response = client.get(response.url)
    if _allowed(expected, role):
        # 400/409: allowed through the gate, then refused for the request's content;
        # 404 (object-scoped routes only): the role may, but this object is someone else's.
        accepted = {200, 302, 400, 409} | ({404} if OBJECT_SCOPED in flags else set())
        assert response.status_code in accepted, response.status_code
    else:
        assert response.status_code == 403


def test_only_administrators_start_demo_jobs_through_the_api(client_for, objects):
    response = client_for(CO).post(reverse("demo-data-job-list"), {"patients": 2, "seed": 1})
    assert response.status_code == 403
    assert not DemoDataJob.objects.filter(patients=2).exists()


def test_radiologists_see_no_clinical_truth_in_the_image_api(client_for, objects):
    response = client_for(R).get(reverse("image-detail", kwargs={"pk": objects["image"].pk}))
    assert response.status_code == 200
    assert not {"pathology", "features", "report_text", "patient"} & set(response.json())


def test_the_adjudicator_and_only_they_see_the_side_by_side_answers(client, objects):
    client.force_login(objects["member"])
    queue = reverse("annotation:adjudication_queue", args=[objects["set"].pk])
    assert client.get(queue).status_code == 200
    client.force_login(UserFactory(role=R))
    assert client.get(queue).status_code == 403
