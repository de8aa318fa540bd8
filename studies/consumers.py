from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from base.roles import COORDINATION
from studies.reading.flow import progress_group


class ReaderStudyProgressConsumer(AsyncJsonWebsocketConsumer):
    """Nudges for a designed study's live progress (coordinators and administrators): each
    answer sends one; the page then fetches the progress. No answers travel."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        allowed = await database_sync_to_async(COORDINATION.allows)(user) if user else False
        if not allowed:
            await self.close(code=4403)
            return
        self.group = progress_group(int(self.scope["url_route"]["kwargs"]["study_id"]))
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def reading_progress(self, event: dict) -> None:
        await self.send_json({"type": "reading.progress", "study": event["payload"]["study"]})
