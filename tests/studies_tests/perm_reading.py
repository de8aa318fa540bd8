"""This area's rows of the permission matrix (tests/ovarian_web_tests/test_permissions.py).

MATRIX: route name -> (method, roles allowed, kwargs key or a function of the objects[,
OBJECT_SCOPED]).
objects(base): the objects this area's rows need, made from the shared ones in `base`.

The reading routes take a session or case of a radiologist made here: another radiologist
(the one the matrix signs in) gets 404: those rows are marked OBJECT_SCOPED.
"""

from base.roles import Role
from studies.models import CaseReading
from tests.studies_tests.design_factories import designed_study

R, CO, A = Role.RADIOLOGIST, Role.COORDINATOR, Role.ADMINISTRATOR
OBJECT_SCOPED = "object-scoped"  # as in test_permissions: 404 is allowed for this row
COORDINATION = (CO, A)

MATRIX = {
    "studies:study_list": ("get", COORDINATION, None),
    "studies:study_create": ("get", COORDINATION, None),
    "studies:study_detail": ("get", COORDINATION, "reader_study"),
    "studies:study_edit": ("get", COORDINATION, "reader_study"),
    "studies:study_open": ("post", COORDINATION, "reader_study"),
    "studies:study_close": ("post", COORDINATION, "reader_study"),
    "studies:study_reader_edit": (
        "post",
        COORDINATION,
        lambda o: {"pk": o["reader_study"].pk, "reader_id": o["study_reader"].reader_id},
    ),
    "studies:reading_list": ("get", (R,), None),
    "studies:reading_screen": ("get", (R,), "reading_session", OBJECT_SCOPED),
    "reading-sessions": ("get", (R,), None),
    "reading-next": ("post", (R,), "reading_session", OBJECT_SCOPED),
    "reading-history": ("get", (R,), "reading_session", OBJECT_SCOPED),
    "reading-case": ("get", (R,), "case_reading", OBJECT_SCOPED),
    "reading-submit": ("post", (R,), "case_reading", OBJECT_SCOPED),
    "designed-study-progress": ("get", COORDINATION, "reader_study"),
}


def objects(base: dict) -> dict:
    study = designed_study(name="permission reader study")
    session = study.sessions.order_by("period", "arm").first()
    return {
        "reader_study": study,
        "study_reader": study.readers.get(),
        "reading_session": session,
        "case_reading": CaseReading.objects.filter(session=session).order_by("position").first(),
    }
