"""Redis stops: signed-in pages, labelling, reading and reports keep working from the
database, live updates stop, and a job submitted meanwhile waits in the database; when
Redis is back, live updates resume and the job runs.

Real processes throughout, on this test's own Redis (CI's shared one must never stop): the
production server (uvicorn, production_application) and a Celery worker. Redis keeps its
data across the restart (append-only file), as a production Redis does, so a session ended
during the outage must not come back from Redis.
"""

import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests
from channels.layers import channel_layers
from django.conf import global_settings
from django.db import transaction
from django.urls import reverse
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from annotation.labelling.sets import annotation_set_create
from annotation.models import DemoDataJob, Label
from base import broadcast as broadcast_module
from base import cache as cache_module
from base.broadcast import broadcast
from base.cache import DegradingRedisCache
from base.jobs import WAITING_FOR_BROKER
from base.models import JobStatus
from base.roles import Role
from ovarian_web.local_services import free_port, redis_command, uvicorn_command, wait_for_port
from studies.models import CaseReading
from tests.annotation_tests.test_labelling import ANSWERS
from tests.factories import PASSWORD, UserFactory
from tests.inference_tests.test_report import scored_exam
from tests.studies_tests.design_factories import designed_study, exam_with_images

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


class RedisServer:
    """A Redis of this test's own, on a free port, that it stops and starts again."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.command = [*redis_command(self.port), "--appendonly", "yes", "--dir", str(directory)]
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port, process=self.process, seconds=120)
        # Listening is not yet answering: Redis first loads its append-only file.
        client = redis.Redis(port=self.port)
        try:
            _until(lambda: _answers(client), "Redis to load its data")
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def _answers(client: redis.Redis) -> bool:
    try:
        return client.ping()
    except redis.BusyLoadingError:
        return False


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _end(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def stack(settings, server_env, tmp_path):
    """This test's Redis, the production server and a worker on the default queue."""
    # The server checks passwords with the production hashers, so users here must use them.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    env = {
        **server_env,
        "REDIS_URL": redis_server.url,
        "DEMO_DATA_DIR": str(tmp_path / "demo"),
        "PYTHONUNBUFFERED": "1",  # the logs, for a failure's diagnosis
    }
    port = free_port()
    server = _start(uvicorn_command("127.0.0.1", port, workers=1), env, tmp_path / "server.log")
    worker_command = [sys.executable, "-m", "celery", "-A", "ovarian_web", "worker"]
    worker_command += ["-Q", "default", "--pool", "solo", "--without-mingle", "--without-gossip"]
    worker = _start(worker_command, env, tmp_path / "worker.log")
    try:
        wait_for_port(port, process=server, seconds=600)  # a loaded machine starts slowly
        yield redis_server, f"127.0.0.1:{port}"
    finally:
        _end(worker)
        _end(server)
        redis_server.stop()


