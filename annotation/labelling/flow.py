"""The work of labelling: leasing the next image, saving answers as they are made,
submitting, going back, flagging; and adjudication and consensus afterwards.

Only a reader's own labels are ever touched by these functions on their behalf; the
views check the role, these check the object.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from annotation.labelling import sql as labelling_sql
from annotation.labelling.sets import quota_share
from annotation.models import (
    ANSWER_FIELDS,
    Adjudication,
    AnnotationItem,
    AnnotationSet,
    ImageFlag,
    Label,
    LabelChange,
    LabelSlot,
)
from base import reading_flow
from base.broadcast import broadcast

YES_NO = ("adnexal", "lesion", "ascites", "blood_flow")
# The dashboard reads the progress at most once a second, and again after the last nudge.
DASHBOARD_NUDGE_SECONDS = 1.0
EDITABLE = (*ANSWER_FIELDS, "cannot_determine", "cannot_determine_reason")


class LabellingError(reading_flow.Refusal):
    """A request the labelling rules refuse; `missing` names incomplete answers."""


def set_group(annotation_set_id: int) -> str:
    return f"labelling-{annotation_set_id}"


def _reader_state(annotation_set_id: int, reader_id: int, exclude: tuple[int, ...] = ()) -> dict:
    """In one query: whether the reader works on the set, their progress, and their oldest
    unfinished label not in `exclude`. Empty when there is no such set."""
    row = labelling_sql.reader_state(annotation_set_id, reader_id, exclude)
    if row:
        row["quota"] = quota_share(row["planned_readings"], row["readers"])
    return row


def reader_progress(annotation_set_id: int, reader) -> dict:
    state = _reader_state(annotation_set_id, reader.pk)
    return {"done": state.get("done", 0), "quota": state.get("quota", 0)}


def lease_until(lease_seconds: int, now: datetime | None = None) -> datetime:
    """When a slot leased (or worked on) now is free again for another reader."""
    return (now or timezone.now()) + timedelta(seconds=lease_seconds)


def label_next_with_progress(
    *, annotation_set_id: int, reader, exclude: tuple[int, ...] = ()
) -> tuple[Label | None, dict]:
    """The reader's unfinished label (a closed tab resumes), else a newly leased image, and the
    reader's progress ({"done", "quota"}) read in the same query.

    A slot is leased with a row lock that concurrent callers skip, so an image is never
    served to more readers than planned; no label when the reader's share is done.

    The returned label comes with its item (for the image). Raises LabellingError when the
    reader is not an active reader of the set (or there is no such set).
    """
    state = _reader_state(annotation_set_id, reader.pk, exclude)
    if not state.get("reading"):
        raise LabellingError("you are not a reader of this set")
    progress = {"done": state["done"], "quota": state["quota"]}
    now = timezone.now()
    lease = lease_until(state["lease_seconds"], now)
    if state["unfinished"] is not None:
        unfinished = Label.objects.select_related("item").get(pk=state["unfinished"])
        LabelSlot.objects.filter(item_id=unfinished.item_id, reader=reader, done=False).update(
            leased_until=lease
        )
        return unfinished, progress
    if state["done"] + state["held"] >= state["quota"]:
        return None, progress
    # No savepoint: nothing here is caught and retried, so an error fails the whole request.
    with transaction.atomic(savepoint=False):
        item = labelling_sql.slot_lease(annotation_set_id, reader.pk, now, lease)
        if item is None:
            return None, progress
        label = labelling_sql.row_insert(
            Label,
            {
                "item": item,
                "annotation_set_id": annotation_set_id,
                "reader": reader,
                "shown_at": now,
            },
        )
    return label, progress


def _validated(answers: dict) -> dict:
    clean = {}
    for name, value in answers.items():
        if name not in EDITABLE:
            raise LabellingError(f"unknown answer {name!r}")
        if name in YES_NO and value not in (True, False, None):
            raise LabellingError(f"{name} must be true, false or null")
        if name == "dimension" and value not in ("2d", "3d", "", None):
            raise LabellingError("dimension must be 2d or 3d")
        if name == "cannot_determine" and value not in (True, False):
            raise LabellingError("cannot_determine must be true or false")
        if name == "cannot_determine_reason" and (not isinstance(value, str) or len(value) > 500):
            raise LabellingError("the reason must be text of at most 500 characters")
        if name in ("dimension", "cannot_determine_reason"):
            value = value or ""  # the text fields store "unknown" as empty
        clean[name] = value
    return clean


def _snapshot(label: Label) -> dict:
    return {name: getattr(label, name) for name in (*EDITABLE, "status")}


def _apply(label: Label, user, changes: dict) -> list[str]:
    """Set the answers; record who changed what when anything changed. The changed fields."""
    old = _snapshot(label)
    for name, value in changes.items():
        setattr(label, name, value)
    new = _snapshot(label)
    changed = [name for name in new if new[name] != old[name]]
    if changed:
        labelling_sql.row_insert(
            LabelChange,
            {
                "label": label,
                "user": user,
                "old": {name: old[name] for name in changed},
                "new": {name: new[name] for name in changed},
            },
        )
    return changed


def label_autosave(*, label: Label, user, answers: dict, active_seconds_delta: float = 0) -> Label:
    """Save answers as they are made (a closed tab loses nothing) and the active time."""
    if label.reader_id != user.pk:
        raise LabellingError("not your label")
    changes = _validated(answers)
    # Clamped, not refused: a labeller's time is reported, not a measured outcome.
    delta = reading_flow.active_seconds_delta(active_seconds_delta, refuse_out_of_range=False)
    with transaction.atomic():
        label = (
            Label.objects.select_for_update(of=("self",))  # not the set: readers work at once
            .select_related("annotation_set")
            .get(pk=label.pk)
        )
        if changes and label.status == Label.SUBMITTED:
            # A submitted label is corrected by submitting again, never left half-changed.
            raise LabellingError("this label is submitted: correct it by submitting again")
        changed = _apply(label, user, changes)
        if changed or delta:
            label.active_seconds += delta
            label.save(update_fields=[*changed, "active_seconds", "updated_at"])
        LabelSlot.objects.filter(item_id=label.item_id, reader=user, done=False).update(
            leased_until=lease_until(label.annotation_set.lease_seconds)
        )  # working on it keeps the lease
    return label


def label_submit(*, label_id: int, user, answers: dict) -> tuple[Label, bool]:
    """Submit (or correct) the answers; (label, changed). Submitting the same again is a no-op.

    A late answer (the lease expired, the image went to someone else) is kept; it fills a
    free slot of the image if there is one, so it is counted once either way. The label is
    locked as it is read, so two submissions at once are stored once. The label comes with
    its item; Label.DoesNotExist when it is not `user`'s.
    """
    changes = _validated(answers)
    missing: list[str] = []
    changed: list[str] = []
    # No savepoint: a refusal leaves this block before anything is written.
    with transaction.atomic(savepoint=False):
        # Only the label is locked, not its set: readers work at once.
        label = labelling_sql.label_for_update(label_id, user.pk)
        if label is None:
            raise Label.DoesNotExist("no such label among yours")
        merged = {**label.answers(), **changes}
        if not merged["cannot_determine"]:
            missing = [name for name in ANSWER_FIELDS if merged[name] in (None, "")]
        if not missing:
            changes["status"] = Label.SUBMITTED
            first = label.submitted_at is None
            changed = _apply(label, user, changes)
            now = timezone.now()
            if first:
                label.submitted_at = now
            if changed or first:
                label.updated_at = now
                fields = [*changed, "submitted_at", "updated_at"]
                labelling_sql.row_update(Label, label.pk, {n: getattr(label, n) for n in fields})
            if first:
                _slot_complete(label)
                broadcast(
                    set_group(label.annotation_set_id),
                    "labelling.progress",
                    {"set": label.annotation_set_id},
                    at_most_every=DASHBOARD_NUDGE_SECONDS,
                )
    if missing:
        raise LabellingError(
            "answer every question, or mark the image as cannot be determined", missing=missing
        )
    return label, bool(changed)


def _slot_complete(label: Label) -> None:
    if labelling_sql.slot_done(label.item_id, label.reader_id):
        return
    free = (
        LabelSlot.objects.select_for_update(skip_locked=True)
        .filter(item_id=label.item_id, done=False)
        .filter(Q(reader__isnull=True) | Q(leased_until__lt=timezone.now()))
        .first()
    )
    if free is not None:
        free.reader_id, free.done, free.leased_until = label.reader_id, True, None
        free.save(update_fields=["reader", "done", "leased_until"])


def label_previous(
    *, annotation_set: AnnotationSet | int, reader, before: Label | None
) -> Label | None:
    """The reader's submitted label before `before` (or the latest), to go back and correct."""
    labels = Label.objects.filter(
        annotation_set=annotation_set,
        reader=reader,
        status=Label.SUBMITTED,
        item__image__hidden=False,
    )
    if before is not None and before.submitted_at is not None:
        labels = labels.filter(
            Q(submitted_at__lt=before.submitted_at)
            | Q(submitted_at=before.submitted_at, pk__lt=before.pk)
        )
    return labels.select_related("item").order_by("-submitted_at", "-pk").first()


