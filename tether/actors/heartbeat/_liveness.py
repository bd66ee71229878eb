"""What the heartbeat knows about one connection.

The connection writes these fields (its reader on every frame, its transport on
every pong, its writer around every send); the heartbeat only reads them, once
per interval. Reading a few floats beats a round trip to 10,000 mailboxes.
"""

from __future__ import annotations

from collections.abc import Callable

from ..connection._peer import Peer


class Liveness:
    __slots__ = ("last_seen", "peer", "request_ping", "send_started")

    def __init__(self, peer: Peer, now: float, request_ping: Callable[[], None]) -> None:
        self.peer = peer
        # Any frame or pong from the client: a sign of life.
        self.last_seen = now
        # When the send in progress began; None while the writer is not sending.
        self.send_started: float | None = None
        # Ask the connection to send a WebSocket ping through its control lane.
        self.request_ping = request_ping
