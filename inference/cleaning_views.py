"""The coordinator's triage and cleaning page, and the workers page."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from base.roles import COORDINATION
from inference import cleaning, workers
from inference.models import ImageExclusion, ModelTask, ModelVersion, TriageJob


def _triage_version(request: HttpRequest) -> ModelVersion | None:
    versions = ModelVersion.objects.filter(task=ModelTask.TRIAGE, retired=False)
    chosen = request.GET.get("version") or request.POST.get("version")
    if chosen:
        return get_object_or_404(versions, pk=chosen)
    return versions.filter(in_service=True).first() or versions.first()


@require_GET
@COORDINATION.required
def cleaning_page(request: HttpRequest) -> HttpResponse:
    version = _triage_version(request)
    exclusions = ImageExclusion.objects.select_related("image", "restored_by").order_by(
        "restored_at", "-created_at"
    )
    page = Paginator(exclusions, 60).get_page(request.GET.get("page"))
    context = {
        "version": version,
        "versions": ModelVersion.objects.filter(task=ModelTask.TRIAGE, retired=False),
        "plan": cleaning.cleaning_plan(version=version) if version else None,
        "summary": cleaning.exclusion_summary(),
        "jobs": TriageJob.objects.select_related("model_version")[:5],
        "page": page,
    }
    return render(request, "inference/cleaning.html", context)


@require_POST
@COORDINATION.required
def triage_start(request: HttpRequest) -> HttpResponse:
    version = _triage_version(request)
    if version is None:
        messages.error(request, "Train a triage model first (Models page).")
        return redirect("inference:cleaning")
    try:
        cleaning.triage_job_create(version=version, user=request.user)
    except cleaning.CleaningError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Triaging the pool with {version}; progress on the Jobs page.")
    return redirect(f"{reverse('inference:cleaning')}?version={version.pk}")


@require_POST
@COORDINATION.required
def cleaning_apply(request: HttpRequest) -> HttpResponse:
    version = _triage_version(request)
    if version is None:
        messages.error(request, "No triage model.")
        return redirect("inference:cleaning")
    added = cleaning.cleaning_apply(version=version, user=request.user)
    messages.success(request, f"{added} images left the training set, each with its reason.")
    return redirect("inference:cleaning")


@require_POST
@COORDINATION.required
def exclusion_restore(request: HttpRequest, pk: int) -> HttpResponse:
    exclusion = get_object_or_404(ImageExclusion, pk=pk)
    try:
        cleaning.exclusion_restore(exclusion=exclusion, user=request.user)
    except cleaning.CleaningError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Image {exclusion.image_id} is back in the training set.")
    return redirect("inference:cleaning")


@require_GET
@COORDINATION.required
def workers_page(request: HttpRequest) -> HttpResponse:
    context = {
        "workers": workers.workers_seen(),
        "queues": workers.queue_lengths(),
        "jobs": workers.running_jobs(),
    }
    return render(request, "inference/workers.html", context)
