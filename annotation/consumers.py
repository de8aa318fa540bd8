from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from annotation.labelling.flow import set_group
from base.roles import COORDINATION


class LabellingDashboardConsumer(AsyncJsonWebsocketConsumer):
    """Nudges for a set's live dashboard (coordinators and administrators); no answers travel."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        allowed = await database_sync_to_async(COORDINATION.allows)(user) if user else False
        if not allowed:
            await self.close(code=4403)
            return
        self.group = set_group(int(self.scope["url_route"]["kwargs"]["set_id"]))
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def labelling_progress(self, event: dict) -> None:
        await self.send_json({"type": "labelling.progress", "set": event["payload"]["set"]})
