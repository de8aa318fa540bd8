"""The labelling API that the keyboard-first screen drives (radiologists only)."""

from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from annotation.labelling import flow as labelling
from annotation.labelling import serializers as s
from annotation.labelling import stats as label_stats
from annotation.labelling.exports import export_table
from annotation.labelling.payloads import image_payloads, label_data
from annotation.labelling.sets import is_reader, reader_quota, sets_read_by
from annotation.models import AnnotationSet, Image, Label
from base.access_log import access_log_record
from base.api_responses import DetailSerializer
from base.models import AccessAction
from base.query_params import MAX_ID, IdField, query_params
from base.roles import COORDINATION, READING, Policy

# The API's own refusal texts, as clients have read them.
LABELLING = Policy("labelling", READING.roles, "Labelling is for radiologists.")
ENGINE = labelling.LABELLING_ENGINE

SET_COORDINATION = Policy(
    "set coordination",
    COORDINATION.roles,
    "Annotation sets are run by study coordinators and administrators.",
)


def _label_response(label: Label, annotation_set: AnnotationSet, reader) -> Response:
    return Response(
        {
            "label": label_data(label),
            "image": image_payloads([label.item.image_id])[label.item.image_id],
            "progress": labelling.reader_progress(annotation_set.pk, reader),
        }
    )


def _own_label(request, pk: int) -> Label:
    # Another reader's label is simply not there for you: 404, never 403 with a hint.
    return get_object_or_404(
        Label.objects.select_related("item", "annotation_set"), pk=pk, reader=request.user
    )


def _exclude_ids(value) -> tuple[int, ...] | None:
    """Label ids the client already holds (prefetching); None when malformed."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(type(pk) is int and 0 < pk <= MAX_ID for pk in value):
        return None
    return tuple(value)


def _sql_id(value: int) -> int:
    """A path id for the labelling SQL (the ORM checks this itself): past the key range it
    names nothing, and the database driver would refuse it."""
    if value > MAX_ID:
        raise Http404("No such object")
    return value


def _set_for(request, set_id: int) -> AnnotationSet:
    annotation_set = get_object_or_404(AnnotationSet, pk=set_id)
    if not is_reader(annotation_set.pk, request.user):
        raise Http404("No such set among yours")
    return annotation_set


@extend_schema(responses={200: s.LabellingSetSerializer(many=True)})
@api_view(["GET"])
@permission_classes([LABELLING.permission])
def labelling_sets(request):
    """The sets this radiologist works on, with their own progress."""
    sets = sets_read_by(request.user)
    done = dict(
        Label.objects.filter(reader=request.user, status=Label.SUBMITTED)
        .values_list("annotation_set")
        .annotate(n=Count("pk"))
        .values_list("annotation_set", "n")
    )
    rows = []
    for annotation_set in sets.order_by("-created_at"):
        quota = reader_quota(annotation_set)
        finished = done.get(annotation_set.pk, 0)
        rows.append(
            {
                "id": annotation_set.pk,
                "name": annotation_set.name,
                "done": finished,
                "quota": quota,
                "remaining": max(quota - finished, 0),
            }
        )
    return Response(rows)


@extend_schema(
    request=s.NextRequestSerializer,
    responses={
        200: s.LabelScreenSerializer,
        204: None,
        400: DetailSerializer,
        404: DetailSerializer,
    },
)
@api_view(["POST"])
@permission_classes([LABELLING.permission])
def labelling_next(request, set_id: int):
    """Resume the unfinished image, or lease the next; 204 when this reader's share is done."""
    exclude = _exclude_ids(request.data.get("exclude") if isinstance(request.data, dict) else None)
    if exclude is None:
        return Response({"detail": "exclude is a list of label ids"}, status=400)
    try:  # the service checks that the set exists and the reader is on it
        label, progress = ENGINE.next(scope=_sql_id(set_id), reader=request.user, exclude=exclude)
    except labelling.LabellingError:
        raise Http404("No such set among yours") from None
    if label is None:
        return Response(status=status.HTTP_204_NO_CONTENT)
    image_id = label.item.image_id
    return Response(
        {
            "label": label_data(label),
            "image": image_payloads([image_id])[image_id],
            "progress": progress,
        }
    )


@extend_schema(
    request=s.AutosaveRequestSerializer,
    responses={200: s.LabelScreenSerializer, 400: DetailSerializer, 404: DetailSerializer},
)
@api_view(["GET", "PATCH"])
@permission_classes([LABELLING.permission])
def labelling_label(request, pk: int):
    """Read a label, or save answers as they are made (`active_seconds_delta` adds time)."""
    label = _own_label(request, pk)
    if request.method == "PATCH":
        data = dict(request.data)
        delta = data.pop("active_seconds_delta", 0)
        try:
            saved = ENGINE.autosave(
                case=label, reader=request.user, answers=data, active_seconds_delta=delta
            )
        except (labelling.LabellingError, TypeError, ValueError) as error:
            return Response({"detail": str(error)}, status=400)
        saved.item = label.item
        label = saved
    return _label_response(label, label.annotation_set, request.user)


