"""The coordinator's side: drawing a set on the page, the live dashboard, agreement,
adjudication and consensus, exports; and the administrator's flag review."""

import csv
import io
import itertools

import numpy as np
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.urls import reverse

from annotation.consumers import LabellingDashboardConsumer
from annotation.labelling import flow as labelling
from annotation.labelling import stats as label_stats
from annotation.labelling.sets import annotation_set_create
from annotation.models import (
    AnnotationSet,
    Image,
    ImageFlag,
    ImageSource,
    Label,
    LabelChange,
)
from base import broadcast
from base.roles import Role
from tests import image_factories, labelling_factories
from tests.factories import CenterFactory, ExamFactory, UserFactory

YES = {
    "adnexal": True,
    "lesion": True,
    "ascites": False,
    "blood_flow": False,
    "dimension": "2d",
    "cannot_determine": False,
}
_unique = itertools.count()


def _images(count: int) -> None:
    center = CenterFactory(code="C1")
    for _ in range(count):
        number = next(_unique)
        image_factories.image_store(
            exam=ExamFactory(center=center),
            pixels=np.full((8, 8), number % 250, dtype=np.uint8),
            source=ImageSource.PNG,
            color_model="MONOCHROME2",
            source_sha256=f"{number:064d}",
        )


def _read_all(annotation_set, reader, answers_for) -> None:
    while label := labelling_factories.label_next(annotation_set=annotation_set, reader=reader):
        labelling.label_submit(label_id=label.pk, user=reader, answers=answers_for(label))


@pytest.fixture
def two_readers_set(db):
    _images(6)
    first, second = (UserFactory(role=Role.RADIOLOGIST, username=n) for n in ("ann", "bob"))
    annotation_set = annotation_set_create(
        name="pair", readers=[first, second], size=6, seed=1, readers_per_image=2, adjudicator=first
    )
    _read_all(annotation_set, first, lambda label: YES)

    # bob says "no lesion" on the first two images only: two disagreements
    def bob(label):
        return {**YES, "lesion": label.item.position >= 2}

    _read_all(annotation_set, second, bob)
    return annotation_set, first, second


@pytest.mark.django_db
def test_a_coordinator_draws_a_set_on_the_page(client_for):
    _images(5)
    readers = [UserFactory(role=Role.RADIOLOGIST) for _ in range(2)]
    client = client_for(Role.COORDINATOR)
    response = client.post(
        reverse("annotation:set_list"),
        {
            "name": "Pilot",
            "size": 4,
            "seed": 9,
            "readers": [r.pk for r in readers],
            "readers_per_image": 2,
            "calibration_size": 1,
        },
    )
    annotation_set = AnnotationSet.objects.get(name="Pilot")
    assert response.status_code == 302 and annotation_set.items.count() == 4
    refused = client.post(
        reverse("annotation:set_list"),
        {
            "name": "Too many",
            "size": 4,
            "seed": 9,
            "readers": [readers[0].pk],
            "readers_per_image": 2,
            "calibration_size": 0,
        },
    )
    assert b"needs at least that many radiologists" in refused.content


@pytest.mark.django_db
def test_the_dashboard_counts_progress_time_and_disagreements(two_readers_set, client_for):
    annotation_set, first, second = two_readers_set
    progress = (
        client_for(Role.COORDINATOR)
        .get(reverse("annotation:set_progress", args=[annotation_set.pk]))
        .json()
    )
    assert (progress["readings_done"], progress["readings_planned"]) == (12, 12)
    assert progress["open_disagreements"] == 2
    assert [r["done"] for r in progress["readers"]] == [6, 6]
    assert progress["agreement"]["adnexal"] is None  # everyone said yes: alpha undefined
    assert progress["agreement"]["lesion"] < 0.5


