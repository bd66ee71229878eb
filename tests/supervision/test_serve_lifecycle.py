"""`tether serve` as a subprocess: heartbeats, the drain on SIGTERM, health and readiness."""

from __future__ import annotations

import contextlib
import signal
import urllib.error
import urllib.request
from typing import Any

import trio
from wsproto.events import CloseConnection
from wsproto.utilities import LocalProtocolError

from ..support.process import free_port, serving
from ..support.raw_client import RawClient


async def test_a_peer_that_never_answers_is_closed_4000_after_the_misses() -> None:
    with trio.fail_after(30):
        async with serving("--heartbeat-interval", "0.3", "--heartbeat-max-missed", "2") as (
            _,
            port,
        ):
            mute = await RawClient.connect(port, answer_pings=False)
            polite = await RawClient.connect(port)
            frames: list[object] = []

            async def keep_reading() -> None:
                # Reading is what answers the pings: the polite one never stops.
                while True:
                    frames.append(await polite.recv())

            async with trio.open_nursery() as nursery:
                nursery.start_soon(keep_reading)
                assert (await mute.recv())["type"] == "welcome"  # type: ignore[index]
                welcomed_at = trio.current_time()
                event = await mute.recv()
                silent_for = trio.current_time() - welcomed_at
                assert isinstance(event, CloseConnection) and event.code == 4000
                # Never before 2 x 0.3 s of silence; within one more interval (plus slack).
                assert 0.6 <= silent_for <= 0.9 + 0.5
                # The polite one is still there after many intervals.
                await trio.sleep(3.0)
                await polite.send(type="ping", id="still")
                await trio.sleep(0.5)
                nursery.cancel_scope.cancel()
            assert isinstance(frames[-1], dict) and frames[-1]["ref"] == "still"
            await mute.abort()
            await polite.abort()


