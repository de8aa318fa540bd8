"""Annotation sets and labelling: the draw, the leases, the answers and their faults."""

import itertools
import threading

import numpy as np
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from annotation.labelling import flow as labelling
from annotation.labelling.sets import (
    AnnotationSetError,
    annotation_set_create,
    annotation_set_reader_remove,
    draw_images,
    reader_quota,
)
from annotation.models import AnnotationSet, Image, ImageSource, Label, LabelChange, LabelSlot
from base.roles import Role
from tests import image_factories, labelling_factories
from tests.factories import CenterFactory, ExamFactory, PatientFactory, UserFactory

ANSWERS = {
    "adnexal": True,
    "lesion": True,
    "ascites": False,
    "blood_flow": False,
    "dimension": "2d",
    "cannot_determine": False,
}


_unique = itertools.count()


def _images(count: int, centers=("C1", "C2"), per_exam: int = 2) -> list[Image]:
    images = []
    for index in range(count):
        if index % per_exam == 0:
            exam = ExamFactory(
                center=CenterFactory(code=centers[index % len(centers)]), patient=PatientFactory()
            )
        image, _ = image_factories.image_store(
            exam=exam,
            pixels=np.full((8, 8), index % 250, dtype=np.uint8),
            source=ImageSource.PNG,
            color_model="MONOCHROME2",
            source_sha256=f"{next(_unique):064d}",
        )
        images.append(image)
    return images


def _readers(count: int):
    return [UserFactory(role=Role.RADIOLOGIST) for _ in range(count)]


def _solo_set(count: int):
    """A set of `count` new images for one new radiologist."""
    _images(count)
    [reader] = _readers(1)
    return annotation_set_create(name="s", readers=[reader], size=count, seed=1), reader


@pytest.mark.django_db
def test_the_same_seed_draws_the_same_images_and_caps_hold():
    _images(40, per_exam=4)
    first = draw_images(
        filters={}, size=10, seed=3, stratify_by_center=False, max_per_patient=None, max_per_exam=1
    )
    again = draw_images(
        filters={}, size=10, seed=3, stratify_by_center=False, max_per_patient=None, max_per_exam=1
    )
    other = draw_images(
        filters={}, size=10, seed=4, stratify_by_center=False, max_per_patient=None, max_per_exam=1
    )
    assert first == again != other
    exams = Image.objects.filter(pk__in=first).values_list("exam_id", flat=True)
    assert len(set(exams)) == len(first) == 10  # at most one image per exam


@pytest.mark.django_db
def test_stratification_gives_each_center_its_share():
    _images(30, centers=("C1",), per_exam=1)
    _images(10, centers=("C2",), per_exam=1)
    drawn = draw_images(
        filters={}, size=8, seed=1, stratify_by_center=True, max_per_patient=None, max_per_exam=None
    )
    centers = list(Image.objects.filter(pk__in=drawn).values_list("exam__center__code", flat=True))
    assert sorted(centers) == ["C1"] * 6 + ["C2"] * 2


@pytest.mark.django_db
def test_slots_follow_the_plan_and_work_is_spread_evenly():
    _images(10)
    readers = _readers(3)
    annotation_set = annotation_set_create(
        name="s", readers=readers, size=10, seed=1, readers_per_image=2, calibration_size=2
    )
    counts = [item.slots.count() for item in annotation_set.items.order_by("position")]
    assert counts == [3, 3] + [2] * 8
    assert reader_quota(annotation_set) == 8  # 22 readings over 3 radiologists


@pytest.mark.django_db
def test_a_set_refuses_impossible_plans():
    _images(4)
    readers = _readers(1)
    with pytest.raises(AnnotationSetError, match="at least that many"):
        annotation_set_create(name="s", readers=readers, size=4, readers_per_image=2)
    with pytest.raises(AnnotationSetError, match="only radiologists"):
        annotation_set_create(name="s", readers=[UserFactory(role=Role.CLINICIAN)], size=4)


