from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from base.jobs import JOBS_GROUP
from base.roles import COORDINATION


class JobConsumer(AsyncJsonWebsocketConsumer):
    """Live progress of background jobs, for the roles that may see the jobs page."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        allowed = await database_sync_to_async(COORDINATION.allows)(user) if user else False
        if not allowed:
            await self.close(code=4403)
            return
        await self.channel_layer.group_add(JOBS_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(JOBS_GROUP, self.channel_name)

    async def job_update(self, event: dict) -> None:
        await self.send_json({"type": "job.update", "job": event["payload"]})
