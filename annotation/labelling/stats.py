"""Reads about labelling: progress, agreement, consensus and exports of a set.

Agreement statistics come from studies.stats (Django-free, shared by every layer).
"""

import statistics
from collections import Counter, defaultdict
from datetime import timedelta
from itertools import combinations

from django.db.models import Count, Q
from django.utils import timezone

from annotation.labelling.flow import consensus, label_disagrees
from annotation.labelling.sets import is_reader, reader_quota
from annotation.models import (
    ANSWER_FIELDS,
    Adjudication,
    AnnotationItem,
    AnnotationSet,
    Label,
    LabelSlot,
)
from studies.stats.agreement import cohen_kappa, krippendorff_alpha_nominal

QUESTIONS = (*ANSWER_FIELDS, "cannot_determine")
LABEL_COLUMNS = (
    "set", "position", "image_id", "exam_id", "center", "reader", *QUESTIONS,
    "cannot_determine_reason", "status", "shown_at", "submitted_at", "active_seconds",
)  # fmt: skip
CONSENSUS_COLUMNS = (
    "set", "position", "item_id", "image_id", "exam_id", "center", "rule", "readers", *QUESTIONS,
)  # fmt: skip


def _answer(row: dict, question: str):
    """An answer as a category; the other answers of a 'cannot be determined' are missing."""
    if question != "cannot_determine" and row["cannot_determine"]:
        return None
    value = row[question]
    return None if value in (None, "") else value


def submitted_rows(annotation_set: AnnotationSet) -> list[dict]:
    return list(
        Label.objects.filter(annotation_set=annotation_set, status=Label.SUBMITTED)
        .order_by("item__position", "reader__username")
        .values(
            "item_id",
            "reader_id",
            "reader__username",
            "submitted_at",
            "active_seconds",
            "shown_at",
            *QUESTIONS,
        )
    )


def set_progress(annotation_set: AnnotationSet) -> dict:
    """The coordinator's dashboard: per radiologist and overall."""
    now = timezone.now()
    quota = reader_quota(annotation_set)
    rows = submitted_rows(annotation_set)
    by_reader: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_reader[row["reader_id"]].append(row)
    drafts = dict(
        Label.objects.filter(annotation_set=annotation_set, status=Label.DRAFT)
        .values_list("reader_id")
        .annotate(n=Count("pk"))
        .values_list("reader_id", "n")
    )
    readers = []
    for membership in annotation_set.readers.select_related("reader").order_by("reader__username"):
        mine = by_reader.get(membership.reader_id, [])
        seconds = [row["active_seconds"] for row in mine if row["active_seconds"] > 0]
        readers.append(
            {
                "reader": membership.reader.username,
                "reader_id": membership.reader_id,
                "active": membership.active,
                "done": len(mine),
                "quota": quota,
                "in_progress": drafts.get(membership.reader_id, 0),
                "last_hour": sum(
                    1 for row in mine if row["submitted_at"] > now - timedelta(hours=1)
                ),
                "median_seconds": statistics.median(seconds) if seconds else None,
            }
        )
    slots = LabelSlot.objects.filter(annotation_set=annotation_set)
    all_seconds = [row["active_seconds"] for row in rows if row["active_seconds"] > 0]
    return {
        "set": annotation_set.pk,
        "name": annotation_set.name,
        "readings_done": slots.filter(done=True).count(),
        "readings_planned": slots.count(),
        "labels_submitted": len(rows),
        "images_per_hour": sum(1 for row in rows if row["submitted_at"] > now - timedelta(hours=1)),
        "median_seconds": statistics.median(all_seconds) if all_seconds else None,
        "open_disagreements": len(open_disagreements(annotation_set)),
        "agreement": {q: _alpha(rows, q) for q in QUESTIONS},
        "readers": readers,
    }


