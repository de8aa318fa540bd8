"""The coordinator's side of labelling: sets, the live dashboard, agreement, export; and
the adjudicator's review queue; and the administrator's review of flagged images."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Count, F
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from annotation.labelling import flow as labelling
from annotation.labelling import stats as label_stats
from annotation.labelling.exports import export_table
from annotation.labelling.set_forms import AdjudicationForm, AnnotationSetForm
from annotation.labelling.sets import (
    AnnotationSetError,
    annotation_set_create,
    annotation_set_reader_remove,
)
from annotation.models import AnnotationItem, AnnotationSet, ImageFlag, Label, LabelSlot
from base.access_log import access_log_record
from base.models import AccessAction
from base.roles import ADMINISTRATION, COORDINATION, READING


@COORDINATION.required
def set_list(request: HttpRequest) -> HttpResponse:
    form = AnnotationSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        filters = {"centers": [center.code for center in data["centers"]]}
        try:
            created = annotation_set_create(
                name=data["name"],
                readers=list(data["readers"]),
                size=data["size"],
                seed=data["seed"],
                filters=filters,
                stratify_by_center=data["stratify_by_center"],
                max_per_patient=data["max_per_patient"],
                max_per_exam=data["max_per_exam"],
                readers_per_image=data["readers_per_image"],
                calibration_size=data["calibration_size"],
                adjudicator=data["adjudicator"],
                created_by=request.user,
            )
        except AnnotationSetError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Drew {created.items.count()} images for {created.name}.")
            return redirect("annotation:set_detail", pk=created.pk)
    sets = AnnotationSet.objects.prefetch_related("items").order_by("-created_at")
    return render(request, "annotation/set_list.html", {"sets": sets, "form": form})


@COORDINATION.required
def set_detail(request: HttpRequest, pk: int) -> HttpResponse:
    annotation_set = get_object_or_404(AnnotationSet, pk=pk)
    return render(
        request,
        "annotation/set_detail.html",
        {"set": annotation_set, "progress": label_stats.set_progress(annotation_set)},
    )


@COORDINATION.required
def set_progress(request: HttpRequest, pk: int) -> JsonResponse:
    annotation_set = get_object_or_404(AnnotationSet, pk=pk)
    return JsonResponse(label_stats.set_progress(annotation_set), encoder=DjangoJSONEncoder)


@COORDINATION.required
def set_agreement(request: HttpRequest, pk: int) -> HttpResponse:
    annotation_set = get_object_or_404(AnnotationSet, pk=pk)
    return render(
        request,
        "annotation/set_agreement.html",
        {"set": annotation_set, "agreement": label_stats.agreement(annotation_set)},
    )


@require_POST
@COORDINATION.required
def set_reader_remove(request: HttpRequest, pk: int, reader_id: int) -> HttpResponse:
    annotation_set = get_object_or_404(AnnotationSet, pk=pk)
    membership = get_object_or_404(annotation_set.readers, reader_id=reader_id)
    try:
        result = annotation_set_reader_remove(
            annotation_set=annotation_set, reader=membership.reader
        )
    except AnnotationSetError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"{membership.reader.username}'s remaining work went back to the others: "
            f"{result['released_leases']} images released, "
            f"{result['dropped_calibration_readings']} calibration readings dropped; "
            f"each radiologist's share is now {result['new_quota']}.",
        )
    return redirect("annotation:set_detail", pk=pk)


@COORDINATION.required
def set_export(request: HttpRequest, pk: int, what: str, fmt: str) -> HttpResponse:
    """Every answer, or the consensus per image, as CSV or JSON (docs/labels_export.md)."""
    annotation_set = get_object_or_404(AnnotationSet, pk=pk)
    if fmt not in ("csv", "json"):
        raise Http404("csv or json")
    if what == "labels":
        rows, columns = label_stats.label_export_rows(annotation_set), label_stats.LABEL_COLUMNS
    elif what == "consensus":
        rows, columns = label_stats.consensus_rows(annotation_set), label_stats.CONSENSUS_COLUMNS
    elif what == "draw":
        rows = list(
            annotation_set.items.order_by("position").values(
                "position", "image_id", "is_calibration", "planned_readers"
            )
        )
        columns = ("position", "image_id", "is_calibration", "planned_readers")
    else:
        raise Http404("labels, consensus or draw")
    filename = f"set-{annotation_set.pk}-{what}"
    access_log_record(
        request=request, action=AccessAction.EXPORT_DOWNLOADED, target=f"{filename}.{fmt}"
    )
    return export_table(rows, columns, fmt, filename)


def _adjudicator_set(request: HttpRequest, pk: int) -> AnnotationSet:
    annotation_set = get_object_or_404(AnnotationSet, pk=pk)
    if annotation_set.adjudicator_id != request.user.pk:
        raise PermissionDenied("Only the set's adjudicator reviews its disagreements.")
    return annotation_set


@READING.required
def adjudication_queue(request: HttpRequest, pk: int) -> HttpResponse:
    annotation_set = _adjudicator_set(request, pk)
    disagreements = label_stats.open_disagreements(annotation_set)
    shown = label_stats.adjudication_queue(annotation_set, request.user)
    items = AnnotationItem.objects.filter(pk__in=shown)
    return render(
        request,
        "annotation/adjudication_queue.html",
        {
            "set": annotation_set,
            "items": items.order_by("position"),
            "waiting": len(disagreements) - len(shown),
        },
    )


@READING.required
def adjudication_review(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    """The readers' answers side by side, and the final answers the adjudicator sets."""
    annotation_set = _adjudicator_set(request, pk)
    item = get_object_or_404(annotation_set.items.select_related("image"), pk=item_id)
    if label_stats.still_to_label(annotation_set, request.user, [item.pk]):
        # Other readers' answers would bias the adjudicator's own reading of this image.
        return render(
            request,
            "annotation/adjudication_wait.html",
            {"set": annotation_set, "item": item},
            status=403,
        )
    form = AdjudicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            labelling.adjudicate(item=item, user=request.user, answers=form.answers())
        except labelling.LabellingError as error:
            form.add_error(None, f"{error} ({', '.join(error.missing)})")
        else:
            messages.success(request, f"Image #{item.position} settled.")
            return redirect("annotation:adjudication_queue", pk=pk)
    labels = item.labels.filter(status=Label.SUBMITTED).select_related("reader")
    return render(
        request,
        "annotation/adjudication_review.html",
        {
            "set": annotation_set,
            "item": item,
            "labels": labels,
            "form": form,
            "questions": label_stats.QUESTIONS,
        },
    )


