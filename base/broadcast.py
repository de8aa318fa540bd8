"""The one way services and tasks push live updates to browsers.

Live updates are a convenience: with the channel layer (Redis) down they are dropped, the
pages say their live updates are paused, and the work that sent them carries on.
"""

import logging
import math
import threading
import time
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

# Per group, when this process last sent a throttled message (see broadcast).
recently_sent: dict[str, float] = {}
_lock = threading.Lock()
# After a failed send, messages are dropped unsent until then (monotonic seconds): a
# layer that does not answer costs one connection attempt per second, not one per message.
RETRY_SECONDS = 1.0
layer_down_until = 0.0


def broadcast(group: str, type: str, payload: dict[str, Any], *, at_most_every: float = 0) -> None:
    """Send `payload` to every socket in `group` once the current transaction commits.

    `type` names the consumer method that handles it ("job.progress" -> job_progress).
    With `at_most_every` (seconds), messages that come sooner after the last one this
    process sent to the group are dropped: for nudges whose receivers read the state
    themselves and read it once more a little after the last nudge (the labelling
    dashboard), where one message per submitted label cost a tenth of the server's CPU.
    """
    if at_most_every:
        now = time.monotonic()
        with _lock:
            if now - recently_sent.get(group, -math.inf) < at_most_every:
                return
            recently_sent[group] = now

    def send() -> None:
        global layer_down_until
        layer = get_channel_layer()
        if layer is None or time.monotonic() < layer_down_until:
            return
        try:
            async_to_sync(layer.group_send)(group, {"type": type, "payload": payload})
        except (redis.RedisError, OSError) as error:
            if not layer_down_until:
                log.warning("live updates dropped, the channel layer is unreachable: %s", error)
            layer_down_until = time.monotonic() + RETRY_SECONDS
        else:
            layer_down_until = 0.0

    transaction.on_commit(send)
