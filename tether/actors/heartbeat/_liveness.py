"""What the heartbeat knows about one connection.

The connection writes these fields (its reader on every frame, its transport on
every pong, its writer around every send); the heartbeat reads them once per
interval, and takes the round-trip sample the way a writer takes an outbox.
Reading a few floats beats a message per pong to one mailbox for 10,000 connections.
"""

from __future__ import annotations

from collections.abc import Callable

from ..connection._peer import Peer


class Liveness:
    __slots__ = ("last_seen", "peer", "pongs", "request_ping", "rtt", "send_started")

    def __init__(self, peer: Peer, now: float, request_ping: Callable[[], None]) -> None:
        self.peer = peer
        # Any frame or pong from the client: a sign of life.
        self.last_seen = now
        # When the send in progress began; None while the writer is not sending.
        self.send_started: float | None = None
        # Ask the connection to send a WebSocket ping through its control lane.
        self.request_ping = request_ping
        # Pongs since the heartbeat last looked, and the latest round trip (seconds).
        self.pongs = 0
        self.rtt: float | None = None

    def pong(self, now: float, rtt: float) -> None:
        self.last_seen = now
        self.pongs += 1
        self.rtt = rtt

    def take_pongs(self) -> tuple[int, float | None]:
        pongs, rtt = self.pongs, self.rtt
        self.pongs, self.rtt = 0, None
        return pongs, rtt
