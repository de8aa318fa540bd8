from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from annotation.models import Center, ImportJob
from base.roles import COORDINATION


@COORDINATION.required
def import_new(request: HttpRequest) -> HttpResponse:
    """Drag and drop files, folders or zip archives; the page drives the imports API."""
    return render(request, "annotation/import_new.html", {"centers": Center.objects.all()})


@COORDINATION.required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("center", "created_by"), pk=pk)
    report = job.report_for(request.user)  # file paths for the uploader only
    context = {"job": job, "report": report, "path_days": settings.IMPORT_REPORT_PATH_DAYS}
    return render(request, "annotation/import_detail.html", context)
