"""This area's rows of the permission matrix (tests/ovarian_web_tests/test_permissions.py).

MATRIX: route name -> (method, roles allowed, kwargs key or a function of the objects).
objects(base): the objects this area's rows need, made from the shared ones in `base`.
"""

from inference.selectors import HEATMAP_SALT
from ovarian_web.roles import Role
from tests.inference_tests.factories import exam_result_make

R, CO, CL, A = Role.RADIOLOGIST, Role.COORDINATOR, Role.CLINICIAN, Role.ADMINISTRATOR
ALL = (R, CO, CL, A)


def _heatmap_token(objects):
    from django.core import signing

    return {"token": signing.dumps(objects["prediction"].pk, salt=HEATMAP_SALT)}


MATRIX = {
    # Any role holding a signed address (pages that may show AI output hand them out).
    "inference:heatmap": ("get", ALL, _heatmap_token),
}


def objects(base: dict) -> dict:
    result = exam_result_make(exam=base["exam"], images=[base["image"]], probabilities=[0.7])
    prediction = base["image"].predictions.get(model_version=result.ensemble.resnet)
    return {"result": result, "ensemble": result.ensemble, "prediction": prediction}
