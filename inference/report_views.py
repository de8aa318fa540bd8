"""Pages of the clinician's area: the worklist, the exam report, sign-off, DICOM downloads,
and the coordinators' list of disagreements."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation.models import Exam
from annotation.patients.identity import IdentifierError
from annotation.selectors import patient_find
from base.access_log import access_log_record
from base.models import AccessAction
from base.roles import COORDINATION, IDENTIFIERS, REPORT_REVIEW, RESULTS
from inference import dicom_export, reports, selectors
from inference.forms import PatientSearchForm, ReviewForm, WorklistFilterForm
from inference.inference_jobs import NoModelInService
from inference.models import Ensemble, ResultStatus


def _worklist_page(request: HttpRequest, form: WorklistFilterForm, **extra) -> dict:
    filters = form.cleaned_data if form.is_valid() else {}
    exams = reports.worklist_exams(
        center=filters.get("center") or "",
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
        patient_id=filters.get("patient"),
    )
    page = Paginator(exams, 50).get_page(request.GET.get("page"))
    return {
        "form": form,
        "page": page,
        "rows": reports.worklist_rows(page.object_list, viewer=request.user),
        "filters": filters,
        "search_form": PatientSearchForm(),
        **extra,
    }


@require_GET
@RESULTS.required
def worklist(request: HttpRequest) -> HttpResponse:
    form = WorklistFilterForm(request.GET or None)
    return render(request, "inference/worklist.html", _worklist_page(request, form))


@require_POST
@IDENTIFIERS.required
def worklist_search(request: HttpRequest) -> HttpResponse:
    """Find a patient's exams by hospital ID: the ID is hashed to the pseudonym, never kept,
    and the worklist is then filtered by the patient's row id, not the ID."""
    search_form = PatientSearchForm(request.POST)
    if search_form.is_valid():
        patient = patient_find(hospital_id=search_form.cleaned_data["hospital_id"])
        access_log_record(
            request=request,
            action=AccessAction.HOSPITAL_ID_SEARCHED,
            patient_id=patient.pk if patient else None,
            target="found (worklist)" if patient else "not found (worklist)",
        )
        if patient is not None:
            return redirect(f"{reverse('inference:worklist')}?patient={patient.pk}")
        context = _worklist_page(request, WorklistFilterForm(), not_found=True)
        context["search_form"] = PatientSearchForm()
        return render(request, "inference/worklist.html", context)
    context = _worklist_page(request, WorklistFilterForm())
    context["search_form"] = search_form
    return render(request, "inference/worklist.html", context, status=400)


def _ensemble_param(request: HttpRequest) -> int | None:
    value = request.GET.get("ensemble", "")
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise Http404("No such model ensemble") from None


def _report(request: HttpRequest, pk: int) -> reports.ExamReport:
    try:
        return reports.exam_report(
            exam_id=pk, ensemble_id=_ensemble_param(request), user=request.user
        )
    except Exam.DoesNotExist:
        raise Http404("No such exam") from None
    except Ensemble.DoesNotExist:
        raise Http404("No such model ensemble") from None
    except reports.AIWithheldError as error:
        raise PermissionDenied(str(error)) from None


def _report_context(request: HttpRequest, report: reports.ExamReport, **extra) -> dict:
    review = None
    if report.result is not None and REPORT_REVIEW.allows(request.user):
        review = reports.review_for(report.result, request.user)
    initial = (
        {
            "agreement": review.agreement,
            "comment": review.comment,
            "final_diagnosis": review.final_diagnosis,
        }
        if review
        else None
    )
    return {
        "report": report,
        "exam": report.exam,
        "result": report.result,
        "ensemble": report.ensemble,
        "can_review": bool(
            report.result is not None
            and report.result.status == ResultStatus.SCORED
            and REPORT_REVIEW.allows(request.user)
        ),
        "my_review": review,
        "review_form": ReviewForm(initial=initial),
        "ensemble_query": f"?ensemble={report.ensemble.pk}"
        if report.ensemble and not report.in_service
        else "",
        **extra,
    }


@require_GET
@RESULTS.required
def report(request: HttpRequest, pk: int) -> HttpResponse:
    exam_report = _report(request, pk)
    return render(request, "inference/report.html", _report_context(request, exam_report))


@require_POST
@RESULTS.required
def report_score(request: HttpRequest, pk: int) -> HttpResponse:
    """Score now: a scoring job for this exam with the ensemble in service."""
    try:
        job = reports.score_request(exam_ids=[pk], user=request.user, scope=f"exam {pk}")
    except (reports.ScoreRequestError, NoModelInService) as error:
        if not Exam.objects.filter(pk=pk).exists():
            raise Http404("No such exam") from None
        messages.error(request, f"Cannot score this exam: {error}")
    else:
        messages.success(request, f"Scoring job #{job.pk} queued; the result appears here.")
    return redirect("inference:report", pk=pk)


@require_POST
@REPORT_REVIEW.required
def report_review(request: HttpRequest, pk: int) -> HttpResponse:
    """A clinician's agreement or disagreement with the in-service result, and later the
    final diagnosis."""
    exam_report = _report(request, pk)
    result = exam_report.result
    if result is None or result.status != ResultStatus.SCORED or not exam_report.in_service:
        messages.error(request, "There is no scored result of the model in service to sign off.")
        return redirect("inference:report", pk=pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        context = _report_context(request, exam_report)
        context["review_form"] = form
        return render(request, "inference/report.html", context, status=400)
    reports.review_record(result=result, clinician=request.user, **form.cleaned_data)
    messages.success(request, "Your review is recorded.")
    return redirect("inference:report", pk=pk)


@require_GET
@RESULTS.required
def report_dicom(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """The result as a DICOM object for the archive: `heatmap` (secondary capture of one
    image's overlay, ?image= to choose), `sr` (Basic Text SR) or `pdf` (Encapsulated PDF)."""
    exam_report = _report(request, pk)
    if exam_report.result is None:
        raise Http404("This exam has no result to export")
    image_id = request.GET.get("image") or None
    try:
        exported = dicom_export.result_export(
            result=exam_report.result,
            kind=kind,
            user=request.user,
            image_id=int(image_id) if image_id else None,
        )
    except (ValueError, IdentifierError) as error:
        raise Http404(str(error)) from None
    if exported.dataset.get("PatientIdentityRemoved") != "YES":  # the real identifiers
        access_log_record(
            request=request,
            action=AccessAction.DICOM_EXPORTED_IDENTIFIED,
            patient_id=exam_report.exam.patient_id,
            target=exported.filename,
        )
    response = HttpResponse(exported.data, content_type="application/dicom")
    response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@COORDINATION.required
def disagreements(request: HttpRequest) -> HttpResponse:
    page = Paginator(reports.disagreement_list(viewer=request.user), 50).get_page(
        request.GET.get("page")
    )
    selectors.ai_release(request.user, [review.result.exam_id for review in page])
    return render(request, "inference/disagreements.html", {"page": page})
