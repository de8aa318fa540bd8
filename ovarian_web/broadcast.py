"""The one way services and tasks push live updates to browsers."""

import math
import threading
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

# Per group, when this process last sent a throttled message (see broadcast).
recently_sent: dict[str, float] = {}
_lock = threading.Lock()


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
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, {"type": type, "payload": payload})

    transaction.on_commit(send)