@pytest.mark.django_db(transaction=True)
def test_ten_readers_pressing_next_at_once_never_overserve_an_image():
    _images(12)
    readers = _readers(10)
    annotation_set = annotation_set_create(
        name="s", readers=readers, size=12, seed=2, readers_per_image=2
    )
    barrier = threading.Barrier(10)
    errors = []

    def press(reader) -> None:
        try:
            barrier.wait()
            for _ in range(3):
                labelling_factories.label_next(
                    annotation_set=annotation_set,
                    reader=reader,
                    exclude=tuple(Label.objects.filter(reader=reader).values_list("pk", flat=True)),
                )
        except Exception as error:  # noqa: BLE001  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(reader,)) for reader in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for item in annotation_set.items.all():
        assert item.labels.count() <= item.planned_readers
    assert Label.objects.count() == 24  # every slot leased exactly once
    pairs = list(Label.objects.values_list("item_id", "reader_id"))
    assert len(pairs) == len(set(pairs))  # nobody got the same image twice


@pytest.mark.django_db
def test_a_closed_tab_resumes_the_unfinished_image_with_its_answers():
    annotation_set, reader = _solo_set(3)
    label = labelling_factories.label_next(annotation_set=annotation_set, reader=reader)
    labelling.label_autosave(
        label=label, user=reader, answers={"adnexal": True}, active_seconds_delta=4.5
    )
    resumed = labelling_factories.label_next(annotation_set=annotation_set, reader=reader)
    assert resumed.pk == label.pk and resumed.adnexal is True and resumed.active_seconds == 4.5


@pytest.mark.django_db
def test_a_double_submission_is_stored_once_and_a_correction_is_audited():
    annotation_set, reader = _solo_set(2)
    label = labelling_factories.label_next(annotation_set=annotation_set, reader=reader)
    labelling.label_submit(label_id=label.pk, user=reader, answers=ANSWERS)
    submitted_at = Label.objects.get(pk=label.pk).submitted_at
    _, changed = labelling.label_submit(label_id=label.pk, user=reader, answers=ANSWERS)
    assert not changed
    assert Label.objects.get(pk=label.pk).submitted_at == submitted_at
    changes = LabelChange.objects.filter(label=label).count()
    labelling.label_submit(label_id=label.pk, user=reader, answers={**ANSWERS, "lesion": False})
    correction = LabelChange.objects.filter(label=label).last()
    assert LabelChange.objects.filter(label=label).count() == changes + 1
    assert (correction.old, correction.new, correction.user) == (
        {"lesion": True},
        {"lesion": False},
        reader,
    )
    assert labelling.reader_progress(annotation_set.pk, reader)["done"] == 1


@pytest.mark.django_db
def test_missing_answers_are_named_and_cannot_be_determined_needs_none():
    annotation_set, reader = _solo_set(2)
    label = labelling_factories.label_next(annotation_set=annotation_set, reader=reader)
    with pytest.raises(labelling.LabellingError) as refused:
        labelling.label_submit(label_id=label.pk, user=reader, answers={"adnexal": True})
    assert refused.value.missing == ["lesion", "ascites", "blood_flow", "dimension"]
    labelling.label_submit(
        label_id=label.pk,
        user=reader,
        answers={"cannot_determine": True, "cannot_determine_reason": "blur"},
    )
    assert Label.objects.get(pk=label.pk).status == Label.SUBMITTED


@pytest.mark.django_db
def test_a_late_answer_after_the_lease_expired_is_kept_and_counted_once():
    _images(1)
    first, second = _readers(2)
    annotation_set = annotation_set_create(name="s", readers=[first, second], size=1, seed=1)
    late = labelling_factories.label_next(annotation_set=annotation_set, reader=first)
    LabelSlot.objects.update(leased_until=timezone.now())  # the lease runs out
    taken = labelling_factories.label_next(annotation_set=annotation_set, reader=second)
    assert taken.item_id == late.item_id
    labelling.label_submit(label_id=late.pk, user=first, answers=ANSWERS)
    labelling.label_submit(label_id=taken.pk, user=second, answers=ANSWERS)
    assert Label.objects.filter(status=Label.SUBMITTED).count() == 2
    assert LabelSlot.objects.filter(done=True).count() == 1  # the one planned reading


