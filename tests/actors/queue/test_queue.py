"""The queue subtree end to end, once with the memory backend and once with Redis."""

from __future__ import annotations

import random

import pytest
import trio
import trio.testing

from tether.actors.queue import (
    Enqueue,
    EnqueueBatch,
    ListDead,
    PurgeDead,
    QueueItem,
    RejectCode,
    Rejected,
    ReplayDead,
    RetryPolicy,
    worker_name,
)
from tether.protocol import Priority
from tether.supervision import ChildState

from ._helpers import enqueue, make_queue, running, settle, stats


class Recorder:
    """A handler that notes every delivery and can be held at a gate."""

    def __init__(self) -> None:
        self.seen: list[QueueItem] = []
        self.gate = trio.Event()
        self.gated = False

    async def __call__(self, item: QueueItem) -> None:
        self.seen.append(item)
        if item.payload.get("gate"):
            self.gated = True
            await self.gate.wait()

    @property
    def names(self) -> list[str]:
        return [item.payload["n"] for item in self.seen if "n" in item.payload]


async def test_the_subtree_names_the_queue_and_its_workers(
    backend: str, clock: trio.testing.MockClock
) -> None:
    sup = make_queue(backend, workers=3)
    async with running(sup):
        ids = [child.id for child in sup.statistics().children]
        assert ids == ["queue", worker_name(1), worker_name(2), worker_name(3)]
        assert (await stats(sup)).waiting_workers == 3


async def test_items_are_delivered_by_priority(backend: str, clock: trio.testing.MockClock) -> None:
    sup = make_queue(backend)
    work = Recorder()
    sup.register("job", work)
    async with running(sup):
        await enqueue(sup, "job", gate=True)
        await settle()
        assert work.gated
        for name, priority in [
            ("low", Priority.LOW),
            ("normal", Priority.NORMAL),
            ("high", Priority.HIGH),
            ("critical", Priority.CRITICAL),
            ("normal2", Priority.NORMAL),
        ]:
            await enqueue(sup, "job", priority, n=name)
        await settle()
        assert work.gated
        assert (await stats(sup)).ready == {
            Priority.CRITICAL: 1,
            Priority.HIGH: 1,
            Priority.NORMAL: 2,
            Priority.LOW: 1,
        }
        work.gate.set()
        await settle()
        assert work.names == ["critical", "high", "normal", "normal2", "low"]
        assert (await stats(sup)).acked == 6


async def test_the_starvation_guard_lets_a_low_item_through(
    backend: str, clock: trio.testing.MockClock
) -> None:
    sup = make_queue(backend, starvation_limit=2)
    work = Recorder()
    sup.register("job", work)
    async with running(sup):
        await enqueue(sup, "job", gate=True)
        await settle()
        assert work.gated
        await enqueue(sup, "job", Priority.LOW, n="low")
        for n in range(5):
            await enqueue(sup, "job", Priority.CRITICAL, n=f"c{n}")
        work.gate.set()
        await settle()
        assert work.names == ["c0", "c1", "low", "c2", "c3", "c4"]


async def test_a_failing_handler_is_retried_after_the_backoff(
    backend: str, clock: trio.testing.MockClock
) -> None:
    sup = make_queue(backend)
    times: list[float] = []

    async def flaky(item: QueueItem) -> None:
        times.append(trio.current_time())
        if item.attempt < 3:
            raise ConnectionError(f"attempt {item.attempt}")

    sup.register("job", flaky, RetryPolicy(base=4.0, factor=2.0, cap=60.0, max_attempts=5))
    async with running(sup):
        await enqueue(sup, "job")
        await settle(100)
        # The queue's jitter comes from random.Random(seed): the same draws, in order.
        rng = random.Random(7)
        first, second = rng.uniform(0, 4.0), rng.uniform(0, 8.0)
        assert len(times) == 3
        assert times[1] - times[0] == pytest.approx(first, abs=1e-6)
        assert times[2] - times[1] == pytest.approx(second, abs=1e-6)
        statistics = await stats(sup)
        assert (statistics.retried, statistics.acked, statistics.dead) == (2, 1, 0)


