from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotation.models import AnnotationSet, DemoDataJob, Exam, Image, Patient

from .roles import IMAGE_ROLES, role_required


@role_required(*IMAGE_ROLES)
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