@pytest.mark.django_db
def test_a_departed_radiologist_s_work_goes_back_in_one_action():
    _images(6)
    first, second = _readers(2)
    annotation_set = annotation_set_create(
        name="s", readers=[first, second], size=6, seed=1, calibration_size=1
    )
    held = labelling_factories.label_next(annotation_set=annotation_set, reader=first)
    result = annotation_set_reader_remove(annotation_set=annotation_set, reader=first)
    assert result["released_leases"] == 1 and result["new_quota"] == reader_quota(annotation_set)
    assert result["dropped_calibration_readings"] == 1
    done = 0
    while label := labelling_factories.label_next(annotation_set=annotation_set, reader=second):
        labelling.label_submit(label_id=label.pk, user=second, answers=ANSWERS)
        done += 1
    assert done == 6 and held.item.labels.filter(reader=second).exists()
    with pytest.raises(labelling.LabellingError):
        labelling_factories.label_next(annotation_set=annotation_set, reader=first)


@pytest.mark.django_db
def test_readers_see_only_their_own_labels_and_cannot_answer_for_others(client):
    _images(2)
    first, second = _readers(2)
    annotation_set = annotation_set_create(name="s", readers=[first, second], size=2, seed=1)
    client.force_login(first)
    mine = client.post(
        reverse("labelling-next", args=[annotation_set.pk]), content_type="application/json"
    ).json()
    client.force_login(second)
    url = reverse("labelling-submit", args=[mine["label"]["id"]])
    assert client.post(url, ANSWERS, content_type="application/json").status_code == 404
    assert client.get(reverse("labelling-label", args=[mine["label"]["id"]])).status_code == 404
    outsider = UserFactory(role=Role.RADIOLOGIST)
    client.force_login(outsider)
    response = client.post(reverse("labelling-next", args=[annotation_set.pk]))
    assert response.status_code == 404


@pytest.mark.django_db
def test_the_api_runs_a_session_next_submit_back_and_done(client):
    annotation_set, reader = _solo_set(2)
    client.force_login(reader)
    first = client.post(reverse("labelling-next", args=[annotation_set.pk])).json()
    (frame,) = first["image"]["frames"]
    image = Image.objects.get(pk=first["image"]["id"])
    assert frame.startswith("/files/") and frame.endswith(image.file.name)
    assert client.get(frame).content == image.file.read()
    prefetched = client.post(
        reverse("labelling-next", args=[annotation_set.pk]),
        {"exclude": [first["label"]["id"]]},
        content_type="application/json",
    ).json()
    assert prefetched["label"]["id"] != first["label"]["id"]
    patch = client.patch(
        reverse("labelling-label", args=[first["label"]["id"]]),
        {"adnexal": True, "active_seconds_delta": 2},
        content_type="application/json",
    )
    assert patch.json()["label"]["adnexal"] is True
    incomplete = client.post(
        reverse("labelling-submit", args=[first["label"]["id"]]),
        {},
        content_type="application/json",
    )
    assert incomplete.status_code == 400 and "lesion" in incomplete.json()["missing"]
    for body in (first, prefetched):
        done = client.post(
            reverse("labelling-submit", args=[body["label"]["id"]]),
            ANSWERS,
            content_type="application/json",
        )
        assert done.status_code == 200
    assert done.json()["progress"] == {"done": 2, "quota": 2}
    back = client.get(
        reverse("labelling-history", args=[annotation_set.pk]),
        {"before": prefetched["label"]["id"]},
    )
    assert back.json()["label"]["id"] == first["label"]["id"]
    assert client.post(reverse("labelling-next", args=[annotation_set.pk])).status_code == 204


