"""What developers' actors use to reach clients: the connection manager's outbound API."""

from __future__ import annotations

from typing import Any

from tether.actors import ActorRef
from tether.protocol import Priority, ServerFrame, encode

from ..queue import PUBLISH_KIND, Enqueue, Rejected
from ._messages import Broadcast, SendToConnection, SendToUser, TopicPublish


class PublishRefused(Exception):
    """The queue did not take the publish (full, or no store reachable)."""


class ManagerClient:
    """Each call encodes its frame once, here, and hands the text to the manager, which pushes
    it into every target's outbox without waiting on any of them. The sends wait only for
    room in the manager's mailbox (backpressure on the calling actor)."""

    __slots__ = ("_queue", "_ref")

    def __init__(self, ref: ActorRef, queue: ActorRef | None = None) -> None:
        self._ref = ref
        self._queue = queue

    async def publish(
        self, topic: str, data: Any, priority: Priority = Priority.NORMAL, *, timeout: float = 5.0
    ) -> str | None:
        """Deliver `data` to every current subscriber of `topic`.

        With the service's queue (always there under `tether serve`), the publish is enqueued
        first and the id returned is the queue item's; `PublishRefused` when the queue is full.
        Without one it is delivered at once and the id is the message's (None through a bus).
        """
        if self._queue is None:
            message_id: str | None = await self._ref.ask(
                TopicPublish(topic, data, priority), timeout=timeout
            )
            return message_id
        outcome = await self._queue.ask(
            Enqueue(PUBLISH_KIND, {"topic": topic, "data": data}, priority), timeout=timeout
        )
        if isinstance(outcome, Rejected):
            raise PublishRefused(outcome.reason)
        item_id: str = outcome.id
        return item_id

    async def send_to_connection(
        self, connection_id: str, frame: ServerFrame, priority: Priority = Priority.NORMAL
    ) -> None:
        await self._ref.tell(SendToConnection(connection_id, encode(frame), priority))

    async def send_to_user(
        self, user_id: str, frame: ServerFrame, priority: Priority = Priority.NORMAL
    ) -> None:
        await self._ref.tell(SendToUser(user_id, encode(frame), priority))

    async def broadcast(self, frame: ServerFrame, priority: Priority = Priority.NORMAL) -> None:
        await self._ref.tell(Broadcast(encode(frame), priority))
