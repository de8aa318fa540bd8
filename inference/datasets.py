"""Training and validation sets from the database: which images, which labels, which split.

Splits are by patient, never by image: internal centres give the training set and a held-out
internal validation set; every external centre is a validation set of its own.
"""

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image as PILImage

from annotation.labelling.stats import consensus_rows
from annotation.models import AnnotationSet, Image, PathologyOutcome
from inference.ml.data import to_input
from inference.models import Borderline, ImageExclusion

TRIAGE_OUTPUTS = ("adnexal", "lesion", "ascites", "blood_flow", "three_d")
INTERNAL = "internal"
# The share of internal patients held out for validation.
INTERNAL_VALIDATION_SHARE = 0.2


class DatasetError(ValueError):
    """The data cannot make a sound training run; the message says why."""


@dataclass
class Split:
    image_ids: list[int]
    exam_ids: list[int]
    patient_ids: list[int]
    targets: np.ndarray  # [N, outputs]


@dataclass
class Dataset:
    outputs: tuple[str, ...]
    train: Split
    validation: dict[str, Split] = field(default_factory=dict)


def held_out_patients(classes: dict[int, int], seed: int) -> set[int]:
    """A seeded, class-stratified share of patients for internal validation (at least one
    of each class when a class has two or more patients)."""
    rng = np.random.default_rng(seed)
    chosen: set[int] = set()
    for label in sorted(set(classes.values())):
        patients = sorted(p for p, c in classes.items() if c == label)
        if len(patients) < 2:
            continue
        count = max(1, round(INTERNAL_VALIDATION_SHARE * len(patients)))
        chosen.update(rng.permutation(patients)[:count].tolist())
    return chosen


def excluded_image_ids() -> set[int]:
    return set(
        ImageExclusion.objects.filter(restored_at__isnull=True).values_list("image_id", flat=True)
    )


def _make_split(rows: list[tuple[int, int, int, list[float]]]) -> Split:
    return Split(
        image_ids=[row[0] for row in rows],
        exam_ids=[row[1] for row in rows],
        patient_ids=[row[2] for row in rows],
        targets=np.asarray([row[3] for row in rows], dtype=np.float32).reshape(len(rows), -1),
    )


def _assemble(outputs: tuple[str, ...], grouped: dict[str, list]) -> Dataset:
    if not grouped.get("train"):
        raise DatasetError("No training images: the internal centres have no usable images.")
    validation = {name: _make_split(rows) for name, rows in grouped.items() if name != "train"}
    dataset = Dataset(outputs=outputs, train=_make_split(grouped["train"]), validation=validation)
    split_check(dataset)
    return dataset


def split_check(dataset: Dataset) -> None:
    """Refuse a split that puts one patient in two sets (it would flatter validation)."""
    seen: dict[int, str] = {}
    for name, split in [("train", dataset.train), *dataset.validation.items()]:
        for patient_id in set(split.patient_ids):
            if patient_id in seen and seen[patient_id] != name:
                raise DatasetError(
                    f"Patient {patient_id} is in both {seen[patient_id]!r} and {name!r}: "
                    "splits must be by patient."
                )
            seen[patient_id] = name


def malignancy_dataset(*, seed: int, borderline: str = Borderline.MALIGNANT) -> Dataset:
    """Images of operated exams with their pathology; excluded and hidden images left out."""
    excluded = excluded_image_ids()
    images = (
        Image.objects.filter(hidden=False, frame_index=0, exam__pathology__isnull=False)
        .values_list(
            "pk",
            "exam_id",
            "exam__patient_id",
            "exam__center__code",
            "exam__center__is_internal",
            "exam__pathology__outcome",
        )
        .order_by("pk")
    )
    kept = []
    classes: dict[int, int] = {}  # internal patients: 1 if any kept image is malignant
    for image_id, exam_id, patient_id, center, internal, outcome in images:
        if image_id in excluded:
            continue
        if outcome == PathologyOutcome.BORDERLINE and borderline == Borderline.EXCLUDE:
            continue
        target = 0 if outcome == PathologyOutcome.BENIGN else 1
        kept.append((image_id, exam_id, patient_id, center, internal, target))
        if internal:
            classes[patient_id] = max(classes.get(patient_id, 0), target)
    held_out = held_out_patients(classes, seed)
    grouped: dict[str, list] = {}
    for image_id, exam_id, patient_id, center, internal, target in kept:
        if not internal:
            name = f"external {center}"
        else:
            name = INTERNAL if patient_id in held_out else "train"
        grouped.setdefault(name, []).append((image_id, exam_id, patient_id, [float(target)]))
    return _assemble(("malignant",), grouped)


def triage_targets(annotation_sets: Iterable[AnnotationSet]) -> dict[int, list[float]]:
    """Consensus answers per image (the first set that has one wins); undecided images skipped."""
    targets: dict[int, list[float]] = {}
    for annotation_set in annotation_sets:
        for row in consensus_rows(annotation_set):
            if row["image_id"] in targets or row.get("cannot_determine"):
                continue
            answers = [row.get(name) for name in ("adnexal", "lesion", "ascites", "blood_flow")]
            dimension = row.get("dimension")
            if any(answer is None for answer in answers) or dimension not in ("2d", "3d"):
                continue
            targets[row["image_id"]] = [float(bool(a)) for a in answers] + [
                float(dimension == "3d")
            ]
    return targets


def triage_dataset(*, seed: int) -> Dataset:
    """Consensus labels of the annotation sets; validation is held-out patients, any centre."""
    targets = triage_targets(AnnotationSet.objects.order_by("pk"))
    if not targets:
        raise DatasetError("No consensus labels yet: label an annotation set first.")
    rows = Image.objects.filter(pk__in=targets, hidden=False).values_list(
        "pk", "exam_id", "exam__patient_id"
    )
    rows = list(rows.order_by("pk"))
    held_out = held_out_patients({patient: 0 for _, _, patient in rows}, seed)
    grouped: dict[str, list] = {}
    for image_id, exam_id, patient_id in rows:
        name = INTERNAL if patient_id in held_out else "train"
        grouped.setdefault(name, []).append((image_id, exam_id, patient_id, targets[image_id]))
    return _assemble(TRIAGE_OUTPUTS, grouped)


def image_pixels(image: Image) -> np.ndarray:
    """The stored frame: the import stored it cropped to its scan area already."""
    with image.file.open("rb") as handle:
        picture = PILImage.open(handle)
        picture.load()
    return np.asarray(picture)


def input_shape(image: Image) -> tuple[int, int]:
    """(height, width) of the pixels `image_pixels` gives, from the row alone."""
    return image.height, image.width


def load_inputs(image_ids: list[int], size: int, workers: int = 2) -> torch.Tensor:
    """uint8 [N, 3, size, size] in the order of image_ids; decoding in threads."""
    images = Image.objects.in_bulk(image_ids)
    missing = [pk for pk in image_ids if pk not in images]
    if missing:
        raise DatasetError(f"Images no longer exist: {missing[:5]}")

    def one(pk: int) -> torch.Tensor:
        return to_input(image_pixels(images[pk]), size)

    if not image_ids:
        return torch.zeros((0, 3, size, size), dtype=torch.uint8)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return torch.stack(list(pool.map(one, image_ids)))