@pytest.mark.django_db
def test_a_flagged_image_is_hidden_from_everyone_but_administrators(client):
    annotation_set, reader = _solo_set(2)
    client.force_login(reader)
    body = client.post(reverse("labelling-next", args=[annotation_set.pk])).json()
    image_id = body["image"]["id"]
    flagged = client.post(
        reverse("labelling-flag", args=[image_id]),
        {"reason": "name visible"},
        content_type="application/json",
    )
    assert flagged.status_code == 201
    assert client.get(reverse("annotation:image_file", args=[image_id])).status_code == 404
    nxt = client.post(reverse("labelling-next", args=[annotation_set.pk])).json()
    assert nxt["image"]["id"] != image_id
    client.force_login(UserFactory(role=Role.ADMINISTRATOR))
    assert client.get(reverse("annotation:image_file", args=[image_id])).status_code == 200


@pytest.mark.django_db
def test_autosave_keeps_the_lease_and_cannot_half_change_a_submitted_label():
    annotation_set, reader = _solo_set(1)
    label = labelling_factories.label_next(annotation_set=annotation_set, reader=reader)
    LabelSlot.objects.update(leased_until=timezone.now())
    labelling.label_autosave(label=label, user=reader, answers={"lesion": True})
    assert LabelSlot.objects.get().leased_until > timezone.now()
    labelling.label_submit(label_id=label.pk, user=reader, answers=ANSWERS)
    with pytest.raises(labelling.LabellingError, match="submitting again"):
        labelling.label_autosave(label=label, user=reader, answers={"cannot_determine": True})
    labelling.label_autosave(label=label, user=reader, answers={}, active_seconds_delta=3)
    assert Label.objects.get(pk=label.pk).active_seconds == 3


