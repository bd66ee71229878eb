"""Redis outages: the memory fallback keeps the queue working and hands back what it held."""

from __future__ import annotations

import gc
import socket
from collections.abc import Iterator

import pytest
import trio
import trio.testing

from tests.support.redis import RedisServer
from tether.actors.queue import Enqueue, Enqueued, QueueItem
from tether.actors.queue._redis import connect
from tether.protocol import Priority

from ._helpers import enqueue, make_queue, running, settle, stats

# coredis 6.9 bug: a connection that fails to connect never closes the six anyio memory
# streams it made in __init__ (BaseConnection.run enters them only after connecting), so
# each failed attempt warns when collected. Only these warnings are ignored, only here.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <function MemoryObject(Send|Receive)Stream.__del__"
    ":pytest.PytestUnraisableExceptionWarning"
)


@pytest.fixture(autouse=True)
def collect_leaks() -> Iterator[None]:
    # So that those warnings come while the filter above applies, not at the end of the run.
    yield
    gc.collect()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


async def test_the_queue_starts_and_works_while_redis_is_down(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sup = make_queue(closed_port_url())
    seen: list[str] = []

    async def job(item: QueueItem) -> None:
        seen.append(item.id)

    sup.register("job", job)
    async with running(sup):
        ids = [await enqueue(sup, "job", n=n) for n in range(3)]
        await settle(5)
        assert seen == ids
        statistics = await stats(sup)
        assert (statistics.backend, statistics.fallback_active) == ("redis", True)
        assert statistics.acked == 3


async def test_nothing_enqueued_is_lost_across_a_redis_restart(
    redis_server: RedisServer, redis_clock: trio.testing.MockClock
) -> None:
    sup = make_queue(redis_server.url, workers=1)
    seen: list[str] = []
    gate = trio.Event()

    async def job(item: QueueItem) -> None:
        seen.append(item.id)
        if item.payload.get("gate"):
            await gate.wait()

    sup.register("job", job)
    accepted: list[str] = []
    async with running(sup, timeout=10_000):
        accepted.append(await enqueue(sup, "job", gate=True))
        await settle()
        assert seen == accepted
        # Waiting in Redis, behind the gate, when it goes down.
        accepted += [await enqueue(sup, "job", n=n) for n in range(3)]

        # Blocking on purpose: under the fake clock the outage starts and ends in no time.
        redis_server.stop(save=True)
        try:
            during = [await sup.queue.ask(Enqueue("job", {"n": n})) for n in range(3, 6)]
            assert all(isinstance(reply, Enqueued) for reply in during)
            accepted += [reply.id for reply in during]
            assert (await stats(sup)).fallback_active
            gate.set()
            await settle(5)
            # The fallback delivers what it took while Redis was away.
            assert set(accepted[4:]) <= set(seen)
            stuck = await enqueue(sup, "job", n=6, gate=True)
            accepted.append(stuck)
            gate = trio.Event()
            await settle(5)
            assert seen[-1] == stuck
            waiting = [await enqueue(sup, "job", n=n) for n in range(7, 9)]
            accepted += waiting
        finally:
            redis_server.start()

        # Back: the breaker closes on a probe, and what memory held moves to Redis.
        await settle(120)
        assert not (await stats(sup)).fallback_active
        async with connect(redis_server.url) as client:
            key = f"{sup.config.prefix}:ready:{int(Priority.NORMAL)}"
            # Behind what Redis held before it went down; then the first item, whose ack was
            # lost in the outage, once its lease expired.
            ready = list(await client.zrange(key, 0, -1))
            assert ready == [*accepted[1:4], *waiting, accepted[0]]

        gate.set()
        await settle(300)
        statistics = await stats(sup)
        # At least once: everything accepted was delivered, and everything was settled.
        assert set(accepted) <= set(seen)
        assert sum(statistics.ready.values()) == statistics.in_progress == 0
        assert statistics.delayed == statistics.dead == 0
