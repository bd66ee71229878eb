"""The two stores, driven directly: the same answers from memory and from Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
import trio.testing

from tether.actors.queue import Backend, MemoryBackend, QueueItem
from tether.actors.queue._redis import RedisBackend, connect
from tether.protocol import Priority


@asynccontextmanager
async def store(backend: str, capacity: int = 10) -> AsyncIterator[Backend]:
    if backend == "memory":
        yield MemoryBackend(capacity, starvation_limit=2)
        return
    async with connect(backend) as client:
        yield RedisBackend(
            client,
            url=backend,
            prefix=f"tether:test:{uuid.uuid4().hex}",
            capacity=capacity,
            starvation_limit=2,
        )


def item(priority: Priority = Priority.NORMAL, **payload: object) -> QueueItem:
    return QueueItem(uuid.uuid4().hex, "job", dict(payload), priority, 1, 0.0)


async def test_a_late_workers_ack_is_refused_after_its_lease_was_reclaimed(
    backend: str, clock: trio.testing.MockClock
) -> None:
    async with store(backend) as queue:
        entry = item(n=1)
        assert await queue.enqueue([entry]) == 1
        [late] = await queue.reserve(0.0, 5.0, 4)
        assert late.item == entry
        tick = await queue.tick(5.0)
        assert [lease.token for lease in tick.expired] == [late.token]
        assert await queue.nack(late.token, "lease expired", 5.0)
        await queue.tick(5.0)
        [fresh] = await queue.reserve(5.0, 5.0, 1)
        assert (fresh.item.id, fresh.item.attempt, fresh.item.last_error) == (
            entry.id,
            2,
            "lease expired",
        )
        assert await queue.ack([late.token]) == [late.token]
        assert not await queue.nack(late.token, "late", None)
        assert not await queue.renew(late.token, 100.0)
        assert await queue.renew(fresh.token, 100.0)
        assert (await queue.tick(50.0)).expired == []
        assert await queue.ack([fresh.token, late.token]) == [late.token]
        counts = await queue.counts()
        assert (counts.acked, counts.retried, counts.in_progress) == (1, 1, 0)


async def test_one_reserve_call_leases_a_batch_in_selection_order(
    backend: str, clock: trio.testing.MockClock
) -> None:
    async with store(backend) as queue:
        low = item(Priority.LOW)
        criticals = [item(Priority.CRITICAL) for _ in range(4)]
        assert await queue.enqueue([low, *criticals]) == 5
        leases = await queue.reserve(0.0, 5.0, 10)
        assert [lease.item.id for lease in leases] == [
            criticals[0].id,
            criticals[1].id,
            low.id,
            criticals[2].id,
            criticals[3].id,
        ]
        assert len({lease.token for lease in leases}) == 5


async def test_capacity_counts_dead_letters_and_purge_frees_it(
    backend: str, clock: trio.testing.MockClock
) -> None:
    async with store(backend, capacity=2) as queue:
        first, second = item(n=1), item(n=2)
        # Items are taken in order until capacity.
        assert await queue.enqueue([first, second, item(n=3)]) == 2
        assert await queue.enqueue([item(n=4)]) == 0
        [lease] = await queue.reserve(0.0, 5.0, 1)
        assert await queue.nack(lease.token, "fatal", None)
        [dead] = await queue.dead_letters(10)
        assert (dead.id, dead.last_error) == (first.id, "fatal")
        assert await queue.purge([first.id, "unknown"]) == [first.id]
        assert await queue.enqueue([item(n=5)]) == 1
        counts = await queue.counts()
        assert (counts.dead, counts.dead_lettered, counts.ready[Priority.NORMAL]) == (0, 1, 2)
