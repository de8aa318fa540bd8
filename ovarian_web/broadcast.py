"""The one way services and tasks push live updates to browsers."""

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def broadcast(group: str, type: str, payload: dict[str, Any]) -> None:
    """Send `payload` to every socket in `group` once the current transaction commits.

    `type` names the consumer method that handles it ("job.progress" -> job_progress).
    """

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, {"type": type, "payload": payload})

    transaction.on_commit(send)