async def test_the_last_failure_makes_a_dead_letter_that_can_be_replayed(
    backend: str, clock: trio.testing.MockClock
) -> None:
    sup = make_queue(backend)
    broken = True
    attempts: list[int] = []

    async def fragile(item: QueueItem) -> None:
        attempts.append(item.attempt)
        if broken:
            raise ValueError(f"cannot handle {item.payload['n']}")

    sup.register("job", fragile, RetryPolicy(base=0.5, max_attempts=2))
    async with running(sup):
        first = await enqueue(sup, "job", n=1)
        second = await enqueue(sup, "job", n=2)
        await settle(30)
        dead = await sup.queue.ask(ListDead(limit=10))
        # Oldest death first; the jitter decided which one died first.
        assert sorted((d.id, d.attempt, d.last_error) for d in dead) == sorted(
            [
                (first, 2, "ValueError: cannot handle 1"),
                (second, 2, "ValueError: cannot handle 2"),
            ]
        )
        assert [d.id for d in await sup.queue.ask(ListDead(limit=1))] == [dead[0].id]
        statistics = await stats(sup)
        assert (statistics.dead, statistics.dead_lettered, statistics.retried) == (2, 2, 2)

        broken = False
        attempts.clear()
        assert await sup.queue.ask(ReplayDead((first, "unknown"))) == (first,)
        await settle(5)
        assert attempts == [1]
        assert await sup.queue.ask(PurgeDead()) == (second,)
        statistics = await stats(sup)
        assert (statistics.dead, statistics.acked, sum(statistics.ready.values())) == (0, 1, 0)


class WorkerDeath(BaseException):
    """Not an Exception: the worker does not treat it as a failed item; it dies of it."""


async def test_an_item_held_by_a_worker_that_dies_is_delivered_again(
    backend: str, clock: trio.testing.MockClock
) -> None:
    sup = make_queue(backend, workers=1)
    deliveries: list[QueueItem] = []

    async def deadly(item: QueueItem) -> None:
        deliveries.append(item)
        if item.attempt == 1:
            raise WorkerDeath()

    sup.register("job", deadly, RetryPolicy(base=1.0))
    async with running(sup):
        item_id = await enqueue(sup, "job")
        await settle(30)
        assert [(d.id, d.attempt) for d in deliveries] == [(item_id, 1), (item_id, 2)]
        assert deliveries[1].last_error is not None
        assert deliveries[1].last_error.startswith("worker stopped: crashed (WorkerDeath")
        worker = sup.statistics().children[1]
        assert (worker.restarts, worker.state) == (1, ChildState.RUNNING)
        assert (await stats(sup)).acked == 1


async def test_a_handler_that_outlives_its_lease_keeps_it_by_renewal(
    backend: str, clock: trio.testing.MockClock
) -> None:
    sup = make_queue(backend, lease_seconds=3.0)
    deliveries: list[int] = []

    async def slow(item: QueueItem) -> None:
        deliveries.append(item.attempt)
        await trio.sleep(20)

    sup.register("job", slow)
    async with running(sup):
        await enqueue(sup, "job")
        await settle(30)
        assert deliveries == [1]
        assert (await stats(sup)).acked == 1


async def test_a_full_queue_rejects_without_crashing(
    backend: str, clock: trio.testing.MockClock
) -> None:
    sup = make_queue(backend, capacity=3)
    work = Recorder()
    sup.register("job", work)
    async with running(sup):
        await enqueue(sup, "job", gate=True)
        await settle()
        assert work.gated
        await enqueue(sup, "job", n="a")
        await enqueue(sup, "job", n="b")
        reply = await sup.queue.ask(Enqueue("job", {"n": "c"}))
        assert isinstance(reply, Rejected)
        assert reply.code is RejectCode.FULL
        work.gate.set()
        await settle()
        assert work.names == ["a", "b"]
        await enqueue(sup, "job", n="c")
        await settle()
        assert work.names == ["a", "b", "c"]
        assert sup.statistics().children[0].restarts == 0


async def test_unknown_kinds_and_non_json_payloads_are_rejected(
    backend: str, clock: trio.testing.MockClock
) -> None:
    sup = make_queue(backend)
    sup.register("job", Recorder())
    async with running(sup):
        unknown = await sup.queue.ask(Enqueue("nobody", {}))
        assert isinstance(unknown, Rejected)
        assert unknown.code is RejectCode.UNKNOWN_KIND
        invalid = await sup.queue.ask(Enqueue("job", {"x": object()}))
        assert isinstance(invalid, Rejected)
        assert invalid.code is RejectCode.INVALID_PAYLOAD
        not_an_object = await sup.queue.ask(Enqueue("job", [1, 2]))  # type: ignore[arg-type]
        assert isinstance(not_an_object, Rejected)
        assert not_an_object.code is RejectCode.INVALID_PAYLOAD
        bad_priority = await sup.queue.ask(Enqueue("job", {}, 9))  # type: ignore[arg-type]
        assert isinstance(bad_priority, Rejected)
        assert bad_priority.code is RejectCode.INVALID_PRIORITY
        assert (await stats(sup)).enqueued == 0


