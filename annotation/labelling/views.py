"""The radiologist's labelling pages: the worklist and the keyboard-first screen.

Both pages are shells around the labelling API (`/api/labelling/`); the screen reads
and writes every answer through it, so a closed tab resumes where it stopped.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from annotation.labelling import flow as labelling
from annotation.labelling.sets import is_reader, sets_read_by
from annotation.models import AnnotationSet, Label
from base.roles import READING


def _api_base() -> str:
    # ".../sets/" is the API's root for the screen's calls; the rest hangs off "labelling/".
    return reverse("labelling-sets").removesuffix("sets/")


@READING.required
def labelling_list(request: HttpRequest) -> HttpResponse:
    sets = sets_read_by(request.user).order_by("-created_at")
    drafts = set(
        Label.objects.filter(reader=request.user, status=Label.DRAFT).values_list(
            "item__annotation_set", flat=True
        )
    )
    rows = []
    for annotation_set in sets:
        progress = labelling.reader_progress(annotation_set.pk, request.user)
        done, quota = progress["done"], progress["quota"]
        rows.append(
            {
                "set": annotation_set,
                "done": done,
                "quota": quota,
                "percent": round(100 * done / quota) if quota else 100,
                "finished": done >= quota,
                "started": done > 0 or annotation_set.pk in drafts,
            }
        )
    return render(request, "annotation/labelling_list.html", {"rows": rows})


@READING.required
def labelling_screen(request: HttpRequest, set_id: int) -> HttpResponse:
    annotation_set = get_object_or_404(AnnotationSet, pk=set_id)
    if not is_reader(set_id, request.user):
        raise Http404("You are not a reader of this set.")
    return render(
        request,
        "annotation/labelling.html",
        {"annotation_set": annotation_set, "api_base": _api_base()},
    )
