"""Redis with a memory stand-in: keep accepting and delivering while Redis is unreachable.

The first failed call to Redis trips the breaker: from then on new items go to
the memory backend, and a watcher probes Redis with PING after an exponential,
jittered delay that grows with each failed probe. When a probe succeeds the
breaker closes and every later tick hands what memory holds (ready, delayed and
dead items, with their attempts) over to Redis. Items that workers hold stay in
memory until settled: a lease's token says which store leased it.

Delivery is at least once. A call that failed may still have reached Redis, so
an item can exist in both stores with the same id and be delivered twice; a
Redis lease whose ack could not be written expires and is delivered again. While
both stores hold items, priority order holds within each store only (memory
first: it empties itself into Redis as soon as it can).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

import attrs
import structlog
import trio

from tether.protocol import Priority

from ._backend import Backend, BackendUnavailable, OpenBackend, Tick
from ._config import QueueConfig
from ._core import Counts, Lease, QueueItem
from ._memory import MEMORY_TOKEN_PREFIX, MemoryBackend
from ._redis import RedisBackend, connect

log = structlog.get_logger("tether.queue")

T = TypeVar("T")


@attrs.define
class ReconnectBackoff:
    """Delay before the next probe: doubles per failure up to `cap`, with equal jitter (half
    fixed, half random), so probes from many nodes spread out and never spin."""

    base: float = 0.5
    cap: float = 30.0
    rng: random.Random = attrs.field(factory=random.Random)
    failures: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** min(self.failures, 64))
        self.failures += 1
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.failures = 0


class FallbackBackend:
    def __init__(
        self,
        redis: RedisBackend,
        memory: MemoryBackend,
        *,
        on_change: Callable[[], None] = lambda: None,
        backoff: ReconnectBackoff | None = None,
    ) -> None:
        self.redis = redis
        self.memory = memory
        self.on_change = on_change
        self.backoff = backoff or ReconnectBackoff()
        self._up = False
        self._tripped = trio.Event()

    @property
    def name(self) -> str:
        return "redis"

    @property
    def fallback_active(self) -> bool:
        return not self._up

    @property
    def poll_interval(self) -> float | None:
        return self.redis.poll_interval

    # The breaker ---------------------------------------------------------------

    def _trip(self, error: BackendUnavailable) -> None:
        if self._up:
            self._up = False
            log.warning("redis unreachable: the memory fallback takes over", error=str(error))
            self._tripped.set()
            self.on_change()

    async def _redis(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except BackendUnavailable as exc:
            self._trip(exc)
            raise

    async def _also(self, call: Callable[[], Awaitable[list[T]]]) -> list[T]:
        """What Redis adds to a memory result: nothing if it is down or fails now."""
        if not self._up:
            return []
        try:
            return await self._redis(call)
        except BackendUnavailable:
            return []

    async def probe(self) -> bool:
        """One PING; closes the breaker if Redis answers."""
        try:
            await self.redis.ping()
        except BackendUnavailable as exc:
            log.info("redis still unreachable", error=str(exc))
            return False
        self._up = True
        self._tripped = trio.Event()
        self.backoff.reset()
        log.info("redis reachable: leaving the memory fallback")
        self.on_change()
        return True

    async def watch(self) -> None:
        """Probe while the breaker is open; sleep while it is closed. Runs for ever."""
        while True:
            if self._up:
                await self._tripped.wait()
            await trio.sleep(self.backoff.next_delay())
            await self.probe()

    async def _hand_over(self) -> None:
        parked = self.memory.core.export()
        if not parked:
            return
        try:
            taken = await self._redis(lambda: self.redis.adopt(parked))
        except BackendUnavailable:
            taken = 0
        self.memory.core.adopt(parked[taken:])
        if taken:
            log.info("handed the fallback's items to redis", items=taken, left=len(parked) - taken)

    # Backend ---------------------------------------------------------------------

    async def enqueue(self, items: Sequence[QueueItem]) -> int:
        if self._up:
            try:
                return await self._redis(lambda: self.redis.enqueue(items))
            except BackendUnavailable:
                pass
        return await self.memory.enqueue(items)

    async def reserve(self, now: float, lease_seconds: float, count: int) -> list[Lease]:
        leases = await self.memory.reserve(now, lease_seconds, count)
        more = count - len(leases)
        if more:
            # Memory's leases are kept even if Redis fails now: they must reach the workers.
            leases += await self._also(lambda: self.redis.reserve(now, lease_seconds, more))
        return leases

    def _store_of(self, token: str) -> MemoryBackend | RedisBackend:
        if token.startswith(MEMORY_TOKEN_PREFIX):
            return self.memory
        if not self._up:
            raise BackendUnavailable("redis is unreachable (memory fallback active)")
        return self.redis

    async def ack(self, tokens: Sequence[str]) -> list[str]:
        local = [t for t in tokens if t.startswith(MEMORY_TOKEN_PREFIX)]
        remote = [t for t in tokens if not t.startswith(MEMORY_TOKEN_PREFIX)]
        stale = await self.memory.ack(local)
        if remote:
            if not self._up:
                raise BackendUnavailable("redis is unreachable (memory fallback active)")
            stale += await self._redis(lambda: self.redis.ack(remote))
        return stale

    async def nack(self, token: str, error: str, retry_at: float | None) -> bool:
        store = self._store_of(token)
        return await self._redis(lambda: store.nack(token, error, retry_at))

    async def renew(self, token: str, deadline: float) -> bool:
        store = self._store_of(token)
        return await self._redis(lambda: store.renew(token, deadline))

    async def tick(self, now: float) -> Tick:
        tick = await self.memory.tick(now)
        if not self._up:
            return tick
        await self._hand_over()
        try:
            remote = await self._redis(lambda: self.redis.tick(now))
        except BackendUnavailable:
            # Memory took over just now: the next pass should not wait.
            return Tick(tick.expired, now)
        due = [d for d in (tick.next_due, remote.next_due) if d is not None]
        return Tick(tick.expired + remote.expired, min(due, default=None))

    async def dead_letters(self, limit: int) -> list[QueueItem]:
        items = await self.memory.dead_letters(limit)
        more = limit - len(items)
        if more > 0:
            items += await self._also(lambda: self.redis.dead_letters(more))
        return items

    async def replay(self, ids: Sequence[str] | None) -> list[str]:
        return await self.memory.replay(ids) + await self._also(lambda: self.redis.replay(ids))

    async def purge(self, ids: Sequence[str] | None) -> list[str]:
        return await self.memory.purge(ids) + await self._also(lambda: self.redis.purge(ids))

    async def counts(self) -> Counts:
        local = await self.memory.counts()
        if not self._up:
            return local
        try:
            remote = await self._redis(self.redis.counts)
        except BackendUnavailable:
            return local
        return Counts(
            ready={p: local.ready.get(p, 0) + remote.ready.get(p, 0) for p in Priority},
            in_progress=local.in_progress + remote.in_progress,
            delayed=local.delayed + remote.delayed,
            dead=local.dead + remote.dead,
            enqueued=local.enqueued + remote.enqueued,
            acked=local.acked + remote.acked,
            retried=local.retried + remote.retried,
            dead_lettered=local.dead_lettered + remote.dead_lettered,
        )


def fallback_opener(config: QueueConfig, memory: MemoryBackend) -> OpenBackend:
    """Open Redis for one incarnation of the queue actor, with `memory` (which outlives the
    incarnation) standing in while Redis is unreachable, from the start if need be."""

    @asynccontextmanager
    async def open_fallback(wake: Callable[[], None]) -> AsyncIterator[Backend]:
        async with connect(config.backend) as client, trio.open_nursery() as nursery:
            redis = RedisBackend(
                client,
                url=config.backend,
                prefix=config.prefix,
                capacity=config.capacity,
                starvation_limit=config.starvation_limit,
                poll_interval=config.poll_seconds,
            )
            backend = FallbackBackend(
                redis,
                memory,
                on_change=wake,
                backoff=ReconnectBackoff(rng=random.Random(config.seed)),
            )
            if not await backend.probe():
                log.warning("redis unreachable at start: the memory fallback takes over")
            nursery.start_soon(backend.watch)
            yield backend
            nursery.cancel_scope.cancel()

    return open_fallback
