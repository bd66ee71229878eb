"""Several `tether serve` processes sharing one redis-server form one service."""

from __future__ import annotations

import trio

from ..support.process import serving
from ..support.raw_client import RawClient
from ..support.redis import RedisServer


async def subscribed(port: int, topic: str) -> RawClient:
    client = await RawClient.connect(port)
    assert (await client.recv())["type"] == "welcome"  # type: ignore[index]
    await client.send(type="subscribe", topic=topic, id="s")
    assert (await client.recv())["type"] == "ack"  # type: ignore[index]
    return client


async def next_message(client: RawClient) -> dict[str, object]:
    while True:
        frame = await client.recv()
        assert isinstance(frame, dict), frame
        if frame["type"] == "message":
            return frame


async def test_a_publish_on_one_node_reaches_subscribers_on_every_node(
    redis_server: RedisServer,
) -> None:
    redis = ("--redis-url", redis_server.url, "--rate-limit", "0")
    with trio.fail_after(60):
        async with serving(*redis) as (one, port_one), serving(*redis) as (two, port_two):
            await one.wait_for_line("bus connected")
            await two.wait_for_line("bus connected")
            here = await subscribed(port_one, "news")
            there = await subscribed(port_two, "news")
            # The subscription travels to Redis asynchronously: publish until it lands.
            publisher = await RawClient.connect(port_one)
            await publisher.recv()
            n = 0
            with trio.fail_after(10):
                while True:
                    await publisher.send(type="publish", topic="news", data=n, id=n)
                    with trio.move_on_after(0.2):
                        first_there = await next_message(there)
                        break
                    n += 1
            await publisher.send(type="publish", topic="news", data="final", id="final")
            while (await next_message(there))["data"] != "final":
                pass
            seen_here = []
            while True:
                message = await next_message(here)
                seen_here.append(message)
                if message["data"] == "final":
                    break
            # Every node numbers a message alike: one epoch, one offset sequence, in Redis.
            assert first_there["id"] in {m["id"] for m in seen_here}
            epoch = str(first_there["id"]).split("-")[0]
            ids = [m["id"] for m in seen_here if str(m["id"]).startswith(epoch)]
            assert ids == sorted(ids) and len(ids) == len(set(ids))
            for client in (here, there, publisher):
                await client.abort()


async def test_a_node_starts_without_redis_and_delivers_locally(redis_server: RedisServer) -> None:
    unreachable = "redis://127.0.0.1:1/0"
    with trio.fail_after(30):
        async with serving("--redis-url", unreachable) as (node, port):
            await node.wait_for_line("delivering locally")
            subscriber = await subscribed(port, "local")
            publisher = await RawClient.connect(port)
            await publisher.recv()
            await publisher.send(type="publish", topic="local", data="still works", id=1)
            assert (await next_message(subscriber))["data"] == "still works"
            for client in (subscriber, publisher):
                await client.abort()


async def test_killing_and_restarting_redis_loses_no_acknowledged_publish(
    redis_server: RedisServer,
) -> None:
    with trio.fail_after(90):
        async with serving("--redis-url", redis_server.url, "--rate-limit", "0") as (node, port):
            await node.wait_for_line("bus connected")
            subscriber = await subscribed(port, "ledger")
            publisher = await RawClient.connect(port)
            await publisher.recv()
            acked: set[int] = set()
            received: set[int] = set()
            sent = 0

            async def publish_for(seconds: float) -> None:
                nonlocal sent
                with trio.move_on_after(seconds):
                    while True:
                        await publisher.send(type="publish", topic="ledger", data=sent, id=sent)
                        sent += 1
                        await trio.sleep(0.005)

            async def read_acks() -> None:
                while True:
                    frame = await publisher.recv()
                    assert isinstance(frame, dict), frame
                    if frame["type"] == "ack":
                        acked.add(frame["ref"])

            async def read_messages() -> None:
                while True:
                    received.add((await next_message(subscriber))["data"])  # type: ignore[arg-type]

            async with trio.open_nursery() as nursery:
                nursery.start_soon(read_acks)
                nursery.start_soon(read_messages)
                await publish_for(1.0)
                # A restart of a Redis that keeps its data (SHUTDOWN SAVE): items enqueued and
                # acknowledged but not yet taken wait in Redis, as they would in production.
                await trio.to_thread.run_sync(lambda: redis_server.stop(save=True))
                await publish_for(2.0)
                await trio.to_thread.run_sync(redis_server.start)
                await node.wait_for_line("bus connected", timeout=30, count=2)
                await publish_for(1.0)
                with trio.move_on_after(10):
                    while not acked <= received:  # noqa: ASYNC110 - waiting on other tasks
                        await trio.sleep(0.05)
                nursery.cancel_scope.cancel()
            assert len(acked) > 100
            assert acked <= received, f"lost: {sorted(acked - received)[:20]}"
            assert node.process.returncode is None  # the service stayed up
            for client in (subscriber, publisher):
                await client.abort()