class LabellingEngine(reading_flow.ReadingEngine):
    """Labelling on the shared reading engine: the scope is a set (by id), a case a label
    (by id at submit, where it is locked as it is read); `next` also gives the progress."""

    refusal = LabellingError
    next_refusal_keeps_answer = True  # taken off the set meanwhile: the answer is kept

    def next(self, *, scope: int, reader, exclude: tuple[int, ...] = ()):
        return label_next_with_progress(annotation_set_id=scope, reader=reader, exclude=exclude)

    def autosave(self, *, case: Label, reader, answers: dict, active_seconds_delta=0) -> Label:
        return label_autosave(
            label=case, user=reader, answers=answers, active_seconds_delta=active_seconds_delta
        )

    def submit(self, *, case: int, reader, answers: dict, active_seconds_delta=0):
        # The time travels with autosave: a submit carries none.
        return label_submit(label_id=case, user=reader, answers=answers)

    def previous(self, *, scope: int, reader, before: Label | None) -> Label | None:
        return label_previous(annotation_set=scope, reader=reader, before=before)

    def scope_of(self, case: Label) -> int:
        return case.annotation_set_id


LABELLING_ENGINE = LabellingEngine()


def image_flag(*, image, user, reason: str = "") -> ImageFlag:
    """Identifying text seen: hide the image from everyone until an administrator decides."""
    with transaction.atomic():
        flag = ImageFlag.objects.create(image=image, flagged_by=user, reason=reason[:500])
        type(image).objects.filter(pk=image.pk).update(hidden=True)
        # Its open readings are withdrawn (done, nobody's) until an administrator restores it.
        withdrawn = LabelSlot.objects.filter(item__image=image, done=False)
        for annotation_set_id, count in (
            withdrawn.values_list("annotation_set")
            .annotate(n=Count("pk"))
            .values_list("annotation_set", "n")
        ):
            AnnotationSet.objects.filter(pk=annotation_set_id).update(
                planned_readings=F("planned_readings") - count
            )
        withdrawn.update(reader=None, leased_until=None, done=True)
        Label.objects.filter(item__image=image, status=Label.DRAFT).delete()
    return flag


