"""Drawing annotation sets from the image pool, and who works on them."""

import math
import random
from collections import Counter, defaultdict

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet

from annotation.models import (
    AnnotationItem,
    AnnotationSet,
    AnnotationSetReader,
    Image,
    Label,
    LabelSlot,
)
from base.roles import READING, Role

DEFAULT_SIZE = 5000


class AnnotationSetError(ValueError):
    """A draw or an assignment that cannot be done, with the reason for the coordinator."""


def image_pool(filters: dict) -> QuerySet[Image]:
    """Images that may be drawn: visible, one per cine loop, optionally by centre and date."""
    pool = Image.objects.filter(hidden=False, frame_index=0)
    if filters.get("centers"):
        pool = pool.filter(exam__center__code__in=filters["centers"])
    if filters.get("exam_date_from"):
        pool = pool.filter(exam__exam_date__gte=filters["exam_date_from"])
    if filters.get("exam_date_to"):
        pool = pool.filter(exam__exam_date__lte=filters["exam_date_to"])
    return pool


def _capped(candidates: list[tuple], size: int, max_per_patient, max_per_exam) -> list[int]:
    per_patient, per_exam, chosen = Counter(), Counter(), []
    for image_id, exam_id, patient_id, _ in candidates:
        if len(chosen) == size:
            break
        if max_per_patient and per_patient[patient_id] >= max_per_patient:
            continue
        if max_per_exam and per_exam[exam_id] >= max_per_exam:
            continue
        per_patient[patient_id] += 1
        per_exam[exam_id] += 1
        chosen.append(image_id)
    return chosen


def draw_images(
    *,
    filters: dict,
    size: int,
    seed: int,
    stratify_by_center: bool,
    max_per_patient: int | None,
    max_per_exam: int | None,
) -> list[int]:
    """A seeded random draw: the same arguments on the same pool draw the same images.

    With stratification each centre gets a share of the draw proportional to its share of
    the pool (largest remainders), so a small centre is neither lost nor over-represented.
    """
    rows = list(
        image_pool(filters)
        .order_by("pk")
        .values_list("pk", "exam_id", "exam__patient_id", "exam__center_id")
    )
    random.Random(seed).shuffle(rows)
    if not stratify_by_center:
        return _capped(rows, size, max_per_patient, max_per_exam)
    by_center: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        by_center[row[3]].append(row)
    total = len(rows)
    exact = {center: size * len(members) / total for center, members in by_center.items()}
    shares = {center: math.floor(value) for center, value in exact.items()}
    leftover = min(size, total) - sum(shares.values())
    for center in sorted(exact, key=lambda c: exact[c] - shares[c], reverse=True)[:leftover]:
        shares[center] += 1
    chosen: list[int] = []
    for center in sorted(by_center):
        chosen += _capped(by_center[center], shares[center], max_per_patient, max_per_exam)
    order = {image_id: index for index, (image_id, *_rest) in enumerate(rows)}
    return sorted(chosen, key=order.__getitem__)


def annotation_set_create(
    *,
    name: str,
    readers: list,
    size: int = DEFAULT_SIZE,
    seed: int = 0,
    filters: dict | None = None,
    stratify_by_center: bool = False,
    max_per_patient: int | None = None,
    max_per_exam: int | None = None,
    readers_per_image: int = 1,
    calibration_size: int = 0,
    adjudicator=None,
    created_by=None,
) -> AnnotationSet:
    """Draw the set, enrol its radiologists and lay out one slot per planned reading."""
    filters = filters or {}
    if not readers:
        raise AnnotationSetError("choose at least one radiologist")
    if any(not READING.allows(reader) for reader in readers):
        raise AnnotationSetError("only radiologists can label")
    if readers_per_image > len(readers):
        raise AnnotationSetError(
            f"{readers_per_image} readers per image needs at least that many radiologists"
        )
    if size < 1 or calibration_size > size:
        raise AnnotationSetError("the calibration subset cannot be larger than the set")
    images = draw_images(
        filters=filters,
        size=size,
        seed=seed,
        stratify_by_center=stratify_by_center,
        max_per_patient=max_per_patient,
        max_per_exam=max_per_exam,
    )
    if not images:
        raise AnnotationSetError("the pool is empty: no image matches the filters")
    with transaction.atomic():
        annotation_set = AnnotationSet.objects.create(
            name=name,
            size=size,
            seed=seed,
            filters=filters,
            stratify_by_center=stratify_by_center,
            max_per_patient=max_per_patient,
            max_per_exam=max_per_exam,
            readers_per_image=readers_per_image,
            calibration_size=min(calibration_size, len(images)),
            adjudicator=adjudicator,
            created_by=created_by,
        )
        AnnotationSetReader.objects.bulk_create(
            AnnotationSetReader(annotation_set=annotation_set, reader=reader) for reader in readers
        )
        items = AnnotationItem.objects.bulk_create(
            AnnotationItem(
                annotation_set=annotation_set,
                image_id=image_id,
                position=position,
                is_calibration=position < calibration_size,
                planned_readers=len(readers) if position < calibration_size else readers_per_image,
            )
            for position, image_id in enumerate(images)
        )
        LabelSlot.objects.bulk_create(
            LabelSlot(item=item, annotation_set=annotation_set, position=item.position)
            for item in items
            for _ in range(item.planned_readers)
        )
        annotation_set.planned_readings = sum(item.planned_readers for item in items)
        annotation_set.save(update_fields=["planned_readings"])
    return annotation_set


