"""The in-memory backend: `QueueCore` behind the async `Backend` interface.

Nothing here awaits, so each method is atomic with respect to other tasks.
The instance outlives the queue actor's incarnations (the queue supervisor
holds it), so a crash of the actor does not lose what the queue held.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from ._backend import Tick
from ._core import DEFAULT_STARVATION_LIMIT, Counts, Lease, QueueCore, QueueFull, QueueItem

# Marks the leases of this store, so a fallback can route an ack to the store that leased.
MEMORY_TOKEN_PREFIX = "m-"


class MemoryBackend:
    def __init__(self, capacity: int, *, starvation_limit: int = DEFAULT_STARVATION_LIMIT) -> None:
        self.core = QueueCore(capacity, starvation_limit=starvation_limit)

    @property
    def name(self) -> str:
        return "memory"

    @property
    def fallback_active(self) -> bool:
        return False

    @property
    def poll_interval(self) -> float | None:
        return None

    async def enqueue(self, items: Sequence[QueueItem]) -> int:
        for taken, item in enumerate(items):
            try:
                self.core.enqueue(item)
            except QueueFull:
                return taken
        return len(items)

    async def reserve(self, now: float, lease_seconds: float, count: int) -> list[Lease]:
        return self.core.reserve(
            now, lease_seconds, (MEMORY_TOKEN_PREFIX + uuid.uuid4().hex for _ in range(count))
        )

    async def ack(self, tokens: Sequence[str]) -> list[str]:
        return [token for token in tokens if not self.core.ack(token)]

    async def nack(self, token: str, error: str, retry_at: float | None) -> bool:
        return self.core.nack(token, error, retry_at)

    async def renew(self, token: str, deadline: float) -> bool:
        return self.core.renew(token, deadline)

    async def tick(self, now: float) -> Tick:
        self.core.promote(now)
        return Tick(self.core.expired(now), self.core.next_due())

    async def dead_letters(self, limit: int) -> list[QueueItem]:
        return self.core.dead_letters(limit)

    async def replay(self, ids: Sequence[str] | None) -> list[str]:
        return self.core.replay(ids)

    async def purge(self, ids: Sequence[str] | None) -> list[str]:
        return self.core.purge(ids)

    async def counts(self) -> Counts:
        return self.core.counts()
