"""This area's rows of the permission matrix (tests/ovarian_web_tests/test_permissions.py).

MATRIX: route name -> (method, roles allowed, kwargs key or a function of the objects).
objects(base): the objects this area's rows need, made from the shared ones in `base`.

Results are for the clinical roles only: a radiologist is refused every page, download and
endpoint here (they read exams without the AI unless a reader study shows it).
"""

from base.models import JobStatus
from base.roles import Role
from inference.models import InferenceJob

R, CO, CL, A = Role.RADIOLOGIST, Role.COORDINATOR, Role.CLINICIAN, Role.ADMINISTRATOR
RESULTS = (CO, CL, A)

MATRIX = {
    "inference:worklist": ("get", RESULTS, None),
    # Search by hospital ID: the roles that may see identifiers.
    "inference:worklist_search": ("post", (CL, A), None),
    "inference:report": ("get", RESULTS, "exam"),
    "inference:report_score": ("post", RESULTS, "exam"),
    # Sign-off is a clinician's.
    "inference:report_review": ("post", (CL,), "exam"),
    "inference:report_dicom": ("get", RESULTS, lambda o: {"pk": o["exam"].pk, "kind": "sr"}),
    "inference:disagreements": ("get", (CO, A), None),
    "ai-result-list": ("get", RESULTS, None),
    "ai-exam-result": ("get", RESULTS, lambda o: {"exam_id": o["exam"].pk}),
    "ai-scoring-submit": ("post", RESULTS, None),
    "ai-scoring-job": ("get", RESULTS, "scoring_job"),
}


def objects(base: dict) -> dict:
    job = InferenceJob.objects.create(
        ensemble=base["ensemble"],
        exam_ids=[base["exam"].pk],
        scope="test",
        status=JobStatus.SUCCEEDED,
    )
    return {"scoring_job": job}
