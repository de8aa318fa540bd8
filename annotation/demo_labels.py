"""The simulated radiologists' labels of the demo set, loaded as if they had been given here.

Ten simulated radiologists (r01–r10, who cannot sign in) each get their answers from the
generator's annotation_labels.csv; the demo's own radiologist account adjudicates their
disagreements and gets a small set of its own to try the labelling screen.
"""

import csv
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from annotation.labelling.sets import annotation_set_create
from annotation.models import (
    AnnotationItem,
    AnnotationSet,
    AnnotationSetReader,
    Image,
    Label,
    LabelSlot,
)
from annotation.patients.identity import pseudonymous_uid
from base.roles import Role

DEMO_SET = "Demo: simulated radiologists"
TRY_SET = "Demo: try the labelling screen"


def simulated_reader(code: str):
    """The demo's simulated radiologist `code` (no password: it never signs in)."""
    user, created = get_user_model().objects.get_or_create(username=code.lower())
    if created:
        user.set_unusable_password()
        user.save()
    user.groups.add(Group.objects.get(name=Role.RADIOLOGIST.value))
    return user


def _flag(value: str) -> bool | None:
    return None if value == "" else value == "1"


def demo_labels_load(*, data_dir: Path, trainee=None) -> dict:
    """Load the simulated labels once; a second call finds the set and adds nothing."""
    if AnnotationSet.objects.filter(name=DEMO_SET).exists():
        return {"labels": 0}
    with (data_dir / "annotation_labels.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    images = dict(
        Image.objects.filter(
            frame_index=0,
            sop_instance_uid__in={pseudonymous_uid(row["sop_instance_uid"]) for row in rows},
        ).values_list("sop_instance_uid", "pk")
    )
    readers = {code: simulated_reader(code) for code in sorted({row["reader"] for row in rows})}
    by_image: dict[int, list[dict]] = {}
    for row in rows:
        image_id = images.get(pseudonymous_uid(row["sop_instance_uid"]))
        if image_id is not None:
            by_image.setdefault(image_id, []).append(row)
    start = timezone.now() - timedelta(days=21)
    with transaction.atomic():
        annotation_set = AnnotationSet.objects.create(
            name=DEMO_SET,
            size=len(by_image),
            seed=0,
            readers_per_image=1,
            calibration_size=sum(1 for r in by_image.values() if len(r) == len(readers)),
            adjudicator=trainee,
        )
        AnnotationSetReader.objects.bulk_create(
            AnnotationSetReader(annotation_set=annotation_set, reader=user)
            for user in readers.values()
        )
        items = AnnotationItem.objects.bulk_create(
            AnnotationItem(
                annotation_set=annotation_set,
                image_id=image_id,
                position=position,
                planned_readers=len(given),
                is_calibration=len(given) == len(readers),
            )
            for position, (image_id, given) in enumerate(sorted(by_image.items()))
        )
        labels, slots = [], []
        for index, item in enumerate(items):
            for row in by_image[item.image_id]:
                shown = start + timedelta(minutes=index * 2, seconds=int(row["reader"][1:]) * 7)
                seconds = float(row["seconds_spent"] or 0)
                labels.append(
                    Label(
                        item=item,
                        annotation_set=annotation_set,
                        reader=readers[row["reader"]],
                        status=Label.SUBMITTED,
                        adnexal=_flag(row["adnexal"]),
                        lesion=_flag(row["lesion"]),
                        ascites=_flag(row["ascites"]),
                        blood_flow=_flag(row["blood_flow"]),
                        dimension={"1": "3d", "0": "2d"}.get(row["is_3d"], ""),
                        cannot_determine=row["cannot_determine"] == "1",
                        cannot_determine_reason=row["cannot_determine_reason"],
                        shown_at=shown,
                        submitted_at=shown + timedelta(seconds=seconds),
                        active_seconds=seconds,
                    )
                )
                slots.append(
                    LabelSlot(
                        item=item,
                        annotation_set=annotation_set,
                        position=item.position,
                        reader=readers[row["reader"]],
                        done=True,
                    )
                )
        Label.objects.bulk_create(labels, batch_size=1000)
        LabelSlot.objects.bulk_create(slots, batch_size=1000)
        annotation_set.planned_readings = len(slots)
        annotation_set.save(update_fields=["planned_readings"])
    if trainee is not None and not AnnotationSet.objects.filter(name=TRY_SET).exists():
        annotation_set_create(
            name=TRY_SET, readers=[trainee], size=40, seed=7, max_per_exam=2, adjudicator=trainee
        )
    return {"labels": len(labels), "images": len(items)}
