"""The labelling screen's per-image queries, written in SQL.

Every labelled image runs these. Built through the ORM, their subqueries and expressions
cost more CPU to compile than PostgreSQL spends running them (profiled under load), so
they are plain SQL that both PostgreSQL and SQLite run; table names come from the models.
"""

# ruff: noqa: S608  (only table names and %s placeholders are put into the SQL text)

import functools

from django.db import connection

from annotation.labelling.sets import active_readers
from annotation.models import (
    AnnotationItem,
    AnnotationSet,
    Image,
    Label,
    LabelSlot,
)

SETS = AnnotationSet._meta.db_table
LABELS = Label._meta.db_table
SLOTS = LabelSlot._meta.db_table
ITEMS = AnnotationItem._meta.db_table
IMAGES = Image._meta.db_table


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def _active_readers_sql(annotation_set_id: int) -> tuple[str, tuple]:
    """The SQL of `sets.active_readers` (the one definition of an active reader), selecting
    reader_id; compiled once per database vendor, then only the set id changes."""
    sql, params = _active_readers_template(connection.vendor)
    return sql, tuple(annotation_set_id if value is _SET_ID else value for value in params)


_SET_ID = object()  # stands for the set id while the template is compiled


@functools.cache
def _active_readers_template(vendor: str) -> tuple[str, tuple]:
    query = active_readers(0).values("reader_id").query
    sql, params = query.sql_with_params()
    # The set id is the only integer the filter compares; mark where it goes.
    return sql, tuple(_SET_ID if value == 0 and value is not False else value for value in params)


