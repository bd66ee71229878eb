"""How client frames reach developers' actors, and what those actors get to work with."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from tether.actors import Actor, ActorRef, NoSuchActor, handler
from tether.protocol import AppFrame, ErrorCode, FrameId

from .connection._peer import Peer
from .manager import MANAGER, ManagerClient
from .queue import QUEUE_NAME


@attrs.frozen
class Inbound:
    """A client frame of a type routed to an actor, with the connection it came from.

    Reply with `peer.reply(type, body)`, `peer.ack(ref, result)` or `peer.error(...)`:
    these go straight into that connection's outbox and never wait."""

    peer: Peer
    frame: AppFrame

    @property
    def type(self) -> str:
        return self.frame.type

    @property
    def id(self) -> FrameId | None:
        return self.frame.id

    @property
    def body(self) -> dict[str, Any]:
        return self.frame.body

    def fail(self, code: ErrorCode, message: str) -> None:
        """Answer this frame with an `error` carrying its id."""
        self.peer.error(code, message, self.frame.id)


# Stateless work done by the connection itself, in its reader task: no hop to another
# actor, and no single actor that every connection's frames must queue for.
FrameHandler = Callable[[Inbound], None]


@attrs.frozen
class Durable:
    """Frames of this route go through the queue as items of `kind`: acknowledged once
    enqueued, then handled on a worker with retries (see `Service.durable`)."""

    kind: str


@attrs.frozen
class Routes:
    """Frame type → the actor that handles it (refs by name stay valid across restarts), a
    connection-local `FrameHandler`, or a `Durable` route through the queue."""

    table: Mapping[str, ActorRef | FrameHandler | Durable] = attrs.field(factory=dict)

    def get(self, frame_type: str) -> ActorRef | FrameHandler | Durable | None:
        return self.table.get(frame_type)


@attrs.define
class ServiceActor(Actor):
    """An actor of the service: reaches the connection manager as `self.manager`."""

    @property
    def manager(self) -> ManagerClient:
        try:
            queue: ActorRef | None = self.lookup(QUEUE_NAME)
        except NoSuchActor:
            queue = None
        return ManagerClient(self.lookup(MANAGER), queue)


@attrs.define
class RoutedActor(ServiceActor, abc.ABC):
    """An actor that client frames are routed to: implement `on_frame`.

    If `on_frame` raises, the client gets an `error` with code `internal` for that
    frame, and the actor crashes and is restarted by its supervisor (its state was
    possibly half-changed, so it is not trusted any more)."""

    @abc.abstractmethod
    async def on_frame(self, message: Inbound) -> None:
        """Handle one client frame."""

    @handler
    async def _inbound(self, message: Inbound) -> None:
        try:
            await self.on_frame(message)
        except Exception:
            message.fail(ErrorCode.INTERNAL, "internal error")
            raise
