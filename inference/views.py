"""Pages of the models area: the registry, training, ensembles; and heatmap overlays."""

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotation.models import Exam
from base.roles import COORDINATION
from inference import registry, selectors, training
from inference.forms import CheckpointForm, EnsembleForm, ScoreForm, TrainingForm
from inference.inference_jobs import NoModelInService, inference_job_create
from inference.models import Ensemble, ModelTask, ModelVersion, TrainingJob


def _registry_context(**forms) -> dict:
    versions = ModelVersion.objects.select_related("trained_by")
    return {
        "malignancy": versions.filter(task=ModelTask.MALIGNANCY),
        "triage": versions.filter(task=ModelTask.TRIAGE),
        "ensembles": Ensemble.objects.select_related("resnet", "darknet"),
        "jobs": TrainingJob.objects.select_related("result")[:20],
        "training_form": forms.get("training_form") or TrainingForm(),
        "ensemble_form": forms.get("ensemble_form") or EnsembleForm(),
        "checkpoint_form": forms.get("checkpoint_form") or CheckpointForm(),
        "score_form": ScoreForm(),
    }


@require_GET
@COORDINATION.required
def model_list(request: HttpRequest) -> HttpResponse:
    return render(request, "inference/model_list.html", _registry_context())


@require_POST
@COORDINATION.required
def training_start(request: HttpRequest) -> HttpResponse:
    form = TrainingForm(request.POST)
    if form.is_valid():
        try:
            job = training.training_job_create(user=request.user, **form.cleaned_data)
        except training.TrainingError as error:
            form.add_error(None, str(error))
        else:
            return redirect("inference:training_detail", pk=job.pk)
    context = _registry_context(training_form=form)
    return render(request, "inference/model_list.html", context, status=400)


@require_GET
@COORDINATION.required
def training_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(TrainingJob.objects.select_related("result"), pk=pk)
    return render(request, "inference/training_detail.html", {"job": job})


@require_POST
@COORDINATION.required
def training_stop(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(TrainingJob, pk=pk)
    training.training_job_stop(job=job)
    messages.info(request, "The job stops after its current epoch and keeps its best epoch.")
    return redirect("inference:training_detail", pk=pk)


@require_POST
@COORDINATION.required
def training_retry(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(TrainingJob, pk=pk)
    try:
        training.training_job_retry(job=job)
    except ValueError as error:
        messages.error(request, str(error))
    return redirect("inference:training_detail", pk=pk)


@require_POST
@COORDINATION.required
def ensemble_create(request: HttpRequest) -> HttpResponse:
    form = EnsembleForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            ensemble = registry.ensemble_create(
                resnet=data["resnet"],
                darknet=data["darknet"],
                rule=data["rule"],
                target_sensitivity=data["target_sensitivity"],
                in_service=data["in_service"],
                user=request.user,
            )
        except registry.RegistryError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, f"{ensemble} created; threshold Θ ≥ {ensemble.threshold:.3f}."
            )
            return redirect("inference:model_list")
    context = _registry_context(ensemble_form=form)
    return render(request, "inference/model_list.html", context, status=400)


@require_POST
@COORDINATION.required
def ensemble_in_service(request: HttpRequest, pk: int) -> HttpResponse:
    ensemble = get_object_or_404(Ensemble.objects.select_related("resnet", "darknet"), pk=pk)
    try:
        registry.ensemble_put_in_service(ensemble=ensemble)
    except registry.RegistryError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{ensemble} is now in service.")
    return redirect("inference:model_list")


@require_POST
@COORDINATION.required
def version_in_service(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=pk)
    try:
        registry.triage_put_in_service(version=version)
    except registry.RegistryError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{version} is now the triage model in service.")
    return redirect("inference:model_list")


@require_POST
@COORDINATION.required
def version_retire(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=pk)
    registry.version_retire(version=version)
    messages.success(request, f"{version} retired; ensembles using it left service.")
    return redirect("inference:model_list")


@require_POST
@COORDINATION.required
def checkpoint_upload(request: HttpRequest) -> HttpResponse:
    form = CheckpointForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            version = registry.checkpoint_upload(
                task=data["task"],
                architecture=data["architecture"],
                input_size=data["input_size"],
                file=data["file"],
                user=request.user,
            )
        except registry.RegistryError as error:
            form.add_error("file", str(error))
        else:
            messages.success(request, f"{version} registered from the uploaded checkpoint.")
            return redirect("inference:model_list")
    context = _registry_context(checkpoint_form=form)
    return render(request, "inference/model_list.html", context, status=400)


@require_POST
@COORDINATION.required
def scoring_start(request: HttpRequest) -> HttpResponse:
    form = ScoreForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose which exams to score.")
        return redirect("inference:model_list")
    what = form.cleaned_data["what"]
    exams = Exam.objects.filter(images__isnull=False)
    ensemble = selectors.ensemble_in_service()
    if what == "unscored" and ensemble is not None:
        exams = exams.exclude(ai_results__ensemble=ensemble)
    elif what == "external":
        exams = exams.filter(Q(center__is_internal=False))
    ids = list(exams.distinct().values_list("pk", flat=True))
    try:
        job = inference_job_create(
            exam_ids=ids, user=request.user, scope=dict(form.fields["what"].choices)[what]
        )
    except NoModelInService as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Scoring {len(ids)} exams ({job.description}).")
    return redirect("inference:model_list")
