from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from annotation import selectors, services
from annotation.demo import demo_data_job_create, demo_data_job_retry
from annotation.forms import DemoDataForm, PatientFindForm
from annotation.imaging import links as image_links
from annotation.models import Center, DemoDataJob, Exam, PathologyOutcome, Patient
from annotation.patients.timeline import patient_timeline
from base.access_log import access_log_record
from base.models import AccessAction
from base.roles import (
    ADMINISTRATION,
    CLINICAL_DATA,
    COORDINATION,
    IDENTIFIERS,
    IMAGE_BROWSING,
    SIGNED_IN,
)


def _page(request: HttpRequest, items, per_page: int):
    return Paginator(items, per_page).get_page(request.GET.get("page"))


@CLINICAL_DATA.required
def exam_list(request: HttpRequest) -> HttpResponse:
    center = request.GET.get("center", "")
    outcome = request.GET.get("outcome", "")
    page = _page(request, selectors.exam_list(center=center, outcome=outcome), 50)
    return render(
        request,
        "annotation/exam_list.html",
        {
            "page": page,
            "centers": Center.objects.all(),
            "center": center,
            "outcome": outcome,
            "outcomes": PathologyOutcome.choices,
        },
    )


@CLINICAL_DATA.required
def exam_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        exam = selectors.exam_detail(exam_id=pk)
    except Exam.DoesNotExist:
        raise Http404("No such exam") from None
    return render(request, "annotation/exam_detail.html", {"exam": exam})


@CLINICAL_DATA.required
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        patient = selectors.patient_detail(patient_id=pk)
    except Patient.DoesNotExist:
        raise Http404("No such patient") from None
    identifiers = selectors.patient_identifiers(patient=patient, user=request.user)
    if identifiers.get("patient_id"):
        access_log_record(
            request=request, action=AccessAction.IDENTIFIERS_VIEWED, patient_id=patient.pk
        )
    return render(
        request,
        "annotation/patient_detail.html",
        {"patient": patient, "identifiers": identifiers, "timeline": patient_timeline(patient)},
    )


@IDENTIFIERS.required
def patient_find(request: HttpRequest) -> HttpResponse:
    form = PatientFindForm(request.POST or None)
    not_found = False
    if request.method == "POST" and form.is_valid():
        patient = selectors.patient_find(hospital_id=form.cleaned_data["hospital_id"])
        access_log_record(
            request=request,
            action=AccessAction.HOSPITAL_ID_SEARCHED,
            patient_id=patient.pk if patient else None,
            target="found" if patient else "not found",
        )
        if patient is not None:
            return redirect("annotation:patient_detail", pk=patient.pk)
        not_found = True
    return render(request, "annotation/patient_find.html", {"form": form, "not_found": not_found})


@IMAGE_BROWSING.required
def image_list(request: HttpRequest) -> HttpResponse:
    center = request.GET.get("center", "")
    page = _page(request, selectors.image_list(user=request.user, center=center), 60)
    return render(
        request,
        "annotation/image_list.html",
        {"page": page, "centers": Center.objects.all(), "center": center},
    )


@SIGNED_IN.required
def image_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visible = selectors.images_visible(request.user)
    image = get_object_or_404(visible.select_related("exam__center"), pk=pk)
    frames = [
        reverse("annotation:image_file", args=[frame])
        for frame in selectors.image_frames(image=image)
    ]
    return render(request, "annotation/image_detail.html", {"image": image, "frames": frames})


INLINE_BYTES = 4 * 1024 * 1024


def _serve(field, content_type: str) -> HttpResponse:
    """The stored file; small ones in one piece (under ASGI each streamed chunk costs a
    thread hop), larger ones streamed."""
    if not field:
        raise Http404("No file")
    if field.size <= INLINE_BYTES:
        with field.open("rb") as handle:
            response = HttpResponse(handle.read(), content_type=content_type)
    else:
        response = FileResponse(field.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


# Pixels are read, never written: no transaction around them (saves two round trips on the
# busiest request of the labelling screen).
@transaction.non_atomic_requests
@SIGNED_IN.required
def image_file(request: HttpRequest, pk: int) -> FileResponse:
    return _serve(
        get_object_or_404(selectors.images_visible(request.user), pk=pk).file, "image/png"
    )


@transaction.non_atomic_requests
@require_safe
def image_link_file(request: HttpRequest, rest: str) -> HttpResponse:
    """A signed file link (image_links), where no ASGI server answers it first."""
    try:
        path, content_type, left = image_links.linked_file(request.path)
        content = path.read_bytes()
    except image_links.LinkError as error:
        return HttpResponse(str(error), status=error.status, content_type="text/plain")
    except OSError:  # gone, or a folder
        return HttpResponse("no such file", status=404, content_type="text/plain")
    response = HttpResponse(content)
    for name, value in image_links.response_headers(content_type, len(content), left):
        response[name] = value
    return response


@transaction.non_atomic_requests
@SIGNED_IN.required
def image_thumbnail(request: HttpRequest, pk: int) -> FileResponse:
    return _serve(
        get_object_or_404(selectors.images_visible(request.user), pk=pk).thumbnail, "image/jpeg"
    )


@COORDINATION.required
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "annotation/overview.html", selectors.data_overview())


@COORDINATION.required
def job_list(request: HttpRequest) -> HttpResponse:
    form = DemoDataForm()
    return render(request, "annotation/job_list.html", {"jobs": selectors.job_list(), "form": form})


@require_POST
@ADMINISTRATION.required
def demo_job_start(request: HttpRequest) -> HttpResponse:
    form = DemoDataForm(request.POST)
    if form.is_valid():
        demo_data_job_create(user=request.user, **form.cleaned_data)
        messages.success(request, "Demo data job queued; its progress shows below.")
    else:
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
    return redirect("annotation:job_list")


@require_POST
@ADMINISTRATION.required
def demo_job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(DemoDataJob, pk=pk)
    try:
        demo_data_job_retry(job=job)
    except ValueError as error:
        messages.error(request, str(error))
    return redirect("annotation:job_list")


@ADMINISTRATION.required
def patient_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Consent withdrawn: confirm, then remove the patient and everything derived."""
    patient = get_object_or_404(Patient, pk=pk)
    if request.method == "POST":
        label = patient.short_pseudonym
        removed = services.patient_delete(patient=patient)
        summary = ", ".join(f"{count} {what}" for what, count in removed.items())
        messages.success(request, f"Patient {label} removed: {summary}.")
        return redirect("home")
    return render(request, "annotation/patient_delete.html", {"patient": patient})
