"""The service tree in-process, over real sockets on 127.0.0.1: nothing leaks, a stalled
client does not slow the others, priorities overtake a backlog."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
from wsproto.events import CloseConnection

from tether.actors.connection._actor import ConnectionActor
from tether.actors.connection._peer import Peer
from tether.actors.examples.echo import echo
from tether.actors.heartbeat import (
    HEARTBEAT,
    GetHeartbeatStatistics,
    HeartbeatStatistics,
    Liveness,
)
from tether.actors.listener._actor import GetAddress
from tether.actors.manager import MANAGER, BeginDrain, GetStatistics, Kick, ManagerStatistics
from tether.supervision import Supervisor, SupervisorStatistics
from tether.supervision._config import ServiceConfig
from tether.supervision._service import Service

from ..support.raw_client import RawClient


@asynccontextmanager
async def running_service(**config: object) -> AsyncIterator[tuple[Supervisor, int]]:
    service = Service(ServiceConfig(port=0, rate_limit=0, **config))  # type: ignore[arg-type]
    service.handle("echo", echo)
    tree = service.build()
    async with trio.open_nursery() as nursery:
        await nursery.start(tree.run)
        _, port = await tree.ref("listener").ask(GetAddress())
        yield tree, port
        tree.stop()


async def manager_statistics(tree: Supervisor) -> ManagerStatistics:
    stats: ManagerStatistics = await tree.ref(MANAGER).ask(GetStatistics())
    return stats


def child_statistics(tree: Supervisor, child_id: str) -> SupervisorStatistics:
    (child,) = [c for c in tree.statistics().children if c.id == child_id]
    assert child.supervisor is not None
    return child.supervisor


async def wait_until_empty(tree: Supervisor) -> ManagerStatistics:
    while True:
        stats = await manager_statistics(tree)
        connections = child_statistics(tree, "connections")
        if stats.connections == 0 and not connections.children:
            return stats
        await trio.sleep(0.01)


async def heartbeat_statistics(tree: Supervisor) -> HeartbeatStatistics:
    stats: HeartbeatStatistics = await tree.ref(HEARTBEAT).ask(GetHeartbeatStatistics())
    return stats


def alive(kind: type) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is kind)


async def test_nothing_leaks_after_thousands_of_connections_ending_every_way() -> None:
    with trio.fail_after(120):
        async with running_service(
            heartbeat_interval=0.25, heartbeat_max_missed=2, max_outbox_bytes=32_000
        ) as (tree, port):
            manager = tree.ref(MANAGER)

            async def cycle(n: int) -> None:
                kind = n % 4
                client = await RawClient.connect(port)
                welcome = await client.recv()
                assert isinstance(welcome, dict) and welcome["type"] == "welcome"
                if kind in (1, 2):
                    await client.send(type="subscribe", topic=f"t{n % 50}", id=1)
                    assert (await client.recv())["type"] == "ack"  # type: ignore[index]
                if kind == 0:  # a clean close
                    await client.stream.send_all(client.ws.send(CloseConnection(1000)))
                    while not isinstance(await client.recv(), CloseConnection):
                        pass
                elif kind == 3:  # kicked by the server
                    assert await manager.ask(Kick(welcome["connection_id"], 4100, "kicked"))
                    event = await client.recv()
                    assert isinstance(event, CloseConnection) and event.code == 4100
                await client.abort()  # kinds 1 and 2: the TCP connection just ends

            async def mute(n: int) -> None:  # never answers a ping: heartbeat timeout
                client = await RawClient.connect(port, answer_pings=False)
                await client.recv()
                event = await client.recv()
                assert isinstance(event, CloseConnection) and event.code == 4000
                await client.abort()

            for batch in range(40):
                async with trio.open_nursery() as nursery:
                    for n in range(batch * 25, batch * 25 + 25):
                        nursery.start_soon(cycle, n)
            async with trio.open_nursery() as nursery:
                for n in range(50):
                    nursery.start_soon(mute, n)
            # Slow consumers: subscribers that stop reading while a publisher floods them.
            stalled = [await RawClient.connect(port, receive_buffer=4096) for _ in range(20)]
            for client in stalled:
                await client.recv()
                await client.send(type="subscribe", topic="flood", id=1)
                await client.recv()
            publisher = await RawClient.connect(port)
            await publisher.recv()
            for _ in range(60):
                await publisher.send(type="publish", topic="flood", data="f" * 4000)
            while (await manager_statistics(tree)).closed.get(4001, 0) < 20:  # noqa: ASYNC110
                await trio.sleep(0.01)
            for client in [*stalled, publisher]:
                await client.abort()
            stats = await wait_until_empty(tree)
            assert stats.connections_total == 1000 + 50 + 20 + 1
            assert stats.users == 0 and stats.topics == 0
            # The 50 mute ones, and the publisher too if it was silent long enough.
            assert stats.closed.get(4000, 0) >= 50 and stats.closed.get(4001) == 20
            assert (await heartbeat_statistics(tree)).watched == 0
            assert alive(ConnectionActor) == alive(Peer) == alive(Liveness) == 0


async def test_a_stalled_client_is_closed_4001_and_does_not_delay_the_others() -> None:
    with trio.fail_after(60):
        async with running_service(max_outbox_bytes=64 * 1024) as (tree, port):
            stalled = await RawClient.connect(port, receive_buffer=4096)
            healthy = await RawClient.connect(port)
            publisher = await RawClient.connect(port)
            for client in (stalled, healthy, publisher):
                await client.recv()
            for client in (stalled, healthy):
                await client.send(type="subscribe", topic="firehose", id="s")
                await client.recv()
            payload = "x" * 4000
            received = 0
            for n in range(300):
                await publisher.send(type="publish", topic="firehose", data=payload, id=n)
                assert (await publisher.recv())["type"] == "ack"  # type: ignore[index]
                frame = await healthy.recv()
                assert frame["type"] == "message"  # type: ignore[index]
                received += 1
            assert received == 300
            # The stalled one overflowed its outbox and was closed: with 4001 if the frame
            # it had stopped reading could still be finished, without a close frame if not.
            # Either way, what it does read is intact.
            try:
                while True:
                    event = await stalled.recv()
                    if isinstance(event, CloseConnection):
                        assert event.code in (4001, 1006)  # 1006: EOF without a close frame
                        break
                    assert event["type"] == "message"
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
            # The manager counts the close once the connection actor has stopped.
            while (await manager_statistics(tree)).closed.get(4001) != 1:  # noqa: ASYNC110
                await trio.sleep(0.01)
            for client in (stalled, healthy, publisher):
                await client.abort()


async def test_a_critical_message_overtakes_a_backlog_of_low_ones() -> None:
    with trio.fail_after(60):
        async with running_service(max_outbox_bytes=64 * 1024 * 1024) as (_, port):
            reader = await RawClient.connect(port, receive_buffer=4096)
            publisher = await RawClient.connect(port)
            await reader.recv()
            await publisher.recv()
            await reader.send(type="subscribe", topic="mixed", id="s")
            await reader.recv()
            payload = "y" * 8000
            for n in range(1000):
                await publisher.send(type="publish", topic="mixed", data=n, priority="low", id=n)
                await publisher.send(type="publish", topic="mixed", data=payload, priority="low")
            await publisher.send(type="publish", topic="mixed", data="urgent", priority="critical")
            acks = 0
            while acks < 1000:
                frame = await publisher.recv()
                acks += frame["type"] == "ack"  # type: ignore[index]
            order = []
            while len(order) < 2001:
                frame = await reader.recv()
                assert isinstance(frame, dict)
                if frame["type"] == "message":
                    order.append((frame["priority"], frame["data"]))
            urgent = order.index(("critical", "urgent"))
            # Everything after "urgent" was published before it.
            assert urgent < 2000
            lows = [data for priority, data in order if priority == "low" and data != payload]
            assert lows == list(range(1000))  # FIFO within a priority
            await reader.abort()
            await publisher.abort()


async def test_once_draining_new_work_is_refused_as_unavailable_and_pings_still_answered() -> None:
    with trio.fail_after(30):
        async with running_service() as (tree, port):
            client = await RawClient.connect(port)
            await client.recv()
            await tree.ref(MANAGER).ask(BeginDrain())
            await client.send(type="publish", topic="t", data=1, id="late")
            await client.send(type="subscribe", topic="t", id="sub")
            await client.send(type="ping", id="alive")
            frames = [await client.recv() for _ in range(3)]
            by_ref = {f["ref"]: f for f in frames if isinstance(f, dict)}
            assert by_ref["late"]["code"] == "unavailable"
            assert by_ref["sub"]["code"] == "unavailable"
            assert by_ref["alive"]["type"] == "pong"
            await client.abort()
