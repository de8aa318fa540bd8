"""Which workers are connected, on which device, and how long the queues are.

Each worker writes a heartbeat to the cache every HEARTBEAT_SECONDS (a thread started by
Celery's worker_ready signal); the workers page lists those seen recently.
"""

import logging
import os
import socket
import threading
import time

import torch
from celery.signals import worker_ready
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from annotation.importing.retention import import_retention_sweep
from base.jobs import job_kinds, jobs_sweep
from base.models import JobStatus

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 10
INDEX_KEY = "workers:index"
QUEUES = ("default", "gpu")


def device_description() -> str:
    if torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name(0)}"
    return f"CPU ({torch.get_num_threads()} threads)"


def heartbeat(name: str, queues: list[str]) -> None:
    entry = {
        "name": name,
        "device": device_description(),
        "queues": queues,
        "pid": os.getpid(),
        "seen": time.time(),
    }
    cache.set(f"workers:{name}", entry, HEARTBEAT_SECONDS * 6)
    names = set(cache.get(INDEX_KEY) or [])
    if name not in names:
        cache.set(INDEX_KEY, sorted(names | {name}), None)


def workers_seen() -> list[dict]:
    """Workers heard from within three heartbeats, newest first."""
    now = time.time()
    entries = [cache.get(f"workers:{name}") for name in cache.get(INDEX_KEY) or []]
    alive = [e for e in entries if e and now - e["seen"] < 3 * HEARTBEAT_SECONDS]
    for entry in alive:
        entry["seconds_ago"] = round(now - entry["seen"])
    return sorted(alive, key=lambda e: e["name"])


def queue_lengths() -> dict[str, int | None]:
    """Messages waiting per queue; None where the broker cannot tell (the in-memory one, or
    Redis down)."""
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        return {queue: None for queue in QUEUES}
    import redis

    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=0.5, socket_timeout=1
    )
    try:
        return {queue: client.llen(queue) for queue in QUEUES}
    except redis.RedisError:
        return {queue: None for queue in QUEUES}
    finally:
        client.close()


def running_jobs() -> list:
    jobs = []
    for model in job_kinds():
        jobs.extend(model.objects.filter(status__in=[JobStatus.RUNNING, JobStatus.QUEUED])[:20])
    return sorted(jobs, key=lambda job: job.created_at, reverse=True)


@worker_ready.connect
def _start_heartbeat(sender=None, **kwargs) -> None:
    name = getattr(sender, "hostname", None) or socket.gethostname()
    # The sender is the worker's consumer (older Celery: the worker, holding it).
    consumer = getattr(sender, "consumer", None) or sender
    queues = []
    task_consumer = getattr(consumer, "task_consumer", None)
    if task_consumer is not None:
        queues = [queue.name for queue in task_consumer.queues]

    def beat() -> None:
        while True:
            try:
                heartbeat(name, queues)
                jobs_sweep()  # jobs whose worker died with their message, and unsent ones
                if "default" in queues:  # the import workers, which see UPLOAD_DIR
                    import_retention_sweep()
            except Exception as error:  # cache or database briefly away: try next beat
                log.warning("worker heartbeat failed: %s", error)
            finally:
                connection.close()
            time.sleep(HEARTBEAT_SECONDS)

    threading.Thread(target=beat, name="heartbeat", daemon=True).start()