@pytest.mark.django_db
def test_agreement_kappa_and_consensus_after_adjudication(two_readers_set):
    annotation_set, first, second = two_readers_set
    lesion = label_stats.agreement(annotation_set)["lesion"]
    [pair] = lesion["pairwise"]
    assert pair["readers"] == ["ann", "bob"] and pair["n"] == 6
    assert pair["kappa"] == pytest.approx(0.0)  # ann always yes: no agreement beyond chance
    rules = [row["rule"] for row in label_stats.consensus_rows(annotation_set)]
    assert rules.count("disagreement") == 2 and rules.count("agreed") == 4
    for item_id in label_stats.open_disagreements(annotation_set):
        item = annotation_set.items.get(pk=item_id)
        labelling.adjudicate(item=item, user=first, answers={**YES, "lesion": False})
    rows = label_stats.consensus_rows(annotation_set)
    assert [row["rule"] for row in rows].count("adjudicated") == 2
    assert label_stats.open_disagreements(annotation_set) == []
    assert LabelChange.objects.filter(adjudication__isnull=False).count() == 2
    per_reader = {
        r["reader"]: r for r in label_stats.agreement(annotation_set)["lesion"]["readers"]
    }
    assert per_reader["bob"]["agreement"] == 1.0 and per_reader["ann"]["agreement"] == 4 / 6


@pytest.mark.django_db
def test_only_the_adjudicator_settles(two_readers_set):
    annotation_set, first, second = two_readers_set
    item = annotation_set.items.get(pk=label_stats.open_disagreements(annotation_set)[0])
    with pytest.raises(labelling.LabellingError, match="adjudicator"):
        labelling.adjudicate(item=item, user=second, answers=YES)


@pytest.mark.django_db
def test_exports_carry_every_answer_and_the_consensus(two_readers_set, client_for):
    annotation_set, *_ = two_readers_set
    client = client_for(Role.COORDINATOR)
    labels = client.get(reverse("annotation:set_export", args=[annotation_set.pk, "labels", "csv"]))
    rows = list(csv.DictReader(io.StringIO(labels.content.decode())))
    assert tuple(rows[0]) == label_stats.LABEL_COLUMNS and len(rows) == 12
    consensus = client.get(
        reverse("annotation:set_export", args=[annotation_set.pk, "consensus", "json"])
    ).json()
    assert len(consensus) == 6 and {row["rule"] for row in consensus} == {"agreed", "disagreement"}
    draw = client.get(reverse("annotation:set_export", args=[annotation_set.pk, "draw", "csv"]))
    assert (
        draw.content.decode().splitlines()[0] == "position,image_id,is_calibration,planned_readers"
    )


@pytest.mark.django_db
def test_the_review_page_shows_answers_side_by_side_and_settles(two_readers_set, client):
    annotation_set, first, second = two_readers_set
    item_id = label_stats.open_disagreements(annotation_set)[0]
    client.force_login(first)
    url = reverse("annotation:adjudication_review", args=[annotation_set.pk, item_id])
    page = client.get(url)
    assert b"ann" in page.content and b"bob" in page.content
    incomplete = client.post(url, {"adnexal": "true"})
    assert b"lesion" in incomplete.content
    settled = client.post(
        url,
        {
            "adnexal": "true",
            "lesion": "false",
            "ascites": "false",
            "blood_flow": "false",
            "dimension": "2d",
        },
    )
    assert settled.status_code == 302
    assert item_id not in label_stats.open_disagreements(annotation_set)


@pytest.fixture
def adjudicator_reads_too(db):
    """Three readers read every image; ann adjudicates; bob and cy disagree on two images
    that ann has not labelled yet."""
    _images(4)
    ann, bob, cy = (UserFactory(role=Role.RADIOLOGIST, username=n) for n in ("ann", "bob", "cy"))
    annotation_set = annotation_set_create(
        name="trio", readers=[ann, bob, cy], size=4, seed=1, readers_per_image=3, adjudicator=ann
    )
    _read_all(annotation_set, bob, lambda label: YES)
    _read_all(annotation_set, cy, lambda label: {**YES, "lesion": label.item.position >= 2})
    return annotation_set, ann


