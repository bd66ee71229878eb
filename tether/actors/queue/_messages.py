"""The messages the queue actor takes and the replies it gives (all frozen values)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import trio

from tether.protocol import Priority

from ._core import Lease, QueueItem

# Producers -----------------------------------------------------------------------


@attrs.frozen
class Enqueue:
    """Ask the queue actor to accept an item; the reply is `Enqueued` or `Rejected`."""

    kind: str
    payload: dict[str, Any]
    priority: Priority = Priority.NORMAL


@attrs.frozen
class EnqueueAndNotify:
    """`Enqueue` for senders that must not wait (a connection's reader): the queue actor calls
    `notify` with the `Enqueued` or `Rejected` reply, from its own task, instead of
    replying. `notify` must be quick and must not raise."""

    enqueue: Enqueue
    notify: Callable[[Enqueued | Rejected], None]


@attrs.frozen
class EnqueueBatch:
    """Several `Enqueue` in one message (one round trip to Redis); the reply is a tuple of
    `Enqueued` or `Rejected`, one per item, in order. At capacity the first items are taken
    and the rest rejected."""

    items: tuple[Enqueue, ...]


@attrs.frozen
class Enqueued:
    id: str


class RejectCode(enum.Enum):
    FULL = "full"  # at capacity: push back, try later
    UNKNOWN_KIND = "unknown_kind"  # no handler registered for this kind
    INVALID_PAYLOAD = "invalid_payload"  # not JSON-serialisable
    INVALID_PRIORITY = "invalid_priority"  # not one of `Priority`
    UNAVAILABLE = "unavailable"  # the store cannot be reached and no fallback took over


@attrs.frozen
class Rejected:
    code: RejectCode
    reason: str


# Operators -----------------------------------------------------------------------


@attrs.frozen
class GetQueueStatistics:
    pass


@attrs.frozen
class QueueStatistics:
    backend: str  # "memory" or "redis"
    ready: Mapping[Priority, int]
    in_progress: int
    delayed: int
    dead: int
    enqueued: int  # totals since the backend started (for Redis: since the keys exist)
    acked: int
    retried: int
    dead_lettered: int
    waiting_workers: int
    fallback_active: bool  # Redis is unreachable and the memory backend stands in


@attrs.frozen
class ListDead:
    """Reply: a tuple of `QueueItem`, oldest dead first, each with its `last_error`."""

    limit: int = 100


@attrs.frozen
class ReplayDead:
    """Make dead letters ready again with a fresh attempt budget; `ids=None` means all.
    Reply: a tuple of the ids replayed."""

    ids: tuple[str, ...] | None = None


@attrs.frozen
class PurgeDead:
    """Delete dead letters for good; `ids=None` means all. Reply: a tuple of the ids purged."""

    ids: tuple[str, ...] | None = None


# Workers -------------------------------------------------------------------------


class DeliverySlot:
    """Where the queue actor puts the next lease for one idle worker, which waits on it
    instead of polling. A worker that goes away abandons its slot, so no lease is handed to
    a dead worker; a lease filled but never taken is returned by `abandon` for settling."""

    __slots__ = ("_abandoned", "_event", "_lease", "_taken")

    def __init__(self) -> None:
        self._event = trio.Event()
        self._lease: Lease | None = None
        self._abandoned = False
        self._taken = False

    @property
    def wanted(self) -> bool:
        return not self._abandoned and self._lease is None

    def fill(self, lease: Lease) -> bool:
        if not self.wanted:
            return False
        self._lease = lease
        self._event.set()
        return True

    async def wait(self) -> Lease:
        await self._event.wait()
        assert self._lease is not None
        self._taken = True
        return self._lease

    def abandon(self) -> Lease | None:
        self._abandoned = True
        return self._lease if not self._taken else None


@attrs.frozen(eq=False)
class Reserve:
    slot: DeliverySlot


@attrs.frozen
class Ack:
    token: str


@attrs.frozen
class Nack:
    token: str
    item: QueueItem
    error: str


@attrs.frozen
class Renew:
    token: str