def label_disagrees(labels: list[Label]) -> bool:
    submitted = [label.answers() for label in labels if label.status == Label.SUBMITTED]
    return len(submitted) > 1 and any(answers != submitted[0] for answers in submitted[1:])


def consensus(labels: list[Label], adjudication: Adjudication | None) -> tuple[dict | None, str]:
    """The image's consensus answers and the rule that gave them.

    The adjudicated answers where there are any; else the answers all readers agreed on;
    else none yet ("disagreement", waiting for the adjudicator). One reader's answers are
    the consensus of an image planned for one reader ("single reader").
    """
    if adjudication is not None:
        return adjudication.answers(), "adjudicated"
    submitted = [label.answers() for label in labels if label.status == Label.SUBMITTED]
    if not submitted:
        return None, "not read"
    if label_disagrees([label for label in labels if label.status == Label.SUBMITTED]):
        return None, "disagreement"
    return submitted[0], "agreed" if len(submitted) > 1 else "single reader"


def adjudicate(*, item: AnnotationItem, user, answers: dict) -> Adjudication:
    """The set's adjudicator settles an item; every change is kept."""
    if item.annotation_set.adjudicator_id != user.pk:
        raise LabellingError("only the set's adjudicator can settle disagreements")
    clean = _validated(answers)
    if not clean.get("cannot_determine"):
        missing = [name for name in ANSWER_FIELDS if clean.get(name) in (None, "")]
        if missing:
            raise LabellingError("give every answer", missing=missing)
    with transaction.atomic():
        adjudication, created = Adjudication.objects.get_or_create(
            item=item,
            defaults={
                "adjudicator": user,
                **{k: v for k, v in clean.items() if k != "cannot_determine_reason"},
            },
        )
        old = {} if created else adjudication.answers()
        if not created:
            for name, value in clean.items():
                if name != "cannot_determine_reason":
                    setattr(adjudication, name, value)
            adjudication.adjudicator = user
            adjudication.save()
        if created or old != adjudication.answers():
            LabelChange.objects.create(
                adjudication=adjudication, user=user, old=old, new=adjudication.answers()
            )
    return adjudication
