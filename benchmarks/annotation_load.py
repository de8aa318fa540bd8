"""Labelling under load: simulated radiologists against the production server setup.

    python benchmarks/annotation_load.py [--postgres URL] [--workers 2]

Creates a fresh database (PostgreSQL with --postgres, else SQLite) with a 5000-image set,
starts the production server on it (uvicorn, --workers processes), and drives simulated
radiologists over keep-alive HTTP connections, each looping: submit the answers of the
current image + get the next one, then fetch the next image's pixels. Two runs:
saturation (10 users, no pause) and realistic (30 users, each looking 1 to 3 s, 2 s on
average, at each image, starting at random moments).
Prints median and p95 latency of "submit + next" and of the image fetch, labelled images
per second, errors and over-served images, and as the baseline in the same run the
requests per second of a bare Django view (the login page) on the same server. Then
times the CSV export of all labels.
"""

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
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


def setup_database(database_url: str, var_dir: Path, users: int) -> dict:
    """Child process: migrate, make 5000 small images and a set, return session cookies."""
    django_setup(database_url, var_dir, migrate=True)
    import numpy as np
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore

    from annotation import services
    from annotation.annotation_sets import annotation_set_create
    from annotation.image_prep import PreparedFile, encode_frame

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
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(session.session_key)
    annotation_set = annotation_set_create(name="bench", readers=readers, size=5000, seed=1)
    return {"set": annotation_set.pk, "sessions": cookies}


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


def run(port: int, set_id: int, sessions: list[str], rounds: int, pause: float) -> dict:
    submit_next, fetch, errors, labelled = [], [], [], [0]
    lock = threading.Lock()

    def radiologist(session: str, number: int) -> None:
        # People do not act in step: each starts at a random moment and looks for a random
        # time around `pause` (seeded, so runs compare).
        rng = random.Random(number)
        time.sleep(rng.uniform(0, pause))
        client = Client(port, session)
        status, body = client.call("POST", f"/api/labelling/sets/{set_id}/next/")
        if status != 200:
            errors.append(status)
            return
        current = json.loads(body)
        for _ in range(rounds):
            started = time.perf_counter()
            status, _ = client.call("GET", current["image"]["frames"][0])
            fetched = time.perf_counter()
            if status != 200:
                errors.append(status)
            time.sleep(rng.uniform(0.5 * pause, 1.5 * pause))  # looking at the image
            began = time.perf_counter()
            # Submit and get the next image in one round trip, as the screen can.
            status, body = client.call(
                "POST",
                f"/api/labelling/labels/{current['label']['id']}/submit/",
                {**ANSWERS, "next": True},
            )
            ended = time.perf_counter()
            if status != 200:
                errors.append(status)
                return
            with lock:
                fetch.append(fetched - started)
                submit_next.append(ended - began)
                labelled[0] += 1
            current = json.loads(body)["next"]
            if current is None:
                return

    threads = [
        threading.Thread(target=radiologist, args=(session, number))
        for number, session in enumerate(sessions)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started

    def p95(values):
        return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else float("nan")

    return {
        "labelled": labelled[0],
        "seconds": elapsed,
        "rate": labelled[0] / elapsed,
        "submit_next_median_ms": 1000 * statistics.median(submit_next),
        "submit_next_p95_ms": 1000 * p95(submit_next),
        "fetch_median_ms": 1000 * statistics.median(fetch),
        "fetch_p95_ms": 1000 * p95(fetch),
        "errors": len(errors),
    }


def bare_view_rate(port: int, users: int, requests_each: int) -> float:
    def hammer() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(requests_each):
            connection.request("GET", "/accounts/login/")
            connection.getresponse().read()

    threads = [threading.Thread(target=hammer) for _ in range(users)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return users * requests_each / (time.perf_counter() - started)


def check_and_export(database_url: str, var_dir: Path, set_id: int) -> dict:
    """Child process: over-served images, and the time of the full CSV export."""
    django_setup(database_url, var_dir, migrate=False)
    from django.db.models import Count, F

    from annotation import label_stats
    from annotation.models import AnnotationItem, AnnotationSet, Label

    over = (
        AnnotationItem.objects.annotate(n=Count("labels"))
        .filter(n__gt=F("planned_readers"))
        .count()
    )
    annotation_set = AnnotationSet.objects.get(pk=set_id)
    started = time.perf_counter()
    rows = label_stats.label_export_rows(annotation_set)
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=label_stats.LABEL_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return {
        "over_served": over,
        "labels": Label.objects.count(),
        "export_seconds": time.perf_counter() - started,
        "export_rows": len(rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres")
    parser.add_argument("--workers", type=int, default=2, help="server processes (uvicorn)")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "setup":
        print(json.dumps(setup_database(args.rest[0], Path(args.rest[1]), int(args.rest[2]))))
        return
    if args.step == "check":
        print(json.dumps(check_and_export(args.rest[0], Path(args.rest[1]), int(args.rest[2]))))
        return

    from ovarian_web.local_services import free_port, uvicorn_command, wait_for_port

    work = Path(tempfile.mkdtemp(prefix="label-bench-"))
    url = (
        fresh_postgres(args.postgres, "ovascan_label_bench")
        if args.postgres
        else f"sqlite:///{work / 'db.sqlite3'}"
    )
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; setting up 5000 images…")
    prepared = child_json(__file__, "--step", "setup", url, work, 40)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "VAR_DIR": str(work),
        "MEDIA_ROOT": str(work / "media"),
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        uvicorn_command("127.0.0.1", port, args.workers),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process=server)
        time.sleep(2)  # every worker process up
        bare_view_rate(port, 4, 20)  # warm up
        bare = bare_view_rate(port, 10, 100)
        print(f"bare Django view (login page), 10 users: {bare:.0f} requests/s")
        sessions = prepared["sessions"]
        for label, users, rounds, pause in (("saturation", 10, 60, 0.0), ("realistic", 30, 8, 2.0)):
            result = run(
                port,
                prepared["set"],
                sessions[:users] if label == "saturation" else sessions[10 : 10 + users],
                rounds,
                pause,
            )
            print(
                f"{label} ({users} users, {pause:g} s per image on average): "
                f"{result['rate']:.1f} labelled images/s ({result['rate'] / bare:.2f} of the "
                f"bare view's rate); submit+next median {result['submit_next_median_ms']:.1f} "
                f"ms, p95 {result['submit_next_p95_ms']:.1f} ms; image fetch median "
                f"{result['fetch_median_ms']:.1f} ms, p95 {result['fetch_p95_ms']:.1f} ms; "
                f"errors {result['errors']}"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
    checked = child_json(__file__, "--step", "check", url, work, prepared["set"])
    print(f"over-served images: {checked['over_served']}; labels stored {checked['labels']}")
    print(f"CSV export of {checked['export_rows']} labels: {checked['export_seconds']:.3f} s")


if __name__ == "__main__":
    main()
