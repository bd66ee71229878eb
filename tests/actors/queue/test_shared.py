"""A Redis queue shared with other processes, through the key layout in docs/queue.md."""

from __future__ import annotations

import re
from pathlib import Path

import trio
import trio.testing

from tests.support.redis import RedisServer
from tether.actors.queue import QueueItem
from tether.actors.queue._redis import connect

from ._helpers import make_queue, running, settle, stats

DOC = Path(__file__).parents[3] / "docs" / "queue.md"


def documented_enqueue_script() -> str:
    match = re.search(r"```lua\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert match is not None, "docs/queue.md lost its Lua example"
    return match.group(1)


async def test_an_item_enqueued_by_another_service_as_documented_is_delivered(
    redis_server: RedisServer, redis_clock: trio.testing.MockClock
) -> None:
    sup = make_queue(redis_server.url, poll_seconds=1.0)
    seen: list[QueueItem] = []

    async def job(item: QueueItem) -> None:
        seen.append(item)

    sup.register("job", job)
    async with running(sup):
        async with connect(redis_server.url) as client:
            script = client.register_script(documented_enqueue_script())
            args: list[str | float] = [
                sup.config.prefix,
                "external-1",
                "job",
                '{"n": [1]}',
                1,
                trio.current_time(),
            ]
            await script(keys=[], args=args)
        # Nothing told the queue: it finds the item on its next look, within poll_seconds.
        await settle(1.5)
        assert [(i.id, i.payload, i.attempt) for i in seen] == [("external-1", {"n": [1]}, 1)]
        assert (await stats(sup)).acked == 1
