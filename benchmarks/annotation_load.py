"""Labelling under load: simulated radiologists against the production server setup.

    python benchmarks/annotation_load.py [--postgres URL] [--redis URL] [--workers 2]

Creates a fresh database (PostgreSQL with --postgres, else SQLite) with a 5000-image set,
starts the production server on it (uvicorn, --workers processes; with --redis, Redis for
the cache, sessions and the channel layer, as in production), and drives simulated
radiologists, each its own process on its own keep-alive HTTP connection (so the client
is not what is measured), each looping: fetch the current image's pixels, submit its
answers + get the next one. Two runs: saturation (10 users, no pause) and realistic
(30 users, each looking 1 to 3 s, 2 s on average, at each image, starting at random moments).
Prints median and p95 latency of "submit + next" and of the image fetch, labelled images
per second, errors and over-served images, the server's (and with --postgres, the
database's) CPU per labelled image, and as the baseline in the same run the requests per
second of a bare Django view (the login page) on the same server, driven the same way.
Then labels the rest of the set (5000 labels) and times the exports of all labels and of
the consensus, through the API (CSV) and in-process.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_setup import child_json, django_setup, fresh_postgres  # noqa: E402  # beside this file

ANSWERS = {
    "adnexal": True,
    "lesion": False,
    "ascites": False,
    "blood_flow": False,
    "dimension": "2d",
    "cannot_determine": False,
}


def _session_for(user) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def setup_database(database_url: str, var_dir: Path, users: int) -> dict:
    """Child process: migrate, make 5000 small images and a set, return session cookies."""
    django_setup(database_url, var_dir, migrate=True)
    import numpy as np
    from django.contrib.auth.models import Group, User

    from annotation import services
    from annotation.imaging.prep import PreparedFile, encode_frame
    from annotation.labelling.sets import annotation_set_create

    center = services.center_upsert(
        code="B", name="Bench", is_internal=True, is_oncology_center=False
    )
    rng = np.random.default_rng(1)
    frame = encode_frame(rng.integers(0, 255, (120, 160), dtype=np.uint8))
    for index in range(1000):
        patient = services.patient_get_or_create(hospital_id=f"B-{index}", birth_year=1970)
        exam = services.exam_upsert(
            patient=patient, center=center, exam_date="2024-01-01", accession_number=f"ACC-{index}"
        )
        for copy in range(5):
            prepared = PreparedFile(
                kind="png",
                source_sha256=f"{index:032d}{copy:032d}",
                frames=[frame],
                frame_count=1,
                color_model="MONOCHROME2",
                region_rule="given",
            )
            services.image_frames_store(exam=exam, prepared=prepared)
    group = Group.objects.get(name="radiologist")
    readers, cookies = [], []
    for index in range(users):
        user = User.objects.create(username=f"reader{index}")
        user.groups.add(group)
        readers.append(user)
        cookies.append(_session_for(user))
    coordinator = User.objects.create(username="coordinator")
    coordinator.groups.add(Group.objects.get(name="coordinator"))
    annotation_set = annotation_set_create(name="bench", readers=readers, size=5000, seed=1)
    return {"set": annotation_set.pk, "sessions": cookies, "coordinator": _session_for(coordinator)}


class Client:
    """One simulated radiologist on one keep-alive connection."""

    def __init__(self, port: int, session: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = f"sessionid={session}; csrftoken={'x' * 32}"

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        headers = {"Cookie": self.cookie, "X-CSRFToken": "x" * 32, "Referer": "http://127.0.0.1/"}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=payload, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()


def radiologist(
    port: int, set_id: int, session: str, number: int, rounds: int, pause: float, start_at: float
) -> dict:
    """One simulated radiologist (in its own process): `rounds` images, timings in seconds."""
    # People do not act in step: each starts at a random moment and looks for a random
    # time around `pause` (seeded, so runs compare).
    rng = random.Random(number)
    time.sleep(max(0.0, start_at - time.time()) + rng.uniform(0, pause))
    client = Client(port, session)
    submit_next, fetch, errors = [], [], []
    done = {"submit_next": submit_next, "fetch": fetch, "errors": errors}
    status, body = client.call("POST", f"/api/labelling/sets/{set_id}/next/")
    if status != 200:
        errors.append(status)
        return {**done, "ended": time.time()}
    current = json.loads(body)
    for _ in range(rounds):
        started = time.perf_counter()
        status, _ = client.call("GET", current["image"]["frames"][0])
        fetched = time.perf_counter()
        if status != 200:
            errors.append(status)
        time.sleep(rng.uniform(0.5 * pause, 1.5 * pause))  # looking at the image
        began = time.perf_counter()
        # Submit and get the next image in one round trip, as the screen does.
        status, body = client.call(
            "POST",
            f"/api/labelling/labels/{current['label']['id']}/submit/",
            {**ANSWERS, "next": True},
        )
        ended = time.perf_counter()
        if status != 200:
            errors.append(status)
            break
        fetch.append(fetched - started)
        submit_next.append(ended - began)
        current = json.loads(body)["next"]
        if current is None:
            break
    return {**done, "ended": time.time()}


def cpu_seconds(pid: int | None = None, name: str = "") -> float:
    """CPU time (user + system) used so far by a process and its children, or by every
    process called `name` (Linux /proc).

    The machine is shared: CPU per request is steadier than wall time when others are busy."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            command, fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue  # ended meanwhile
        fields = fields.split()
        if (
            int(stat.parent.name) == pid
            or int(fields[1]) == pid
            or (name and command.endswith(f"({name}"))
        ):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wait_until_idle(pid: int, seconds: float = 300) -> None:
    """Return once the server's processes use under a tenth of a core (all started)."""
    deadline = time.monotonic() + seconds
    used = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = cpu_seconds(pid)
        if now - used < 0.1:
            return
        used = now


