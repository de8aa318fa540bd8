from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from annotation.models import AnnotationSet, DemoDataJob, Exam, Image, Patient
from base.access_log import access_log_csv, access_log_entries, access_log_record
from base.forms import AccessLogFilterForm
from base.models import AccessAction
from base.roles import ADMINISTRATION, SIGNED_IN


@SIGNED_IN.required
def home(request: HttpRequest) -> HttpResponse:
    counts = {
        "patients": Patient.objects.count(),
        "exams": Exam.objects.count(),
        "images": Image.objects.count(),
    }
    running = DemoDataJob.objects.filter(status__in=["queued", "running"]).exists()
    adjudicating = AnnotationSet.objects.filter(adjudicator=request.user).order_by("name")
    return render(
        request,
        "home.html",
        {"counts": counts, "jobs_running": running, "adjudicating": adjudicating},
    )


def _filtered_entries(request: HttpRequest):
    form = AccessLogFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, access_log_entries(**form.cleaned_data)
    return form, access_log_entries()


@require_GET
@ADMINISTRATION.required
def access_log(request: HttpRequest) -> HttpResponse:
    form, entries = _filtered_entries(request)
    status = 400 if form.is_bound and not form.is_valid() else 200
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "access_log.html",
        {"form": form, "page": page, "query": query.urlencode()},
        status=status,
    )


@require_GET
@ADMINISTRATION.required
def access_log_export(request: HttpRequest) -> HttpResponse:
    """The filtered log as CSV; the export itself is logged."""
    form, entries = _filtered_entries(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    body = access_log_csv(entries)
    access_log_record(request=request, action=AccessAction.ACCESS_LOG_EXPORTED)
    response = HttpResponse(body, content_type="text/csv")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="access-log-{stamp}.csv"'
    return response
