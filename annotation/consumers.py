from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from base.roles import JOB_ROLES, has_role


class LabellingDashboardConsumer(AsyncJsonWebsocketConsumer):
    """Nudges for a set's live dashboard (coordinators and administrators); no answers travel."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        allowed = await database_sync_to_async(has_role)(user, *JOB_ROLES) if user else False
        if not allowed:
            await self.close(code=4403)
            return
        self.group = f"labelling-{int(self.scope['url_route']['kwargs']['set_id'])}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def labelling_progress(self, event: dict) -> None:
        await self.send_json({"type": "labelling.progress", "set": event["payload"]["set"]})