def _processes(count: int) -> ProcessPoolExecutor:
    # Forked before any Django import in this process: each child is a small HTTP client.
    return ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("fork"))


def run(port: int, set_id: int, sessions: list[str], rounds: int, pause: float) -> dict:
    start_at = time.time() + 2.0  # every process is up by then
    with _processes(len(sessions)) as pool:
        futures = [
            pool.submit(radiologist, port, set_id, session, number, rounds, pause, start_at)
            for number, session in enumerate(sessions)
        ]
        results = [future.result() for future in futures]
    elapsed = max(result["ended"] for result in results) - start_at
    submit_next = [value for result in results for value in result["submit_next"]]
    fetch = [value for result in results for value in result["fetch"]]

    def p95(values):
        return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else float("nan")

    return {
        "labelled": len(submit_next),
        "seconds": elapsed,
        "rate": len(submit_next) / elapsed,
        "submit_next_median_ms": 1000 * statistics.median(submit_next),
        "submit_next_p95_ms": 1000 * p95(submit_next),
        "fetch_median_ms": 1000 * statistics.median(fetch),
        "fetch_p95_ms": 1000 * p95(fetch),
        "errors": sum(len(result["errors"]) for result in results),
    }


def hammer(port: int, requests: int, start_at: float) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    time.sleep(max(0.0, start_at - time.time()))
    for _ in range(requests):
        connection.request("GET", "/accounts/login/")
        connection.getresponse().read()
    return time.time()


def bare_view_rate(port: int, users: int, requests_each: int) -> float:
    start_at = time.time() + 2.0
    with _processes(users) as pool:
        ends = list(pool.map(hammer, [port] * users, [requests_each] * users, [start_at] * users))
    return users * requests_each / (max(ends) - start_at)


def check(database_url: str, var_dir: Path, set_id: int) -> dict:
    """Child process: over-served images and labels stored, after the runs."""
    django_setup(database_url, var_dir, migrate=False)
    from django.db.models import Count, F

    from annotation.models import AnnotationItem, Label

    over = (
        AnnotationItem.objects.filter(annotation_set_id=set_id)
        .annotate(n=Count("labels"))
        .filter(n__gt=F("planned_readers"))
        .count()
    )
    return {"over_served": over, "labels": Label.objects.filter(annotation_set_id=set_id).count()}


