"""What the reading screens are sent for a label and an image: plain dicts, built from the
labelling SQL; used by the labelling API and by reader-study reading (studies.reading.cases),
so neither imports the other's views."""

from rest_framework import serializers

from annotation.imaging.links import file_link
from annotation.labelling import sql as labelling_sql
from annotation.models import Image, Label

LABEL_FIELDS = (
    "adnexal",
    "lesion",
    "ascites",
    "blood_flow",
    "cannot_determine",
    "cannot_determine_reason",
    "status",
)


_DATETIME = serializers.DateTimeField()  # DRF's own format, without a whole serializer


def _datetime(value) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


def label_data(label: Label) -> dict:
    """A label as the screen reads it (the label must come with its item)."""
    return {
        "id": label.pk,
        "set": label.annotation_set_id,
        "image": label.item.image_id,
        **{name: getattr(label, name) for name in LABEL_FIELDS},
        "dimension": label.dimension or None,
        "shown_at": _datetime(label.shown_at),
        "submitted_at": _datetime(label.submitted_at),
        "active_seconds": float(label.active_seconds),
    }


def _describe(frames: list[dict]) -> dict:
    first = min(frames, key=lambda row: row["frame_index"])
    return {
        "id": first["pk"],
        "width": first["width"],
        "height": first["height"],
        "pixel_spacing_mm": first["pixel_spacing_mm"],
        # Signed links: the screen fetches these without a session or a query.
        "thumbnail_url": (
            file_link(first["thumbnail"])
            if first["thumbnail"]
            else f"/images/{first['pk']}/thumbnail"
        ),
        "frames": [
            file_link(row["file"]) for row in sorted(frames, key=lambda row: row["frame_index"])
        ],
    }


def image_payloads(image_ids: list[int]) -> dict[int, dict]:
    """For each image: its cine frames and its exam's other (visible) images; one query.

    Only for a user who may see these images: the links in it need no session."""
    rows = labelling_sql.exam_image_rows(image_ids)
    payloads = {}
    for image_id in image_ids:
        own = next((row for row in rows if row["pk"] == image_id), None)
        if own is None:
            continue
        loops: dict[str, list[dict]] = {}
        for row in rows:
            if row["exam_id"] == own["exam_id"] and (not row["hidden"] or row is own):
                loops.setdefault(row["sop_instance_uid"] or f"pk{row['pk']}", []).append(row)
        key = own["sop_instance_uid"] or f"pk{image_id}"
        payload = _describe(loops[key])
        payload["exam_images"] = [
            _describe(frames) for other, frames in loops.items() if other != key
        ]
        payloads[image_id] = payload
    return payloads


def image_payload(image: Image) -> dict:
    """The image and the exam's other images, each with its cine frames; one query."""
    return image_payloads([image.pk])[image.pk]