@pytest.mark.django_db
def test_the_adjudicator_sees_no_answers_before_labelling_the_image(adjudicator_reads_too, client):
    annotation_set, ann = adjudicator_reads_too
    disagreements = label_stats.open_disagreements(annotation_set)
    assert len(disagreements) == 2
    client.force_login(ann)
    queue_url = reverse("annotation:adjudication_queue", args=[annotation_set.pk])
    review_url = reverse(
        "annotation:adjudication_review", args=[annotation_set.pk, disagreements[0]]
    )
    queue = client.get(queue_url)
    assert queue.context["items"].count() == 0
    assert b"2 more disagreements will appear" in queue.content
    refused = client.get(review_url)
    assert refused.status_code == 403
    assert b"Label this image yourself first" in refused.content
    assert b"bob" not in refused.content and b"cy" not in refused.content
    posted = client.post(review_url, {**{k: "true" for k in ("adnexal", "lesion")}})
    assert posted.status_code == 403 and not annotation_set.items.filter(adjudication__isnull=False)

    # A leased image (a draft) is still to be labelled; a submitted one is shown.
    label = labelling_factories.label_next(annotation_set=annotation_set, reader=ann)
    assert label.item_id == disagreements[0]
    assert client.get(review_url).status_code == 403
    labelling.label_submit(label_id=label.pk, user=ann, answers=YES)
    queue = client.get(queue_url)
    assert [item.pk for item in queue.context["items"]] == [disagreements[0]]
    page = client.get(review_url)
    assert page.status_code == 200 and b"bob" in page.content and b"cy" in page.content


@pytest.mark.django_db
def test_an_image_nobody_will_serve_the_adjudicator_is_not_held_back(db, client):
    # Two readers per image out of three: bob and cy filled both readings, ann gets none.
    _images(2)
    ann, bob, cy = (UserFactory(role=Role.RADIOLOGIST, username=n) for n in ("ann", "bob", "cy"))
    annotation_set = annotation_set_create(
        name="pairs", readers=[ann, bob, cy], size=2, seed=1, readers_per_image=2, adjudicator=ann
    )
    _read_all(annotation_set, bob, lambda label: YES)
    _read_all(annotation_set, cy, lambda label: {**YES, "lesion": False})
    client.force_login(ann)
    queue = client.get(reverse("annotation:adjudication_queue", args=[annotation_set.pk]))
    assert queue.context["items"].count() == 2 and queue.context["waiting"] == 0


@pytest.mark.django_db
def test_the_practice_set_where_the_trainee_reads_and_adjudicates_works(db, client):
    _images(3)
    trainee = UserFactory(role=Role.RADIOLOGIST)
    practice = annotation_set_create(
        name="practice", readers=[trainee], size=3, seed=7, adjudicator=trainee
    )
    client.force_login(trainee)
    queue_url = reverse("annotation:adjudication_queue", args=[practice.pk])
    assert client.get(queue_url).status_code == 200
    first = client.post(reverse("labelling-next", args=[practice.pk]), {}, "application/json")
    label_id = first.json()["label"]["id"]
    submitted = client.post(
        reverse("labelling-submit", args=[label_id]), YES, content_type="application/json"
    )
    assert submitted.status_code == 200 and submitted.json()["label"]["status"] == Label.SUBMITTED
    queue = client.get(queue_url)
    assert queue.status_code == 200 and queue.context["waiting"] == 0


@pytest.mark.django_db
def test_an_administrator_restores_or_removes_a_flagged_image(client_for):
    _images(2)
    first, second = Image.objects.all()
    reader = UserFactory(role=Role.RADIOLOGIST)
    for image in (first, second):
        labelling.image_flag(image=image, user=reader, reason="name")
    client = client_for(Role.ADMINISTRATOR)
    assert client.get(reverse("annotation:flag_list")).status_code == 200
    flags = {flag.image_id: flag for flag in ImageFlag.objects.all()}
    client.post(
        reverse("annotation:flag_resolve", args=[flags[first.pk].pk]), {"decision": "restored"}
    )
    client.post(
        reverse("annotation:flag_resolve", args=[flags[second.pk].pk]), {"decision": "removed"}
    )
    assert Image.objects.get(pk=first.pk).hidden is False
    assert not Image.objects.filter(pk=second.pk).exists()
    assert ImageFlag.objects.get(pk=flags[second.pk].pk).resolution == "removed"


