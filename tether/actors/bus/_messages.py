"""What the connection manager and the bus tell each other."""

from __future__ import annotations

from typing import Any

import attrs

from tether.protocol import FrameId, Priority

from ..connection._peer import Peer


@attrs.frozen
class Interest:
    """This node has (`on`) or no longer has local subscribers of `topic`."""

    topic: str
    on: bool


@attrs.frozen
class Outgoing:
    """A publish for every node: the bus numbers it in Redis and broadcasts it."""

    topic: str
    data: Any
    priority: Priority
    publisher: Peer | None = None
    ref: FrameId | None = None


@attrs.frozen
class RemoteDelivery:
    """A message from the bus (any node's publish) for this node's subscribers."""

    topic: str
    offset: int
    priority: Priority
    data: Any
    ts: float


@attrs.frozen
class BusState:
    """The bus is connected (`epoch`: the shared stream epoch) or not (None: deliver locally)."""

    epoch: str | None


@attrs.frozen
class GetBusStatistics:
    pass


@attrs.frozen
class BusStatistics:
    connected: bool
    epoch: str | None
    topics: int
    published: int
    received: int
    failures: int
    fallbacks: int