def http_get(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


async def fetch(port: int, path: str) -> int:
    return await trio.to_thread.run_sync(http_get, port, path)


async def subscribe(client: RawClient, topic: str) -> None:
    assert (await client.recv())["type"] == "welcome"  # type: ignore[index]
    await client.send(type="subscribe", topic=topic, id="s")
    assert (await client.recv())["type"] == "ack"  # type: ignore[index]


async def test_sigterm_drains_many_clients_and_loses_no_acknowledged_message() -> None:
    with trio.fail_after(60):
        async with serving("--rate-limit", "0", "--drain-timeout", "20") as (proc, port):
            subscribers = [await RawClient.connect(port) for _ in range(40)]
            for client in subscribers:
                await subscribe(client, "orders")
            publishers = [await RawClient.connect(port) for _ in range(3)]
            acked: set[int] = set()
            received: list[list[Any]] = [[] for _ in subscribers]
            shutdowns = [0] * len(subscribers)
            close_codes: list[int | None] = [None] * len(subscribers)

            async def publish(client: RawClient, base: int) -> None:
                assert (await client.recv())["type"] == "welcome"  # type: ignore[index]
                n = 0

                async def sender() -> None:
                    nonlocal n
                    # Until the server closes this publisher too.
                    with contextlib.suppress(trio.BrokenResourceError, LocalProtocolError):
                        while True:
                            await client.send(
                                type="publish", topic="orders", data=base + n, id=base + n
                            )
                            n += 1
                            await trio.sleep(0.002)

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(sender)
                    while True:
                        try:
                            frame = await client.recv()
                        except (trio.BrokenResourceError, trio.ClosedResourceError):
                            break
                        if isinstance(frame, CloseConnection):
                            break
                        if frame["type"] == "ack":
                            acked.add(frame["ref"])
                    nursery.cancel_scope.cancel()

            async def consume(index: int) -> None:
                client = subscribers[index]
                while True:
                    frame = await client.recv()
                    if isinstance(frame, CloseConnection):
                        close_codes[index] = frame.code
                        return
                    if frame["type"] == "shutdown":
                        shutdowns[index] += 1
                        assert frame["reconnect_after_ms"] > 0
                    elif frame["type"] == "message":
                        received[index].append(frame["data"])

            async with trio.open_nursery() as nursery:
                for index in range(len(subscribers)):
                    nursery.start_soon(consume, index)
                for k, client in enumerate(publishers):
                    nursery.start_soon(publish, client, k * 1_000_000)
                await trio.sleep(0.5)
                proc.send_signal(signal.SIGTERM)
            status = await proc.wait()
            for client in subscribers + publishers:
                await client.abort()
    assert status == 0
    assert len(acked) > 50
    assert shutdowns == [1] * len(subscribers)
    assert close_codes == [1001] * len(subscribers)
    for messages in received:
        assert acked <= set(messages), "an acknowledged publish was lost"
        assert len(messages) == len(set(messages))
    last = [line for line in proc.output if line.strip()][-1]
    assert "stopped" in last and "connections_drained=" in last and "exit_status=0" in last


async def stuck_subscriber(port: int, publisher: RawClient) -> RawClient:
    """A subscriber that stops reading while a backlog waits for it: it holds a drain open
    (its outbox cannot flush) until the drain timeout."""
    stuck = await RawClient.connect(port, receive_buffer=4096)
    await subscribe(stuck, "backlog")
    assert (await publisher.recv())["type"] == "welcome"  # type: ignore[index]
    for n in range(400):
        await publisher.send(type="publish", topic="backlog", data="z" * 8000, id=n)
    acks = 0
    while acks < 400:
        acks += (await publisher.recv())["type"] == "ack"  # type: ignore[index]
    return stuck


async def test_during_a_drain_readyz_fails_new_connections_are_refused_and_it_ends_in_time() -> (
    None
):
    admin = free_port()
    with trio.fail_after(60):
        async with serving(
            "--rate-limit", "0", "--drain-timeout", "3", "--admin-port", str(admin),
            "--max-outbox-bytes", "16000000",
        ) as (proc, port):  # fmt: skip
            await proc.wait_for_line("admin listening on")
            assert await fetch(admin, "/healthz") == 200
            assert await fetch(admin, "/readyz") == 200
            assert await fetch(admin, "/nothing") == 404
            publisher = await RawClient.connect(port)
            stuck = await stuck_subscriber(port, publisher)
            signalled_at = trio.current_time()
            proc.send_signal(signal.SIGTERM)
            await proc.wait_for_line("draining")
            assert await fetch(admin, "/healthz") == 200
            assert await fetch(admin, "/readyz") == 503
            try:
                late = await RawClient.connect(port)
            except (OSError, ConnectionRefusedError) as refusal:
                assert isinstance(refusal, ConnectionRefusedError) or "503" in str(refusal)
            else:
                raise AssertionError(f"a connection was admitted during the drain: {late}")
            assert await proc.wait() == 0
            took = trio.current_time() - signalled_at
            assert 3 <= took <= 3 + 5
            await stuck.abort()
            await publisher.abort()
    output = "".join(proc.output)
    assert "drain timeout reached" in output


async def test_a_second_signal_during_the_drain_exits_at_once_non_zero() -> None:
    with trio.fail_after(60):
        async with serving(
            "--rate-limit", "0", "--drain-timeout", "60", "--max-outbox-bytes", "16000000"
        ) as (proc, port):
            publisher = await RawClient.connect(port)
            stuck = await stuck_subscriber(port, publisher)
            proc.send_signal(signal.SIGTERM)
            await proc.wait_for_line("draining")
            proc.send_signal(signal.SIGTERM)
            with trio.fail_after(10):
                status = await proc.wait()
            assert status == 128 + signal.SIGTERM
            await stuck.abort()
            await publisher.abort()


async def test_metrics_are_served(tmp_path: Any) -> None:
    admin = free_port()
    with trio.fail_after(30):
        async with serving("--admin-port", str(admin)) as (proc, port):
            await proc.wait_for_line("admin listening on")
            client = await RawClient.connect(port)
            await subscribe(client, "metrics")

            def get() -> str:
                url = f"http://127.0.0.1:{admin}/metrics"
                with urllib.request.urlopen(url, timeout=5) as response:
                    return str(response.read().decode())

            text = await trio.to_thread.run_sync(get)
            assert "tether_connections 1.0" in text
            assert "tether_ready 1.0" in text
            assert "tether_heartbeat_pings_total" in text
            assert "tether_queue_fallback_active 0.0" in text
            assert "tether_queue_enqueued_total" in text
            await client.abort()
