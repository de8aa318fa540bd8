"""The model registry: versions, uploaded checkpoints, ensembles and what is in service."""

import hashlib
import io
import tempfile

import numpy as np
import torch
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from inference.ml.networks import CheckpointMismatch, check_state_dict, load_checkpoint
from inference.models import (
    Architecture,
    Ensemble,
    ModelSource,
    ModelTask,
    ModelVersion,
    ThresholdRule,
)
from inference.scoring import choose_threshold, combine_scores, ensemble_weights
from studies.stats.roc import auc

INTERNAL = "internal"


class RegistryError(ValueError):
    pass


def _next_version(task: str, architecture: str) -> int:
    latest = (
        ModelVersion.objects.filter(task=task, architecture=architecture)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    return (latest or 0) + 1


def model_version_register(
    *,
    task: str,
    architecture: str,
    input_size: int,
    outputs: list[str],
    state_dict: dict,
    source: str = ModelSource.TRAINED,
    user=None,
    **fields,
) -> ModelVersion:
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    payload = buffer.getvalue()
    for _ in range(3):  # two registrations at once: the loser takes the next number
        try:
            with transaction.atomic():
                version = ModelVersion(
                    task=task,
                    architecture=architecture,
                    version=_next_version(task, architecture),
                    input_size=input_size,
                    outputs=outputs,
                    weights_sha256=hashlib.sha256(payload).hexdigest(),
                    source=source,
                    trained_by=user,
                    **fields,
                )
                name = f"{architecture}-{task}-v{version.version}.pt"
                version.weights.save(name, ContentFile(payload), save=False)
                version.save()
                return version
        except IntegrityError:
            continue
    raise RegistryError("Could not number the new model version; try again.")


def checkpoint_upload(
    *, task: str, architecture: str, input_size: int, file, user=None, outputs=None
) -> ModelVersion:
    """A checkpoint trained elsewhere, checked against the architecture before it is kept."""
    if task not in ModelTask.values or architecture not in Architecture.values:
        raise RegistryError("Unknown task or architecture.")
    outputs = outputs or (["malignant"] if task == ModelTask.MALIGNANCY else None)
    if not outputs:
        from inference.datasets import TRIAGE_OUTPUTS

        outputs = list(TRIAGE_OUTPUTS)
    try:
        with tempfile.NamedTemporaryFile(suffix=".pt") as copy:
            for chunk in file.chunks() if hasattr(file, "chunks") else [file.read()]:
                copy.write(chunk)
            copy.flush()
            state_dict = load_checkpoint(copy.name)
        check_state_dict(architecture, len(outputs), state_dict)
    except CheckpointMismatch as error:
        raise RegistryError(f"The checkpoint does not fit {architecture}: {error}") from None
    return model_version_register(
        task=task,
        architecture=architecture,
        input_size=input_size,
        outputs=outputs,
        state_dict=state_dict,
        source=ModelSource.UPLOADED,
        user=user,
        hyperparameters={"uploaded_as": getattr(file, "name", "")},
    )


def version_file_check(version: ModelVersion) -> None:
    """Refuse weights whose bytes are not the ones registered."""
    with version.weights.open("rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    if digest != version.weights_sha256:
        raise RegistryError(f"{version.label}: weights file changed (SHA-256 mismatch).")


def _internal_theta(version: ModelVersion) -> tuple[dict[str, float], dict[str, int]]:
    internal = version.metrics.get(INTERNAL) or {}
    return internal.get("exam_theta") or {}, internal.get("exam_truth") or {}


def ensemble_evaluate(resnet: ModelVersion, darknet: ModelVersion) -> dict:
    """Θ per validation set from the two models' stored exam scores: AUC, weights."""
    aucs = {"resnet": _exam_auc(resnet), "darknet": _exam_auc(darknet)}
    weights = ensemble_weights(aucs)
    sets = {}
    for name in sorted(set(resnet.metrics) & set(darknet.metrics)):
        first, second = resnet.metrics[name], darknet.metrics[name]
        if not isinstance(first, dict) or "exam_theta" not in first:
            continue
        exams = sorted(set(first["exam_theta"]) & set(second.get("exam_theta", {})))
        scores = [
            combine_scores(
                {"resnet": first["exam_theta"][e], "darknet": second["exam_theta"][e]},
                aucs,
            )
            for e in exams
        ]
        truth = [first["exam_truth"][e] for e in exams]
        both = len(set(truth)) == 2
        sets[name] = {
            "exams": len(exams),
            "auc": float(auc(np.asarray(truth), np.asarray(scores))) if both else None,
            "scores": scores,
            "truth": truth,
        }
    return {"weights": weights, "sets": sets}


def _exam_auc(version: ModelVersion) -> float:
    value = (version.metrics.get(INTERNAL) or {}).get("exam_auc")
    if value is None:
        raise RegistryError(f"{version.label} has no internal-validation exam AUC.")
    if not value > 0:  # the weights are AUC shares: a model that never ranks right has none
        raise RegistryError(
            f"{version.label} has an internal-validation exam AUC of {value:.3f}: "
            "it cannot be weighted into an ensemble; train it again."
        )
    return float(value)


def ensemble_create(
    *,
    resnet: ModelVersion,
    darknet: ModelVersion,
    rule: str = ThresholdRule.YOUDEN,
    target_sensitivity: float | None = None,
    user=None,
    in_service: bool = False,
) -> Ensemble:
    """w1 = AUC_R / (AUC_R + AUC_D) from internal validation; the threshold chosen there too."""
    if resnet.task != ModelTask.MALIGNANCY or darknet.task != ModelTask.MALIGNANCY:
        raise RegistryError("An ensemble pairs two malignancy models.")
    if not resnet.architecture.startswith("resnet") or darknet.architecture != "darknet19":
        raise RegistryError("An ensemble pairs a ResNet and a Darknet-19.")
    if resnet.retired or darknet.retired:
        raise RegistryError("A retired model version cannot be used.")
    if rule == ThresholdRule.SENSITIVITY and not target_sensitivity:
        raise RegistryError("Give the target sensitivity.")
    evaluation = ensemble_evaluate(resnet, darknet)
    internal = evaluation["sets"].get(INTERNAL)
    if not internal or internal["auc"] is None:
        raise RegistryError("Internal validation needs malignant and benign exams in both models.")
    threshold, sensitivity, specificity = choose_threshold(
        internal["scores"], internal["truth"], rule=rule, target_sensitivity=target_sensitivity
    )
    with transaction.atomic():
        ensemble = Ensemble.objects.create(
            resnet=resnet,
            darknet=darknet,
            weight_resnet=evaluation["weights"]["resnet"],
            weight_darknet=evaluation["weights"]["darknet"],
            threshold=float(threshold),
            threshold_rule=rule,
            target_sensitivity=target_sensitivity,
            sensitivity=sensitivity,
            specificity=specificity,
            metrics={
                name: {"auc": s["auc"], "exams": s["exams"]}
                for name, s in evaluation["sets"].items()
            },
            created_by=user,
        )
        if in_service:
            ensemble_put_in_service(ensemble=ensemble)
    return ensemble


def ensemble_put_in_service(*, ensemble: Ensemble) -> None:
    if ensemble.retired or ensemble.resnet.retired or ensemble.darknet.retired:
        raise RegistryError("A retired ensemble or model version cannot be put in service.")
    with transaction.atomic():
        Ensemble.objects.filter(in_service=True).exclude(pk=ensemble.pk).update(in_service=False)
        Ensemble.objects.filter(pk=ensemble.pk).update(in_service=True)
        ModelVersion.objects.filter(pk__in=[ensemble.resnet_id, ensemble.darknet_id]).update(
            in_service=True
        )
    ensemble.in_service = True


def triage_put_in_service(*, version: ModelVersion) -> None:
    if version.task != ModelTask.TRIAGE or version.retired:
        raise RegistryError("Only a triage model that is not retired.")
    with transaction.atomic():
        ModelVersion.objects.filter(task=ModelTask.TRIAGE, in_service=True).update(in_service=False)
        ModelVersion.objects.filter(pk=version.pk).update(in_service=True)
    version.in_service = True


def version_retire(*, version: ModelVersion) -> None:
    """Retired versions (and ensembles using them) take no new jobs; old results stay."""
    with transaction.atomic():
        Ensemble.objects.filter(resnet=version).update(in_service=False, retired=True)
        Ensemble.objects.filter(darknet=version).update(in_service=False, retired=True)
        ModelVersion.objects.filter(pk=version.pk).update(in_service=False, retired=True)
    version.in_service, version.retired = False, True
