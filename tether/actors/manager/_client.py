"""What developers' actors use to reach clients: the connection manager's outbound API."""

from __future__ import annotations

from typing import Any

from tether.actors import ActorRef
from tether.protocol import Priority, ServerFrame, encode

from ._messages import Broadcast, SendToConnection, SendToUser, TopicPublish


class ManagerClient:
    """Each call encodes its frame once, here, and hands the text to the manager, which pushes
    it into every target's outbox without waiting on any of them. The sends wait only for
    room in the manager's mailbox (backpressure on the calling actor)."""

    __slots__ = ("_ref",)

    def __init__(self, ref: ActorRef) -> None:
        self._ref = ref

    async def publish(
        self, topic: str, data: Any, priority: Priority = Priority.NORMAL, *, timeout: float = 5.0
    ) -> str:
        """Deliver `data` to every current subscriber of `topic`; returns the message id."""
        message_id: str = await self._ref.ask(TopicPublish(topic, data, priority), timeout=timeout)
        return message_id

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