@pytest.mark.django_db
def test_a_flag_takes_the_image_out_of_the_quota_and_a_restore_puts_it_back(client_for):
    annotation_set, reader = _solo_set(3)
    image = annotation_set.items.get(position=2).image
    labelling.image_flag(image=image, user=reader)
    assert reader_quota(AnnotationSet.objects.get(pk=annotation_set.pk)) == 2
    flag = image.flags.get()
    client_for(Role.ADMINISTRATOR).post(
        reverse("annotation:flag_resolve", args=[flag.pk]), {"decision": "restored"}
    )
    assert reader_quota(AnnotationSet.objects.get(pk=annotation_set.pk)) == 3
    assert LabelSlot.objects.filter(done=False).count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"adnexal": "maybe"},
        {"dimension": "4d"},
        {"unknown": True},
        {"cannot_determine_reason": "x" * 501},
        {"cannot_determine": "yes"},
        {"active_seconds_delta": "soon"},
    ],
)
def test_hostile_answers_are_refused_with_a_reason(client, body):
    annotation_set, reader = _solo_set(1)
    client.force_login(reader)
    label = client.post(reverse("labelling-next", args=[annotation_set.pk])).json()["label"]
    response = client.patch(
        reverse("labelling-label", args=[label["id"]]), body, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["detail"]
    assert Label.objects.get(pk=label["id"]).adnexal is None


@pytest.mark.django_db
def test_next_refuses_a_malformed_exclude_list(client):
    annotation_set, reader = _solo_set(1)
    client.force_login(reader)
    response = client.post(
        reverse("labelling-next", args=[annotation_set.pk]),
        {"exclude": ["1; DROP TABLE"]},
        content_type="application/json",
    )
    assert response.status_code == 400


@pytest.mark.django_db
def test_submit_can_bring_the_next_image_in_the_same_round_trip(client):
    annotation_set, reader = _solo_set(2)
    client.force_login(reader)
    first = client.post(reverse("labelling-next", args=[annotation_set.pk])).json()
    body = client.post(
        reverse("labelling-submit", args=[first["label"]["id"]]),
        {**ANSWERS, "next": True},
        content_type="application/json",
    ).json()
    assert body["label"]["status"] == "submitted"
    assert body["next"]["label"]["id"] != first["label"]["id"]
    assert body["next"]["image"]["id"] != first["image"]["id"]
    last = client.post(
        reverse("labelling-submit", args=[body["next"]["label"]["id"]]),
        {**ANSWERS, "next": True},
        content_type="application/json",
    ).json()
    assert last["next"] is None and last["progress"] == {"done": 2, "quota": 2}


@pytest.mark.django_db
def test_an_answer_from_a_reader_taken_off_the_set_is_kept_and_no_next_is_served(client):
    annotation_set, reader = _solo_set(2)
    client.force_login(reader)
    first = client.post(reverse("labelling-next", args=[annotation_set.pk])).json()
    annotation_set_reader_remove(annotation_set=annotation_set, reader=reader)
    done = client.post(
        reverse("labelling-submit", args=[first["label"]["id"]]),
        {**ANSWERS, "next": True},
        content_type="application/json",
    )
    assert done.status_code == 200
    assert done.json()["next"] is None
    assert Label.objects.get(pk=first["label"]["id"]).status == Label.SUBMITTED


@pytest.mark.django_db
def test_the_labelling_bodies_are_the_shapes_the_openapi_document_declares(client):
    from annotation.labelling import serializers as shapes
    from tests.response_shapes import fits

    annotation_set, reader = _solo_set(2)
    client.force_login(reader)
    fits(shapes.LabellingSetSerializer(many=True), client.get(reverse("labelling-sets")).json())
    first = client.post(reverse("labelling-next", args=[annotation_set.pk])).json()
    fits(shapes.LabelScreenSerializer, first)
    saved = client.patch(
        reverse("labelling-label", args=[first["label"]["id"]]),
        {"adnexal": True},
        content_type="application/json",
    ).json()
    fits(shapes.LabelScreenSerializer, saved)
    refused = client.post(
        reverse("labelling-submit", args=[first["label"]["id"]]),
        {},
        content_type="application/json",
    ).json()
    fits(shapes.RefusedAnswersSerializer, refused)
    body = client.post(
        reverse("labelling-submit", args=[first["label"]["id"]]),
        {**ANSWERS, "next": True},
        content_type="application/json",
    ).json()
    fits(shapes.LabelSubmittedSerializer, body)
    back = client.get(reverse("labelling-history", args=[annotation_set.pk])).json()
    fits(shapes.LabelScreenSerializer, back)


@pytest.mark.django_db
def test_the_set_progress_and_export_bodies_are_the_declared_shapes(client):
    from annotation.labelling import serializers as shapes
    from tests.response_shapes import fits

    annotation_set, reader = _solo_set(2)
    label, _ = labelling.label_next_with_progress(
        annotation_set_id=annotation_set.pk, reader=reader
    )
    labelling.label_submit(label_id=label.pk, user=reader, answers=ANSWERS)
    client.force_login(UserFactory(role=Role.COORDINATOR))
    progress = client.get(reverse("annotation-set-progress", args=[annotation_set.pk])).json()
    fits(shapes.SetProgressSerializer, progress)
    for what, shape in (
        ("labels", shapes.LabelExportRowSerializer),
        ("consensus", shapes.ConsensusRowSerializer),
    ):
        rows = client.get(reverse("annotation-set-export", args=[annotation_set.pk, what])).json()
        assert rows
        fits(shape(many=True), rows)


@pytest.mark.django_db
def test_an_active_reader_is_defined_once_for_the_orm_and_the_sql():
    from annotation.labelling import sql as labelling_sql
    from annotation.labelling.sets import active_readers, is_reader, quota_share, sets_read_by

    _images(6)
    first, second, third = _readers(3)
    annotation_set = annotation_set_create(name="s", readers=[first, second, third], size=6)
    annotation_set_reader_remove(annotation_set=annotation_set, reader=first)
    state = labelling_sql.reader_state(annotation_set.pk, first.pk, ())
    assert state["readers"] == active_readers(annotation_set.pk).count() == 2
    assert not state["reading"] and not is_reader(annotation_set.pk, first)
    assert labelling_sql.reader_state(annotation_set.pk, second.pk, ())["reading"]
    assert list(sets_read_by(first)) == [] and list(sets_read_by(second)) == [annotation_set]
    share = quota_share(annotation_set.planned_readings, 2)
    assert labelling.reader_progress(annotation_set.pk, second)["quota"] == share
    assert reader_quota(annotation_set) == share