async def test_payloads_arrive_as_json_and_many_workers_share_the_load(
    backend: str, clock: trio.testing.MockClock
) -> None:
    sup = make_queue(backend, workers=4)
    seen: list[QueueItem] = []
    busy = 0
    peak = 0

    async def job(item: QueueItem) -> None:
        nonlocal busy, peak
        busy += 1
        peak = max(peak, busy)
        seen.append(item)
        await trio.sleep(1)
        busy -= 1

    sup.register("job", job)
    async with running(sup):
        for n in range(12):
            await sup.queue.ask(Enqueue("job", {"n": n, "tags": ("a", "b"), "nested": {}}))
        await settle(10)
        assert sorted(item.payload["n"] for item in seen) == list(range(12))
        assert seen[0].payload == {"n": seen[0].payload["n"], "tags": ["a", "b"], "nested": {}}
        assert peak == 4
        statistics = await stats(sup)
        assert statistics.backend == ("memory" if backend == "memory" else "redis")
        assert (statistics.acked, statistics.in_progress, statistics.fallback_active) == (
            12,
            0,
            False,
        )


async def test_a_restarted_queue_actor_loses_no_item_and_no_waiting_worker(
    backend: str, clock: trio.testing.MockClock
) -> None:
    sup = make_queue(backend, workers=1)
    work = Recorder()
    sup.register("job", work)

    async def kill_the_queue_actor() -> None:
        # No message makes it crash; kill it the way its supervisor would on a timeout.
        sup._children["queue"].scope.cancel()
        await settle(5)

    async with running(sup):
        await enqueue(sup, "job", gate=True)
        await settle()
        await enqueue(sup, "job", n="queued")
        await kill_the_queue_actor()
        work.gate.set()
        await settle()
        assert work.names == ["queued"]
        # Now the worker waits idle; its slot must survive the next restart.
        await kill_the_queue_actor()
        await enqueue(sup, "job", n="after")
        await settle()
        assert work.names == ["queued", "after"]
        assert sup.statistics().children[0].restarts == 2
        assert (await stats(sup)).acked == 3


async def test_an_item_in_progress_at_shutdown_is_delivered_after_the_next_start(
    backend: str, clock: trio.testing.MockClock
) -> None:
    sup = make_queue(backend, workers=1)
    deliveries: list[QueueItem] = []

    async def endless(item: QueueItem) -> None:
        deliveries.append(item)
        if item.attempt == 1:
            await trio.sleep_forever()

    sup.register("job", endless, RetryPolicy(base=1.0))
    async with running(sup):
        item_id = await enqueue(sup, "job")
        await settle()
    # The same subtree again: the same memory store, or the same Redis keys.
    async with running(sup):
        await settle(5)
        assert [(d.id, d.attempt) for d in deliveries] == [(item_id, 1), (item_id, 2)]
        assert deliveries[1].last_error == "worker stopped: shutdown"
        assert (await stats(sup)).acked == 1


async def test_a_batch_is_taken_in_order_until_capacity(
    backend: str, clock: trio.testing.MockClock
) -> None:
    sup = make_queue(backend, capacity=3)
    work = Recorder()
    sup.register("job", work)
    async with running(sup):
        await enqueue(sup, "job", gate=True)
        await settle()
        batch = EnqueueBatch(
            (
                Enqueue("job", {"n": "a"}),
                Enqueue("nobody", {}),
                Enqueue("job", {"n": "b"}, Priority.HIGH),
                Enqueue("job", {"n": "c"}),
            )
        )
        replies = await sup.queue.ask(batch)
        assert [type(r).__name__ for r in replies] == [
            "Enqueued",
            "Rejected",
            "Enqueued",
            "Rejected",
        ]
        assert (replies[1].code, replies[3].code) == (RejectCode.UNKNOWN_KIND, RejectCode.FULL)
        work.gate.set()
        await settle()
        assert work.names == ["b", "a"]
