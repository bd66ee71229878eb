"""Building and running a queue subtree for a test, on the test's fake clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from tether.actors.queue import (
    Enqueue,
    Enqueued,
    GetQueueStatistics,
    QueueConfig,
    QueueStatistics,
    QueueSupervisor,
)
from tether.protocol import Priority


def make_queue(backend: str, **options: Any) -> QueueSupervisor:
    options.setdefault("workers", 1)
    options.setdefault("capacity", 100)
    # Each poll costs real time under the Redis tests' clock; no other process enqueues here.
    options.setdefault("poll_seconds", 60.0)
    config = QueueConfig(
        backend,
        prefix=f"tether:test:{uuid.uuid4().hex}",
        clock=trio.current_time,
        seed=7,
        **options,
    )
    return QueueSupervisor(config=config)


@asynccontextmanager
async def running(sup: QueueSupervisor, timeout: float = 600) -> AsyncIterator[QueueSupervisor]:
    with trio.fail_after(timeout):
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            yield sup
            sup.stop()


async def enqueue(
    sup: QueueSupervisor, kind: str, priority: Priority = Priority.NORMAL, **payload: Any
) -> str:
    reply = await sup.queue.ask(Enqueue(kind, payload, priority))
    assert isinstance(reply, Enqueued), reply
    return reply.id


async def stats(sup: QueueSupervisor) -> QueueStatistics:
    result: QueueStatistics = await sup.queue.ask(GetQueueStatistics())
    return result


async def settle(seconds: float = 1.0) -> None:
    """Let virtual time pass so that deliveries, acks and retries play out."""
    await trio.sleep(seconds)
