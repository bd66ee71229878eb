"""The messages the connection manager takes."""

from __future__ import annotations

from typing import Any

import attrs

from tether.protocol import FrameId, Priority

from ..connection._peer import Peer


@attrs.frozen
class Admit:
    """Register a connection if the limits allow; the reply is None, or why it is refused."""

    peer: Peer


@attrs.frozen
class Disconnected:
    """A connection ended (however it ended): remove every entry it had. `flushed` counts
    the frames it sent after it was asked to stop."""

    peer: Peer
    close_code: int | None
    flushed: int = 0


@attrs.frozen
class Refused:
    """A handshake was refused before the upgrade (counted by HTTP status)."""

    status: int


@attrs.frozen
class TopicSubscribe:
    peer: Peer
    topic: str
    since: str | None = None
    ref: FrameId | None = None


@attrs.frozen
class TopicUnsubscribe:
    peer: Peer
    topic: str
    ref: FrameId | None = None


@attrs.frozen
class TopicPublish:
    """Deliver `data` to every subscriber of `topic`. With a `publisher`, it gets the ack
    (or the error); the reply to an `ask` is the message id, or None when refused."""

    topic: str
    data: Any
    priority: Priority = Priority.NORMAL
    publisher: Peer | None = None
    ref: FrameId | None = None
    # Deliver on this node only, even with a bus (the bus hands back what it cannot send).
    local: bool = False
    # Where it came from through the queue, for putting one publisher's messages in order.
    origin: str | None = None
    seq: int | None = None


@attrs.frozen
class FlushHeld:
    """Deliver the published messages held back for order too long (sent by the manager's
    own timer)."""


@attrs.frozen
class SendToConnection:
    connection_id: str
    text: str
    priority: Priority = Priority.NORMAL


@attrs.frozen
class SendToUser:
    user_id: str
    text: str
    priority: Priority = Priority.NORMAL


@attrs.frozen
class Broadcast:
    text: str
    priority: Priority = Priority.NORMAL


@attrs.frozen
class Kick:
    """Close a connection from the server side; the reply says whether it existed."""

    connection_id: str
    code: int
    reason: str = ""


@attrs.frozen
class BeginDrain:
    """The service is draining: refuse new connections, and mark every connection draining
    so that it refuses new work. When the reply arrives, every message sent to the manager
    before this one has been handled."""


@attrs.frozen
class Barrier:
    """Replied to once every message sent to the manager before it has been handled."""


@attrs.frozen
class DrainReport:
    connections: int
    frames_flushed: int
    started_at: float | None


@attrs.frozen
class GetStatistics:
    pass


@attrs.frozen
class ManagerStatistics:
    connections: int
    users: int
    topics: int
    connections_total: int
    published: int
    delivered: int
    refused: dict[int, int]
    closed: dict[int, int]
    admitting: bool
    drain: DrainReport