def _alpha(rows: list[dict], question: str) -> float | None:
    by_item: dict[int, dict[int, object]] = defaultdict(dict)
    for row in rows:
        by_item[row["item_id"]][row["reader_id"]] = _answer(row, question)
    readers = sorted({row["reader_id"] for row in rows})
    items = [item for item, answers in by_item.items() if len(answers) > 1]
    if len(readers) < 2 or not items:
        return None
    table = [[by_item[item].get(reader) for item in items] for reader in readers]
    return krippendorff_alpha_nominal(table)


def open_disagreements(annotation_set: AnnotationSet) -> list[int]:
    """Items whose readers disagree and that no adjudication has settled yet."""
    candidates = (
        AnnotationItem.objects.filter(annotation_set=annotation_set, adjudication__isnull=True)
        .annotate(n=Count("labels", filter=Q(labels__status=Label.SUBMITTED)))
        .filter(n__gt=1)
        .prefetch_related("labels")
    )
    return [item.pk for item in candidates if label_disagrees(list(item.labels.all()))]


def still_to_label(annotation_set: AnnotationSet, user, item_ids: list[int]) -> set[int]:
    """Of `item_ids`, the items `user` still has to label as an active reader of the set:
    not submitted by them, and either their draft or an image with a reading still open
    (so it may yet be served to them). Empty when they are not reading the set."""
    if not is_reader(annotation_set.pk, user):
        return set()
    mine = Label.objects.filter(annotation_set=annotation_set, reader=user, item_id__in=item_ids)
    submitted = set(mine.filter(status=Label.SUBMITTED).values_list("item_id", flat=True))
    drafts = set(mine.filter(status=Label.DRAFT).values_list("item_id", flat=True))
    open_readings = set(
        LabelSlot.objects.filter(
            annotation_set=annotation_set, item_id__in=item_ids, done=False
        ).values_list("item_id", flat=True)
    )
    return (drafts | open_readings) - submitted


def adjudication_queue(annotation_set: AnnotationSet, adjudicator) -> list[int]:
    """The open disagreements the adjudicator may review: none they still have to label
    themselves, so other readers' answers never come before their own."""
    items = open_disagreements(annotation_set)
    hidden = still_to_label(annotation_set, adjudicator, items)
    return [item for item in items if item not in hidden]


def agreement(annotation_set: AnnotationSet) -> dict:
    """Per question: pairwise Cohen's kappa, Krippendorff's alpha, each reader against the
    reference (the adjudicated answer, else the other readers' majority: agreement, kappa,
    confusion table), and alpha week by week (drift)."""
    rows = submitted_rows(annotation_set)
    consensus_by_item = {row["item_id"]: row for row in consensus_rows(annotation_set)}
    names = {row["reader_id"]: row["reader__username"] for row in rows}
    result = {}
    for question in QUESTIONS:
        answers: dict[int, dict[int, object]] = defaultdict(dict)
        for row in rows:
            answers[row["reader_id"]][row["item_id"]] = _answer(row, question)
        pairs = []
        for first, second in combinations(sorted(answers), 2):
            shared = [
                i
                for i in answers[first]
                if i in answers[second]
                and answers[first][i] is not None
                and answers[second][i] is not None
            ]
            if len(shared) >= 2:
                kappa = cohen_kappa(
                    [answers[first][i] for i in shared], [answers[second][i] for i in shared]
                )
                pairs.append(
                    {
                        "readers": [names[first], names[second]],
                        "n": len(shared),
                        "kappa": kappa.kappa,
                        # a Wald interval can run past kappa's range: clip it there
                        "ci_low": None if kappa.ci_low is None else max(kappa.ci_low, -1.0),
                        "ci_high": None if kappa.ci_high is None else min(kappa.ci_high, 1.0),
                    }
                )
        per_reader = []
        for reader, given in sorted(answers.items(), key=lambda item: names[item[0]]):
            paired = [
                (value, reference)
                for item, value in given.items()
                if value is not None
                and (reference := _reference(item, reader, question, answers, consensus_by_item))
                is not None
            ]
            confusion: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for value, agreed in paired:
                confusion[str(agreed)][str(value)] += 1
            kappa = cohen_kappa(*zip(*paired, strict=True)) if len(paired) >= 2 else None
            per_reader.append(
                {
                    "reader": names[reader],
                    "n": len(paired),
                    "agreement": (sum(v == c for v, c in paired) / len(paired)) if paired else None,
                    "kappa": kappa.kappa if kappa else None,
                    "confusion": {k: dict(v) for k, v in confusion.items()},
                }
            )
        weeks: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            weeks[row["submitted_at"].strftime("%G-W%V")].append(row)
        result[question] = {
            "alpha": _alpha(rows, question),
            "pairwise": pairs,
            "readers": per_reader,
            "over_time": [
                {"week": week, "alpha": _alpha(weeks[week], question), "labels": len(weeks[week])}
                for week in sorted(weeks)
            ],
        }
    return result


