"""What the queue actor needs from a store of items, whichever store it is.

Every method is one atomic step of `QueueCore`'s state machine; the memory
backend runs the core itself, the Redis backend runs the same rules in Lua.
Times are absolute, on the queue's clock, so that a shared Redis can be used
by several processes (which then must use the wall clock).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import attrs

from ._core import Counts, Lease, QueueItem


@attrs.frozen
class Tick:
    """What the clock did: due retries were made ready; `expired` leases are still held, for
    the caller to settle; `next_due` is the earliest retry time or lease deadline known."""

    expired: list[Lease]
    next_due: float | None


class Backend(Protocol):
    """A store that cannot be reached raises `BackendUnavailable`."""

    @property
    def name(self) -> str: ...

    @property
    def fallback_active(self) -> bool: ...

    @property
    def poll_interval(self) -> float | None:
        """How often to look for changes made by other processes; None if there are none."""

    async def enqueue(self, items: Sequence[QueueItem]) -> int:
        """Accept items in order until capacity; returns how many were accepted."""

    async def reserve(self, now: float, lease_seconds: float, count: int) -> list[Lease]: ...

    async def ack(self, tokens: Sequence[str]) -> list[str]:
        """Settle these leases as done; returns the stale tokens, which changed nothing."""

    async def nack(self, token: str, error: str, retry_at: float | None) -> bool: ...

    async def renew(self, token: str, deadline: float) -> bool: ...

    async def tick(self, now: float) -> Tick: ...

    async def dead_letters(self, limit: int) -> list[QueueItem]: ...

    async def replay(self, ids: Sequence[str] | None) -> list[str]: ...

    async def purge(self, ids: Sequence[str] | None) -> list[str]: ...

    async def counts(self) -> Counts: ...


class BackendUnavailable(Exception):
    """The store could not be reached; nothing is known to have changed."""


# Opens a backend for one incarnation of the queue actor, in the actor's own task; the
# backend calls the function it is given when it changes by itself (a store came back).
OpenBackend = Callable[[Callable[[], None]], AbstractAsyncContextManager[Backend]]