@extend_schema(
    request=s.SubmitRequestSerializer,
    responses={
        200: s.LabelSubmittedSerializer,
        400: s.RefusedAnswersSerializer,
        404: DetailSerializer,
    },
)
@api_view(["POST"])
@permission_classes([LABELLING.permission])
def labelling_submit(request, pk: int):
    """Submit (or correct) answers. With `"next": true` (and an optional `exclude` list of
    label ids) the reply also carries the next image as `next`: one round trip per image."""
    answers = dict(request.data)
    answers.pop("active_seconds_delta", None)  # time travels with autosave
    want_next = bool(answers.pop("next", False))
    exclude = _exclude_ids(answers.pop("exclude", None))
    if exclude is None:
        return Response({"detail": "exclude is a list of label ids"}, status=400)
    try:
        submitted = ENGINE.submit_then_next(
            case=_sql_id(pk),
            reader=request.user,
            answers=answers,
            want_next=want_next,
            exclude=exclude,
        )
    except Label.DoesNotExist:
        # Another reader's label is simply not there for you: 404, never 403 with a hint.
        raise Http404("No such label among yours") from None
    except labelling.LabellingError as error:
        return Response({"detail": str(error), "missing": error.missing}, status=400)
    label, following = submitted.case, None
    if want_next and submitted.next_refused is None:
        following, progress = submitted.following
    else:  # not asked for, or taken off the set meanwhile: the answer is kept
        progress = labelling.reader_progress(label.annotation_set_id, request.user)
    images = [label.item.image_id] + ([following.item.image_id] if following else [])
    payloads = image_payloads(images)  # both in one query
    data = {
        "label": label_data(label),
        "image": payloads[label.item.image_id],
        "progress": progress,
    }
    if want_next:
        data["next"] = following and {
            "label": label_data(following),
            "image": payloads[following.item.image_id],
        }
    return Response(data)


class HistoryQuery(serializers.Serializer):
    before = IdField(
        required=False, allow_null=True, help_text="one of your label ids: the label before it"
    )


@extend_schema(
    parameters=[HistoryQuery],
    responses={200: s.LabelScreenSerializer, 400: DetailSerializer, 404: DetailSerializer},
)
@api_view(["GET"])
@permission_classes([LABELLING.permission])
def labelling_history(request, set_id: int):
    annotation_set = _set_for(request, set_id)
    before_id = query_params(request, HistoryQuery).get("before")
    before = None if before_id is None else _own_label(request, before_id)
    label = ENGINE.previous(scope=annotation_set.pk, reader=request.user, before=before)
    if label is None:
        return Response({"detail": "nothing before this"}, status=404)
    return _label_response(label, annotation_set, request.user)


@extend_schema(
    request=s.FlagRequestSerializer, responses={201: s.FlagSerializer, 404: DetailSerializer}
)
@api_view(["POST"])
@permission_classes([LABELLING.permission])
def labelling_flag(request, image_id: int):
    """Identifying text is visible: hide the image until an administrator decides."""
    assigned = Q(annotation_items__labels__reader=request.user)
    image = get_object_or_404(Image.objects.filter(assigned).distinct(), pk=image_id, hidden=False)
    flag = labelling.image_flag(
        image=image, user=request.user, reason=str(request.data.get("reason", ""))
    )
    return Response({"flag": flag.pk}, status=201)


EXPORTS = {
    "labels": (label_stats.label_export_rows, label_stats.LABEL_COLUMNS),
    "consensus": (label_stats.consensus_rows, label_stats.CONSENSUS_COLUMNS),
}


EXPORT_ROWS = PolymorphicProxySerializer(
    component_name="AnnotationSetExportRow",
    serializers=[s.LabelExportRowSerializer, s.ConsensusRowSerializer],
    resource_type_field_name=None,
    many=True,
)


class ExportQuery(serializers.Serializer):
    def get_fields(self) -> dict:
        # Not "format": DRF reads that one to choose a renderer. ("as" is a Python keyword.)
        return {"as": serializers.ChoiceField(choices=["json", "csv"], default="json")}


@extend_schema(
    parameters=[ExportQuery],
    responses={200: EXPORT_ROWS, 404: DetailSerializer},
    description="Every answer (`labels`) or the consensus per image (`consensus`) of a set; "
    "columns as in docs/labels_export.md.",
)
@api_view(["GET"])
@permission_classes([SET_COORDINATION.permission])
def annotation_set_export(request, set_id: int, what: str):
    fmt = query_params(request, ExportQuery)["as"]
    annotation_set = get_object_or_404(AnnotationSet, pk=set_id)
    if what not in EXPORTS:
        raise Http404("labels or consensus")
    rows_for, columns = EXPORTS[what]
    rows = [{column: row.get(column) for column in columns} for row in rows_for(annotation_set)]
    access_log_record(
        request=request,
        action=AccessAction.EXPORT_DOWNLOADED,
        target=f"set-{annotation_set.pk}-{what} (API)",
    )
    if fmt == "csv":
        return export_table(rows, columns, "csv", f"set-{annotation_set.pk}-{what}")
    return Response(rows)


@extend_schema(responses={200: s.SetProgressSerializer, 404: DetailSerializer})
@api_view(["GET"])
@permission_classes([SET_COORDINATION.permission])
def annotation_set_progress(request, set_id: int):
    """The live dashboard's numbers: progress per radiologist and overall, agreement so far."""
    return Response(label_stats.set_progress(get_object_or_404(AnnotationSet, pk=set_id)))