def reader_state(annotation_set_id: int, reader_id: int, exclude: tuple[int, ...]) -> dict:
    """The set's planned readings and lease, its active readers, whether `reader_id` is one,
    their submitted and draft labels, and their oldest draft not in `exclude`; {} if no set.
    """
    excluded = f"AND l.id NOT IN ({_placeholders(exclude)})" if exclude else ""
    mine = f"FROM {LABELS} l WHERE l.annotation_set_id = s.id AND l.reader_id = %s"
    readers, readers_params = _active_readers_sql(annotation_set_id)
    sql = f"""
        SELECT s.planned_readings, s.lease_seconds,
            (SELECT COUNT(*) FROM ({readers}) r),
            (SELECT COUNT(*) FROM ({readers}) r WHERE r.reader_id = %s),
            (SELECT COUNT(*) {mine} AND l.status = %s),
            (SELECT COUNT(*) {mine} AND l.status = %s),
            (SELECT l.id {mine} AND l.status = %s {excluded} ORDER BY l.shown_at, l.id LIMIT 1)
        FROM {SETS} s WHERE s.id = %s
    """
    params = [
        *readers_params,
        *readers_params,
        reader_id,
        reader_id,
        Label.SUBMITTED,
        reader_id,
        Label.DRAFT,
        reader_id,
        Label.DRAFT,
        *exclude,
        annotation_set_id,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return {}
    planned, lease_seconds, readers, reading, done, held, unfinished = row
    return {
        "planned_readings": planned,
        "lease_seconds": lease_seconds,
        "readers": readers,
        "reading": bool(reading),
        "done": done,
        "held": held,
        "unfinished": unfinished,
    }


def _lock(table_alias: str, skip_locked: bool = False) -> str:
    """Lock the rows read from `table_alias` for the transaction; with skip_locked, rows
    others hold are passed over. SQLite has no row locks: its write transactions already
    run one at a time."""
    features = connection.features
    if not features.has_select_for_update or (
        skip_locked and not features.has_select_for_update_skip_locked
    ):
        return ""
    clause = f"FOR UPDATE OF {table_alias}" if features.has_select_for_update_of else "FOR UPDATE"
    return f"{clause} SKIP LOCKED" if skip_locked else clause


ITEM_COLUMNS = ("id", "annotation_set_id", "image_id", "position", "planned_readers")


def _item(values) -> AnnotationItem:
    """An item from its ITEM_COLUMNS values and is_calibration, as the ORM would load it."""
    item = AnnotationItem(**dict(zip(ITEM_COLUMNS, values[:5], strict=True)))
    item.is_calibration = bool(values[5])  # SQLite gives 0 or 1
    item._state.adding = False
    return item


def label_for_update(label_id: int, reader_id: int) -> Label | None:
    """The reader's label, with its item, locked until the transaction ends; None if the
    label is not theirs."""
    sql = f"""
        SELECT l.*, i.id AS item_pk, i.annotation_set_id AS item_set,
            i.image_id AS item_image, i.position AS item_position,
            i.planned_readers AS item_readers, i.is_calibration AS item_calibration
        FROM {LABELS} l JOIN {ITEMS} i ON i.id = l.item_id
        WHERE l.id = %s AND l.reader_id = %s {_lock("l")}
    """
    found = list(Label.objects.raw(sql, [label_id, reader_id]))
    if not found:
        return None
    label = found[0]
    label.item = _item(
        [
            label.item_pk,
            label.item_set,
            label.item_image,
            label.item_position,
            label.item_readers,
            label.item_calibration,
        ]
    )
    return label


def row_update(model, pk: int, values: dict) -> int:
    """UPDATE one row's fields (by name) to `values`, prepared as the ORM prepares them;
    the rows changed (0 or 1)."""
    fields = [model._meta.get_field(name) for name in values]
    assignments = ", ".join(f"{connection.ops.quote_name(field.column)} = %s" for field in fields)
    params = [field.get_db_prep_save(values[field.name], connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {model._meta.db_table} SET {assignments} WHERE id = %s", [*params, pk]
        )
        return cursor.rowcount


def row_insert(model, values: dict):
    """INSERT one row as `model.objects.create(**values)` would (defaults, auto_now fields),
    without building the query through the ORM; the stored instance. No signals are sent
    (nothing listens to these models')."""
    instance = model(**values)
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    params = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    sql = f"INSERT INTO {model._meta.db_table} ({columns}) VALUES ({_placeholders(fields)})"
    returning = connection.features.can_return_columns_from_insert
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING id" if returning else sql, params)
        instance.pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def slot_done(item_id: int, reader_id: int) -> bool:
    """Mark the reader's open slot of the item done; False when they hold none."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {SLOTS} SET done = %s, leased_until = NULL"
            " WHERE item_id = %s AND reader_id = %s AND NOT done",
            [True, item_id, reader_id],
        )
        return cursor.rowcount > 0


def slot_lease(annotation_set_id: int, reader_id: int, now, until) -> AnnotationItem | None:
    """Lease the set's first free slot (nobody's, or its lease expired) of an image this
    reader has not read, until `until`; its item, or None. Run inside a transaction."""
    ops = connection.ops
    sql = f"""
        SELECT sl.id, i.id, i.annotation_set_id, i.image_id, i.position, i.planned_readers,
            i.is_calibration
        FROM {SLOTS} sl JOIN {ITEMS} i ON i.id = sl.item_id
        WHERE sl.annotation_set_id = %s AND NOT sl.done
            AND (sl.reader_id IS NULL OR sl.leased_until < %s)
            AND NOT EXISTS (
                SELECT 1 FROM {LABELS} l WHERE l.item_id = sl.item_id AND l.reader_id = %s
            )
        ORDER BY sl.position, sl.id LIMIT 1 {_lock("sl", skip_locked=True)}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [annotation_set_id, ops.adapt_datetimefield_value(now), reader_id])
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(
            f"UPDATE {SLOTS} SET reader_id = %s, leased_until = %s WHERE id = %s",
            [reader_id, ops.adapt_datetimefield_value(until), row[0]],
        )
    return _item(row[1:])


IMAGE_COLUMNS = (
    "pk",
    "exam_id",
    "hidden",
    "sop_instance_uid",
    "frame_index",
    "width",
    "height",
    "pixel_spacing_mm",
    "file",
    "thumbnail",
)


def exam_image_rows(image_ids: list[int]) -> list[dict]:
    """Every image of these images' exams that is not hidden, and these images themselves,
    in primary-key order, as dicts of IMAGE_COLUMNS."""
    if not image_ids:
        return []
    ids = _placeholders(image_ids)
    sql = f"""
        SELECT m.id, m.exam_id, m.hidden, m.sop_instance_uid, m.frame_index, m.width,
            m.height, m.pixel_spacing_mm, m.file, m.thumbnail
        FROM {IMAGES} m
        WHERE m.exam_id IN (SELECT o.exam_id FROM {IMAGES} o WHERE o.id IN ({ids}))
            AND (NOT m.hidden OR m.id IN ({ids}))
        ORDER BY m.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*image_ids, *image_ids])
        rows = [dict(zip(IMAGE_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        row["hidden"] = bool(row["hidden"])
    return rows