def _reference(item: int, reader: int, question: str, answers: dict, consensus_by_item: dict):
    """What a reader is compared with: the adjudicated answer where there is one, else the
    majority of the other readers of the image (none on a tie or when nobody else read it)."""
    row = consensus_by_item.get(item)
    if row is not None and row["rule"] == "adjudicated":
        return row[question] if row[question] not in (None, "") else None
    others = [
        given[item]
        for other, given in answers.items()
        if other != reader and given.get(item) is not None
    ]
    if not others:
        return None
    counts = Counter(others).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None
    return counts[0][0]


def label_export_rows(annotation_set: AnnotationSet) -> list[dict]:
    rows = (
        Label.objects.filter(annotation_set=annotation_set)
        .order_by("item__position", "reader__username")
        .values(
            "item__position",
            "item__image_id",
            "item__image__exam_id",
            "item__image__exam__center__code",
            "reader__username",
            *QUESTIONS,
            "cannot_determine_reason",
            "status",
            "shown_at",
            "submitted_at",
            "active_seconds",
        )
    )
    return [
        {
            "set": annotation_set.pk,
            "position": row["item__position"],
            "image_id": row["item__image_id"],
            "exam_id": row["item__image__exam_id"],
            "center": row["item__image__exam__center__code"],
            "reader": row["reader__username"],
            **{q: row[q] for q in QUESTIONS},
            "cannot_determine_reason": row["cannot_determine_reason"],
            "status": row["status"],
            "shown_at": row["shown_at"],
            "submitted_at": row["submitted_at"],
            "active_seconds": row["active_seconds"],
        }
        for row in rows
    ]


def consensus_rows(annotation_set: AnnotationSet) -> list[dict]:
    """One row per item: its consensus answers and the rule that gave them.

    Read as plain values (three queries): whole items, images, exams and centres for 5000
    images took seconds to build."""
    items = (
        AnnotationItem.objects.filter(annotation_set=annotation_set)
        .order_by("position")
        .values("pk", "position", "image_id", "image__exam_id", "image__exam__center__code")
    )
    labels = defaultdict(list)
    for values in Label.objects.filter(annotation_set=annotation_set).values(
        "item_id", "status", *QUESTIONS
    ):
        labels[values.pop("item_id")].append(Label(**values))
    adjudications = {
        adjudication.item_id: adjudication
        for adjudication in Adjudication.objects.filter(item__annotation_set=annotation_set)
    }
    rows = []
    for item in items:
        mine = labels.get(item["pk"], [])
        answers, rule = consensus(mine, adjudications.get(item["pk"]))
        rows.append(
            {
                "set": annotation_set.pk,
                "position": item["position"],
                "image_id": item["image_id"],
                "exam_id": item["image__exam_id"],
                "center": item["image__exam__center__code"],
                "rule": rule,
                "readers": sum(1 for label in mine if label.status == Label.SUBMITTED),
                **{q: (answers or {}).get(q) for q in QUESTIONS},
                "item_id": item["pk"],
            }
        )
    return rows