@pytest.mark.django_db(transaction=True)
async def test_the_dashboard_socket_is_nudged_by_submissions_at_most_once_a_second():
    def setup():
        _images(3)
        reader = UserFactory(role=Role.RADIOLOGIST)
        coordinator = UserFactory(role=Role.COORDINATOR)
        annotation_set = annotation_set_create(name="live", readers=[reader], size=3, seed=1)
        return annotation_set, reader, coordinator

    annotation_set, reader, coordinator = await database_sync_to_async(setup)()
    communicator = WebsocketCommunicator(
        LabellingDashboardConsumer.as_asgi(), f"/ws/annotation-sets/{annotation_set.pk}/"
    )
    communicator.scope["user"] = coordinator
    communicator.scope["url_route"] = {"kwargs": {"set_id": annotation_set.pk}}
    connected, _ = await communicator.connect()
    assert connected

    @database_sync_to_async
    def submit():
        label = labelling_factories.label_next(annotation_set=annotation_set, reader=reader)
        labelling.label_submit(label_id=label.pk, user=reader, answers=YES)

    await submit()
    message = await communicator.receive_json_from(timeout=10)
    assert message == {"type": "labelling.progress", "set": annotation_set.pk}
    assert "lesion" not in message  # no answers travel to the dashboard
    await submit()  # within the second: no second nudge (the page reads again after the last)
    assert await communicator.receive_nothing(timeout=0.5)
    broadcast.recently_sent[labelling.set_group(annotation_set.pk)] -= (
        labelling.DASHBOARD_NUDGE_SECONDS
    )  # as if the second had passed
    await submit()
    assert await communicator.receive_json_from(timeout=10) == message
    await communicator.disconnect()
    assert await database_sync_to_async(Label.objects.count)() == 3


@pytest.mark.django_db
def test_the_api_exports_as_json_and_csv_and_reports_progress(two_readers_set, client_for):
    annotation_set, *_ = two_readers_set
    client = client_for(Role.COORDINATOR)
    rows = client.get(reverse("annotation-set-export", args=[annotation_set.pk, "labels"])).json()
    assert len(rows) == 12 and set(rows[0]) == set(label_stats.LABEL_COLUMNS)
    as_csv = client.get(
        reverse("annotation-set-export", args=[annotation_set.pk, "consensus"]), {"as": "csv"}
    )
    assert as_csv.content.decode().splitlines()[0] == ",".join(label_stats.CONSENSUS_COLUMNS)
    progress = client.get(reverse("annotation-set-progress", args=[annotation_set.pk])).json()
    assert progress["labels_submitted"] == 12
    assert (
        client_for(Role.RADIOLOGIST)
        .get(reverse("annotation-set-export", args=[annotation_set.pk, "labels"]))
        .status_code
        == 403
    )


@pytest.mark.django_db
def test_before_adjudication_each_reader_is_compared_with_the_others_majority():
    _images(4)
    readers = [UserFactory(role=Role.RADIOLOGIST, username=n) for n in ("a", "b", "c", "d")]
    annotation_set = annotation_set_create(
        name="four", readers=readers, size=4, seed=2, readers_per_image=4
    )
    for reader in readers:
        odd = reader.username == "c"
        _read_all(annotation_set, reader, lambda label, odd=odd: {**YES, "lesion": not odd})
    per_reader = {
        r["reader"]: r for r in label_stats.agreement(annotation_set)["lesion"]["readers"]
    }
    assert per_reader["a"]["agreement"] == 1.0 and per_reader["a"]["n"] == 4  # b, c, d: 2 to 1
    assert per_reader["c"]["agreement"] == 0.0 and per_reader["c"]["n"] == 4
