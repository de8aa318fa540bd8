from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from base.roles import RESULTS
from inference.live import EXAM_RESULTS_GROUP
from inference.selectors import ai_live_allowed


class ExamResultConsumer(AsyncJsonWebsocketConsumer):
    """New exam results and status changes, for the worklists of the roles that see results."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        allowed = await database_sync_to_async(RESULTS.allows)(user) if user else False
        if not allowed:
            await self.close(code=4403)
            return
        await self.channel_layer.group_add(EXAM_RESULTS_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(EXAM_RESULTS_GROUP, self.channel_name)

    async def exam_result(self, event: dict) -> None:
        # A reader-study reader gets no live row for an exam they read without AI there:
        # the row carries the AI output (a reload shows what they may see).
        allowed = await database_sync_to_async(ai_live_allowed)(
            self.scope["user"], event["payload"]["exam_id"]
        )
        if allowed:
            await self.send_json({"type": "exam.result", "row": event["payload"]})
