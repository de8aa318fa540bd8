"""The coordinator's reader-study pages: the list, the design form, and the study's page with
its live progress (Channels nudges, then the progress API)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from base.roles import COORDINATION
from studies.design.forms import ReaderExperienceForm, ReaderStudyForm
from studies.design.services import (
    ReaderStudyError,
    locked_reason,
    reader_study_close,
    reader_study_create,
    reader_study_open,
    reader_study_reader_update,
    reader_study_update,
)
from studies.models import Arm, ReaderStudy
from studies.reading.progress import study_progress


def _results_url(study: ReaderStudy) -> str | None:
    """The results page, once the results area provides it."""
    try:
        return reverse("studies:designed_results", kwargs={"pk": study.pk})
    except NoReverseMatch:
        return None


@COORDINATION.required
def study_list(request: HttpRequest) -> HttpResponse:
    studies = ReaderStudy.objects.order_by("-created_at")
    rows = []
    for study in studies:
        progress = study_progress(study)
        done = sum(arm["done"] for arm in progress["arms"].values())
        total = sum(arm["total"] for arm in progress["arms"].values())
        rows.append({"study": study, "done": done, "total": total})
    return render(request, "studies/study_list.html", {"rows": rows})


def _form_page(request: HttpRequest, form: ReaderStudyForm, study: ReaderStudy | None):
    return render(
        request,
        "studies/study_form.html",
        {"form": form, "study": study, "locked": locked_reason(study) if study else None},
    )


@COORDINATION.required
def study_create(request: HttpRequest) -> HttpResponse:
    form = ReaderStudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            study = reader_study_create(**form.design_kwargs(), created_by=request.user)
        except ReaderStudyError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, f"{study.name}: {study.cases.count()} cases; open it when it is ready."
            )
            return redirect("studies:study_detail", pk=study.pk)
    return _form_page(request, form, None)


@COORDINATION.required
def study_edit(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_object_or_404(ReaderStudy, pk=pk)
    form = ReaderStudyForm.for_study(study, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reader_study_update(study=study, **form.design_kwargs())
        except ReaderStudyError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{study.name} saved.")
            return redirect("studies:study_detail", pk=study.pk)
    return _form_page(request, form, study)


@COORDINATION.required
def study_detail(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_object_or_404(ReaderStudy, pk=pk)
    progress = study_progress(study)
    participants = list(study.readers.select_related("reader"))
    by_reader = {row["reader_id"]: row for row in progress["readers"]}
    readers = [
        {
            "participant": participant,
            "form": ReaderExperienceForm.for_reader(participant),
            "arms": [
                (Arm(arm).label, by_reader.get(participant.reader_id, {}).get("arms", {}).get(arm))
                for arm in Arm.values
            ],
        }
        for participant in participants
    ]
    cases = list(study.cases.select_related("exam__pathology", "exam__center"))
    analysed = [case for case in cases if not case.practice]
    malignant = sum(case.exam.pathology.outcome != "benign" for case in analysed)
    return render(
        request,
        "studies/study_detail.html",
        {
            "study": study,
            "progress": progress,
            "readers": readers,
            "case_count": len(analysed),
            "malignant": malignant,
            "benign": len(analysed) - malignant,
            "practice_count": len(cases) - len(analysed),
            "centers": sorted({case.exam.center.code for case in analysed}),
            "clinical": {arm: study.clinical_data(arm) for arm in Arm.values},
            "locked": locked_reason(study),
            "results_url": _results_url(study),
        },
    )


@require_POST
@COORDINATION.required
def study_open(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_object_or_404(ReaderStudy, pk=pk)
    try:
        reader_study_open(study=study)
    except ReaderStudyError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{study.name} is open: the readers find it in their worklist.")
    return redirect("studies:study_detail", pk=pk)


@require_POST
@COORDINATION.required
def study_close(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_object_or_404(ReaderStudy, pk=pk)
    try:
        reader_study_close(study=study)
    except ReaderStudyError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{study.name} is closed; what was read stays.")
    return redirect("studies:study_detail", pk=pk)


@require_POST
@COORDINATION.required
def study_reader_edit(request: HttpRequest, pk: int, reader_id: int) -> HttpResponse:
    study = get_object_or_404(ReaderStudy, pk=pk)
    participant = get_object_or_404(study.readers.select_related("reader"), reader_id=reader_id)
    form = ReaderExperienceForm(request.POST, prefix=f"r{reader_id}")
    if form.is_valid():
        try:
            reader_study_reader_update(
                participant=participant,
                experience_years=form.cleaned_data["experience_years"],
                specialty=form.cleaned_data["specialty"],
            )
        except ReaderStudyError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"{participant.reader.get_username()}'s experience saved.")
    else:
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
    return redirect("studies:study_detail", pk=pk)