def _sign_in(host: str, user) -> requests.Session:
    session = requests.Session()
    login = f"http://{host}/accounts/login/"
    session.get(login).raise_for_status()
    response = session.post(
        login,
        {
            "username": user.username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    return session


def _json(session: requests.Session, method: str, url: str, body: dict | None = None):
    headers = {"X-CSRFToken": session.cookies.get("csrftoken", "")}
    return session.request(method, url, json=body, headers=headers)


def _dashboard_socket(host: str, session: requests.Session, set_id: int):
    cookie = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    return connect(
        f"ws://{host}/ws/annotation-sets/{set_id}/",
        additional_headers={"Cookie": cookie},
        origin=f"http://{host}",
        open_timeout=10,
    )


def _label_one(session: requests.Session, base: str, set_id: int) -> None:
    response = _json(session, "POST", base + reverse("labelling-next", args=[set_id]))
    assert response.status_code == 200, response.text[:500]
    url = base + reverse("labelling-submit", args=[response.json()["label"]["id"]])
    submitted = _json(session, "POST", url, ANSWERS)
    assert submitted.status_code == 200, submitted.text[:500]


def _until(condition, what: str, seconds: float = 120):
    deadline = time.monotonic() + seconds  # a hung process fails the test, it does not hang it
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"still waiting for {what}")


def test_the_site_works_without_redis_and_catches_up_when_it_is_back(stack):
    redis_server, host = stack
    base = f"http://{host}"
    reader = UserFactory(role=Role.RADIOLOGIST)
    clinician = UserFactory(role=Role.CLINICIAN)
    administrator = UserFactory(role=Role.ADMINISTRATOR)
    for _ in range(2):
        exam_with_images(outcome=None, images=2)
    annotation_set = annotation_set_create(name="outage", readers=[reader], size=4, seed=1)
    study = designed_study(readers=[reader], malignant=1, benign=1, practice=0)
    reading_session = study.sessions.get(arm="without_ai")
    exam, _, _ = scored_exam()

    # Signed in while Redis is up: these sessions are cached in Redis.
    admin = _sign_in(host, administrator)
    doctor = _sign_in(host, clinician)
    report = reverse("inference:report", args=[exam.pk])
    assert doctor.get(base + report).status_code == 200
    with _dashboard_socket(host, admin, annotation_set.pk) as live:
        redis_server.stop()
        # Live updates stop: the open socket is closed (the page shows its notice)...
        with pytest.raises(ConnectionClosed):
            live.recv(timeout=60)
    # ...and new ones are refused until Redis is back.
    with pytest.raises(InvalidStatus):
        _dashboard_socket(host, admin, annotation_set.pk)

    # Signing in, labelling, reading and the report work from the database.
    radiologist = _sign_in(host, reader)
    screen = reverse("annotation:labelling_screen", args=[annotation_set.pk])
    assert radiologist.get(base + screen).status_code == 200
    for _ in range(2):
        _label_one(radiologist, base, annotation_set.pk)
    assert Label.objects.filter(reader=reader, submitted_at__isnull=False).count() == 2

    url = base + reverse("reading-next", args=[reading_session.pk])
    response = _json(radiologist, "POST", url)
    assert response.status_code == 200, response.text[:500]
    reading_id = response.json()["reading"]["id"]
    url = base + reverse("reading-submit", args=[reading_id])
    submitted = _json(radiologist, "POST", url, {"malignant": True, "confidence": 85})
    assert submitted.status_code == 200, submitted.text[:500]
    assert CaseReading.objects.get(pk=reading_id).answered_at is not None

    assert doctor.get(base + report).status_code == 200

    # A job submitted now is stored, marked unsent, and the request answers at once.
    created = _json(admin, "POST", base + "/api/jobs/demo-data/", {"patients": 2, "seed": 3})
    assert created.status_code == 201, created.text[:500]
    job = DemoDataJob.objects.get(pk=created.json()["id"])
    assert job.status == JobStatus.QUEUED and job.send_failed_at is not None
    assert job.message == WAITING_FOR_BROKER
    jobs_page = admin.get(base + reverse("annotation:job_list"))
    assert jobs_page.status_code == 200 and WAITING_FOR_BROKER in jobs_page.text

    # Signed out during the outage: the session Redis still holds must not come back.
    ended = doctor.cookies["sessionid"]
    signed_out = doctor.post(
        base + reverse("logout"),
        headers={"X-CSRFToken": doctor.cookies["csrftoken"]},
        allow_redirects=False,
    )
    assert signed_out.status_code == 302

    redis_server.start()

    # The worker's sweep sends the job; the worker, reconnected, runs it.
    job = _until(
        lambda: DemoDataJob.objects.filter(pk=job.pk, status=JobStatus.SUCCEEDED).first(),
        "the demo-data job to run",
        seconds=600,
    )
    assert job.send_failed_at is None and job.attempts == 1

    # Live updates resume: a label submitted now reaches the dashboard.
    live = _until(lambda: _socket_or_none(host, admin, annotation_set.pk), "the dashboard socket")
    with live:
        _label_one(radiologist, base, annotation_set.pk)
        assert '"labelling.progress"' in live.recv(timeout=60)

    again = requests.get(
        base + report, cookies={"sessionid": ended}, allow_redirects=False, timeout=60
    )
    assert again.status_code == 302 and "/accounts/login/" in again.headers["Location"]


def _socket_or_none(host, session, set_id):
    try:
        return _dashboard_socket(host, session, set_id)
    except InvalidStatus:
        return None


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_the_cache_misses_while_redis_is_down_and_drops_what_was_written_meanwhile(
    redis_server, monkeypatch
):
    monkeypatch.setattr(cache_module, "RETRY_SECONDS", 0)  # try Redis on every call
    monkeypatch.setattr(cache_module, "outage", cache_module.Outage())
    options = {"OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0}}
    cache = DegradingRedisCache(redis_server.url, options)
    cache.set("session", "signed in")
    cache.set("other", "kept")
    redis_server.stop()

    assert cache.get("session") is None
    cache.delete("session")  # signed out meanwhile: Redis still holds the old value
    assert cache.add("new", 1) is False and cache.get_many(["other"]) == {}
    with pytest.raises(ValueError):
        cache.incr("counter")

    redis_server.start()  # with its data (append-only file)
    assert cache.get("other") == "kept"
    assert cache.get("session") is None  # deleted before Redis was used again
    assert cache.add("new", 1) is True


def test_a_broadcast_without_the_channel_layer_is_dropped_and_the_work_goes_on(
    redis_server, settings
):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": redis_server.url, "socket_connect_timeout": 0.5}]},
        }
    }
    channel_layers.backends.clear()
    redis_server.stop()
    try:
        job = DemoDataJob.objects.create(patients=1, seed=1)
        with transaction.atomic():
            broadcast("jobs", "job.update", {"id": job.pk})
            job.message = "still saved"
            job.save(update_fields=["message"])
        job.refresh_from_db()
        assert job.message == "still saved"
    finally:
        channel_layers.backends.clear()
        broadcast_module.layer_down_until = 0.0