def fill_and_export(database_url: str, var_dir: Path, set_id: int) -> dict:
    """Child process: answer every reading still open (the drafts, then free slots, spread
    over the readers), so the set has all its labels; then time the export of all labels."""
    django_setup(database_url, var_dir, migrate=False)
    import csv
    import io

    from django.db import transaction
    from django.utils import timezone

    from annotation.labelling import stats as label_stats
    from annotation.models import AnnotationSet, Label, LabelSlot

    annotation_set = AnnotationSet.objects.get(pk=set_id)
    now = timezone.now()
    readers = list(annotation_set.readers.values_list("reader_id", flat=True))
    with transaction.atomic():
        drafts = Label.objects.filter(annotation_set=annotation_set, status=Label.DRAFT)
        for item_id, reader_id in drafts.values_list("item_id", "reader_id"):
            LabelSlot.objects.filter(item_id=item_id, reader_id=reader_id).update(done=True)
        drafts.update(status=Label.SUBMITTED, submitted_at=now, **ANSWERS)
        open_slots = list(LabelSlot.objects.filter(annotation_set=annotation_set, done=False))
        Label.objects.bulk_create(
            Label(
                item_id=slot.item_id,
                annotation_set=annotation_set,
                reader_id=readers[index % len(readers)],
                status=Label.SUBMITTED,
                shown_at=now,
                submitted_at=now,
                **ANSWERS,
            )
            for index, slot in enumerate(open_slots)
        )
        for index, slot in enumerate(open_slots):
            slot.reader_id, slot.done = readers[index % len(readers)], True
        LabelSlot.objects.bulk_update(open_slots, ["reader", "done"], batch_size=1000)
    started = time.perf_counter()
    rows = label_stats.label_export_rows(annotation_set)
    writer = csv.DictWriter(io.StringIO(), fieldnames=label_stats.LABEL_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return {"export_seconds": time.perf_counter() - started, "export_rows": len(rows)}


def timed_get(port: int, session: str, path: str) -> tuple[float, int, int]:
    """Seconds, status and size of one GET (a fresh connection, as a browser download)."""
    client = Client(port, session)
    started = time.perf_counter()
    status, body = client.call("GET", path)
    return time.perf_counter() - started, status, len(body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres")
    parser.add_argument("--redis", help="Redis URL: cache, sessions and channel layer")
    parser.add_argument("--workers", type=int, default=2, help="server processes (uvicorn)")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "setup":
        print(json.dumps(setup_database(args.rest[0], Path(args.rest[1]), int(args.rest[2]))))
        return
    if args.step == "check":
        print(json.dumps(check(args.rest[0], Path(args.rest[1]), int(args.rest[2]))))
        return
    if args.step == "fill":
        print(json.dumps(fill_and_export(args.rest[0], Path(args.rest[1]), int(args.rest[2]))))
        return

    from ovarian_web.local_services import free_port, uvicorn_command, wait_for_port

    work = Path(tempfile.mkdtemp(prefix="label-bench-"))
    url = (
        fresh_postgres(args.postgres, "ovascan_label_bench")
        if args.postgres
        else f"sqlite:///{work / 'db.sqlite3'}"
    )
    print(
        f"database: {'PostgreSQL' if args.postgres else 'SQLite'}"
        f"{'; Redis' if args.redis else ''}; setting up 5000 images…"
    )
    prepared = child_json(__file__, "--step", "setup", url, work, 40)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "VAR_DIR": str(work),
        "MEDIA_ROOT": str(work / "media"),
    }
    env.pop("REDIS_URL", None)
    if args.redis:
        env["REDIS_URL"] = args.redis
    server = subprocess.Popen(
        uvicorn_command("127.0.0.1", port, args.workers),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process=server, seconds=180)  # a busy machine starts slowly
        wait_until_idle(server.pid)  # every worker process has imported everything
        bare_view_rate(port, 4, 20)  # warm up
        cpu = cpu_seconds(server.pid)
        bare = bare_view_rate(port, 10, 100)
        bare_cpu = (cpu_seconds(server.pid) - cpu) / 1000
        print(
            f"bare Django view (login page), 10 users: {bare:.0f} requests/s; "
            f"server CPU {1000 * bare_cpu:.1f} ms per request"
        )
        sessions = prepared["sessions"]
        set_id = prepared["set"]
        for label, users, rounds, pause in (("saturation", 10, 60, 0.0), ("realistic", 30, 8, 2.0)):
            cpu, database = cpu_seconds(server.pid), cpu_seconds(name="postgres")
            result = run(
                port,
                set_id,
                sessions[:users] if label == "saturation" else sessions[10 : 10 + users],
                rounds,
                pause,
            )
            per_label = (cpu_seconds(server.pid) - cpu) / result["labelled"]
            database = (cpu_seconds(name="postgres") - database) / result["labelled"]
            database_text = f"; PostgreSQL {1000 * database:.1f} ms" if args.postgres else ""
            print(
                f"{label} ({users} users, {pause:g} s per image on average): "
                f"{result['rate']:.1f} labelled images/s ({result['rate'] / bare:.2f} of the "
                f"bare view's rate); submit+next median {result['submit_next_median_ms']:.1f} "
                f"ms, p95 {result['submit_next_p95_ms']:.1f} ms; image fetch median "
                f"{result['fetch_median_ms']:.1f} ms, p95 {result['fetch_p95_ms']:.1f} ms; "
                f"errors {result['errors']}; server CPU {1000 * per_label:.1f} ms per labelled "
                f"image ({per_label / bare_cpu:.1f} bare-view requests){database_text}"
            )
        checked = child_json(__file__, "--step", "check", url, work, set_id)
        print(f"over-served images: {checked['over_served']}; labels stored {checked['labels']}")
        filled = child_json(__file__, "--step", "fill", url, work, set_id)
        print(
            f"export of {filled['export_rows']} labels, in-process (rows + CSV): "
            f"{filled['export_seconds']:.3f} s"
        )
        for what in ("labels", "consensus"):
            seconds, status, size = timed_get(
                port, prepared["coordinator"], f"/api/annotation-sets/{set_id}/{what}/?as=csv"
            )
            print(f"API CSV export of the {what} (status {status}, {size} bytes): {seconds:.3f} s")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