def _active(memberships: QuerySet[AnnotationSetReader]) -> QuerySet[AnnotationSetReader]:
    # The one definition of an active reader: a radiologist taken off a set stays on it,
    # inactive, for the record. The labelling SQL counts readers through active_readers.
    return memberships.filter(active=True)


def active_readers(annotation_set_id: int) -> QuerySet[AnnotationSetReader]:
    """Who works on the set now."""
    return _active(AnnotationSetReader.objects.filter(annotation_set_id=annotation_set_id))


def sets_read_by(user) -> QuerySet[AnnotationSet]:
    """The sets `user` works on now."""
    memberships = _active(AnnotationSetReader.objects.filter(reader=user))
    return AnnotationSet.objects.filter(pk__in=memberships.values("annotation_set_id"))


def is_reader(annotation_set_id: int, user) -> bool:
    return active_readers(annotation_set_id).filter(reader=user).exists()


def quota_share(planned_readings: int, readers: int) -> int:
    """Each active radiologist's even share of the planned readings."""
    return math.ceil(planned_readings / readers) if readers else 0


def reader_quota(annotation_set: AnnotationSet) -> int:
    """Each active radiologist's even share of the set's planned readings."""
    readers = active_readers(annotation_set.pk).count()
    return quota_share(annotation_set.planned_readings, readers)


def annotation_set_reader_remove(*, annotation_set: AnnotationSet, reader) -> dict:
    """A radiologist leaves: their unfinished work goes back to the others in one action.

    Their leases are released (drafts are kept, not counted), and calibration readings
    planned for them are dropped, since nobody else can read an image twice.
    """
    with transaction.atomic():
        updated = active_readers(annotation_set.pk).filter(reader=reader).update(active=False)
        if not updated:
            raise AnnotationSetError("this radiologist is not working on the set")
        released = LabelSlot.objects.filter(
            annotation_set=annotation_set, reader=reader, done=False
        ).update(reader=None, leased_until=None)
        finished = Label.objects.filter(
            annotation_set=annotation_set, reader=reader, status=Label.SUBMITTED
        ).values("item_id")
        dropped = 0
        calibration = AnnotationItem.objects.filter(
            annotation_set=annotation_set, is_calibration=True
        ).exclude(pk__in=finished)
        for item in calibration:
            slot = item.slots.filter(done=False, reader__isnull=True).first()
            if slot is not None:
                slot.delete()
                dropped += 1
        AnnotationItem.objects.filter(pk__in=calibration.values("pk")).update(
            planned_readers=active_readers(annotation_set.pk).count()
        )
        annotation_set.planned_readings -= dropped
        annotation_set.save(update_fields=["planned_readings"])
    return {
        "released_leases": released,
        "dropped_calibration_readings": dropped,
        "new_quota": reader_quota(annotation_set),
    }


def radiologists() -> QuerySet:
    return (
        get_user_model()
        .objects.filter(Q(groups__name=Role.RADIOLOGIST.value), is_active=True)
        .order_by("username")
    )
