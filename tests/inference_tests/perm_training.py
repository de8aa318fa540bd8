"""This area's rows of the permission matrix (tests/ovarian_web_tests/test_permissions.py).

MATRIX: route name -> (method, roles allowed, kwargs key or a function of the objects).
objects(base): the objects this area's rows need, made from the shared ones in `base`.
"""

from base.roles import Role
from inference.heatmap_links import heatmap_token
from inference.models import Architecture, ImageExclusion, ModelTask, TrainingJob
from tests.inference_tests.factories import exam_result_make, model_version_make

R, CO, CL, A = Role.RADIOLOGIST, Role.COORDINATOR, Role.CLINICIAN, Role.ADMINISTRATOR
ALL = (R, CO, CL, A)
OBJECT_SCOPED = "object-scoped"  # as in test_permissions: 404 is allowed for this row


def _heatmap_token(objects):
    # An address is bound to the viewer it was handed to: here the set's radiologist.
    return {"token": heatmap_token(objects["prediction"].pk, viewer_id=objects["member"].pk)}


COORDINATION = (CO, A)

MATRIX = {
    # Any role holding a signed address (pages that may show AI output hand them out).
    "inference:heatmap": ("get", ALL, _heatmap_token, OBJECT_SCOPED),
    "inference:model_list": ("get", COORDINATION, None),
    "inference:training_start": ("post", COORDINATION, None),
    "inference:checkpoint_upload": ("post", COORDINATION, None),
    "inference:ensemble_create": ("post", COORDINATION, None),
    "inference:scoring_start": ("post", COORDINATION, None),
    "inference:ensemble_in_service": ("post", COORDINATION, "ensemble"),
    "inference:version_in_service": ("post", COORDINATION, "triage"),
    "inference:version_retire": ("post", COORDINATION, "unused_version"),
    "inference:training_detail": ("get", COORDINATION, "training_job"),
    "inference:training_stop": ("post", COORDINATION, "training_job"),
    "inference:training_retry": ("post", COORDINATION, "training_job"),
    "inference:cleaning": ("get", COORDINATION, None),
    "inference:triage_start": ("post", COORDINATION, None),
    "inference:cleaning_apply": ("post", COORDINATION, None),
    "inference:exclusion_restore": ("post", COORDINATION, "exclusion"),
    "inference:workers": ("get", COORDINATION, None),
}


def objects(base: dict) -> dict:
    result = exam_result_make(exam=base["exam"], images=[base["image"]], probabilities=[0.7])
    prediction = base["image"].predictions.get(model_version=result.ensemble.resnet)
    job = TrainingJob.objects.create(task="malignancy", architecture="resnet18", status="failed")
    return {
        "result": result,
        "ensemble": result.ensemble,
        "prediction": prediction,
        "triage": model_version_make(Architecture.RESNET18, ModelTask.TRIAGE, outputs=["adnexal"]),
        "unused_version": model_version_make(Architecture.RESNET18),
        "training_job": job,
        "exclusion": ImageExclusion.objects.create(image=base["image"], reason="no_lesion"),
    }