@ADMINISTRATION.required
def flag_list(request: HttpRequest) -> HttpResponse:
    flags = ImageFlag.objects.filter(resolution="").select_related("image", "flagged_by")
    return render(request, "annotation/flag_list.html", {"flags": flags})


@require_POST
@ADMINISTRATION.required
def flag_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """Restore the image (no identifying text after all) or remove it for good."""
    flag = get_object_or_404(ImageFlag.objects.select_related("image"), pk=pk, resolution="")
    decision = request.POST.get("decision")
    if decision not in ("restored", "removed"):
        messages.error(request, "Choose restore or remove.")
        return redirect("annotation:flag_list")
    with transaction.atomic():
        ImageFlag.objects.filter(image=flag.image, resolution="").update(
            resolution=decision, resolved_by=request.user
        )
        if decision == "restored":
            type(flag.image).objects.filter(pk=flag.image_id).update(hidden=False)
            withdrawn = LabelSlot.objects.filter(item__image=flag.image, done=True, reader=None)
            for annotation_set_id, count in (
                withdrawn.values_list("annotation_set")
                .annotate(n=Count("pk"))
                .values_list("annotation_set", "n")
            ):
                AnnotationSet.objects.filter(pk=annotation_set_id).update(
                    planned_readings=F("planned_readings") + count
                )
            withdrawn.update(done=False)
        else:
            image = flag.image
            transaction.on_commit(
                lambda: (image.file.delete(save=False), image.thumbnail.delete(save=False))
            )
            image.delete()
    messages.success(request, f"Image {decision}.")
    return redirect("annotation:flag_list")
