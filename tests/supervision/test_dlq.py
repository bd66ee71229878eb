"""`tether dlq` against a real redis-server: list, show, replay, purge."""

from __future__ import annotations

import json
import subprocess
import sys

import trio

from tether.actors.queue import QueueItem
from tether.actors.queue._redis import RedisBackend, connect
from tether.protocol import Priority

from ..support.redis import RedisServer

PREFIX = "dlqtest:queue"


async def make_dead_letters(url: str, count: int) -> list[str]:
    async with connect(url) as client:
        backend = RedisBackend(client, url=url, prefix=PREFIX, capacity=1000, starvation_limit=8)
        items = [
            QueueItem(f"item{n}", "email", {"to": f"u{n}"}, Priority.NORMAL, 1, 0.0)
            for n in range(count)
        ]
        await backend.enqueue(items)
        leases = await backend.reserve(now=0.0, lease_seconds=30, count=count)
        for lease in leases:
            assert await backend.nack(lease.token, "SMTP refused", None)
        return [lease.item.id for lease in leases]


async def dlq(url: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "tether", "dlq", *args[:1], "--redis-url", url]
    command += ["--prefix", PREFIX, *args[1:]]
    return await trio.run_process(command, capture_stdout=True, capture_stderr=True, check=False)


async def test_list_show_replay_purge(redis_server: RedisServer) -> None:
    url = redis_server.url
    with trio.fail_after(60):
        ids = await make_dead_letters(url, 3)
        listed = await dlq(url, "list")
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.decode().splitlines()
        assert [line.split("\t")[0] for line in lines] == ids
        assert all(line.endswith("SMTP refused") for line in lines)

        shown = await dlq(url, "show", ids[0])
        item = json.loads(shown.stdout)
        assert item["kind"] == "email" and item["payload"] == {"to": "u0"}

        assert (await dlq(url, "show", "nope")).returncode != 0
        assert (await dlq(url, "replay")).returncode != 0  # neither ids nor --all

        replayed = await dlq(url, "replay", ids[0])
        assert replayed.returncode == 0 and ids[0] in replayed.stdout.decode()
        purged = await dlq(url, "purge", "--all")
        assert purged.returncode == 0 and "purged 2" in purged.stdout.decode()
        assert (await dlq(url, "list")).stdout == b""


async def test_an_unreachable_redis_is_a_clear_error() -> None:
    result = await dlq("redis://127.0.0.1:1/0", "list")
    assert result.returncode != 0
    assert b"cannot reach Redis" in result.stderr
