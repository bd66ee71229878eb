"""What every client process shares: connecting, waiting for a frame, talking to the harness."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import Opcode

# The message payload: 100 bytes of data (the JSON frame around it adds ~40).
PAYLOAD = "x" * 100


class CountingConnection(ClientConnection):
    """A client connection that counts the WebSocket pings it receives.

    The library answers pings by itself; counting them here tells the heartbeat
    scenario whether the server really pinged, and how often.
    """

    pings = 0

    def process_event(self, event: Any) -> None:
        # The first event is the handshake response, which has no opcode.
        if getattr(event, "opcode", None) is Opcode.PING:
            CountingConnection.pings += 1
        super().process_event(event)


async def open_connection(url: str, timeout: float) -> ClientConnection:
    # No compression (the servers have it off too); no client keepalive, so the
    # only pings are the server's; a large queue so reading never throttles.
    return await connect(
        url,
        compression=None,
        ping_interval=None,
        open_timeout=timeout,
        close_timeout=1,
        max_queue=None,
        create_connection=CountingConnection,
    )


async def open_many(
    url: str, count: int, timeout: float, parallel: int = 64
) -> list[ClientConnection]:
    """Open `count` connections, at most `parallel` handshakes at a time.

    A bound on concurrent handshakes keeps the server's accept backlog from
    overflowing (which would turn into SYN retries of a second or more).
    """
    gate = asyncio.Semaphore(parallel)

    async def one() -> ClientConnection:
        async with gate:
            return await open_connection(url, timeout)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def wait_for(
    ws: ClientConnection, accept: Callable[[dict[str, Any]], bool], deadline: float
) -> dict[str, Any]:
    """Skip frames (welcome, acks, pongs, ...) until one that `accept`s arrives."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no matching frame before the deadline")
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), remaining))
        if isinstance(frame, dict) and accept(frame):
            return frame


async def request(
    ws: ClientConnection, frame: dict[str, Any], deadline: float
) -> tuple[dict[str, Any], int]:
    """Send `frame` (with an `id`) and return the answer that refers to it, and the retries.

    Tether answers a frame it cannot queue right now with `error` `unavailable`
    ("retry later", docs/protocol.md): as a client must, retry with backoff until
    the deadline. The caller reports the retries, so they are never hidden.
    """
    text, ref, retries = orjson.dumps(frame).decode(), frame["id"], 0
    while True:
        await ws.send(text)
        answer = await wait_for(ws, lambda f: f.get("ref") == ref, deadline)
        if answer.get("type") != "error" or answer.get("code") != "unavailable":
            return answer, retries
        await asyncio.sleep(min(0.2, 0.005 * 2**retries))
        retries += 1


async def ready_check(ws: ClientConnection, deadline: float) -> int:
    """One echo round trip: proves the server's handler for this connection runs.

    Works whether or not the server sent a welcome first. Returns the retries.
    """
    answer, retries = await request(ws, {"type": "echo", "data": "", "id": 0}, deadline)
    if answer.get("type") != "echo":
        raise RuntimeError(f"echo refused: {answer}")
    return retries


async def ready_all(conns: list[ClientConnection], deadline: float, in_flight: int = 16) -> int:
    """`ready_check` every connection, a few at a time; return the total retries.

    A burst of thousands of requests would mostly be refused as busy by a
    bounded mailbox, and the retries would only slow the set-up down.
    """
    gate = asyncio.Semaphore(in_flight)

    async def one(ws: ClientConnection) -> int:
        async with gate:
            return await ready_check(ws, deadline)

    return sum(await asyncio.gather(*(one(ws) for ws in conns)))


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(orjson.dumps(obj).decode() + "\n")
    sys.stdout.flush()


async def read_command(timeout: float) -> str:
    """Next line from the harness on stdin ("" at EOF), bounded by `timeout`."""
    loop = asyncio.get_running_loop()
    line = await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), timeout)
    return line.strip()


async def close_all(conns: list[ClientConnection]) -> None:
    # Closing is not measured; bound it so that a stuck server cannot hold us.
    async def close(ws: ClientConnection) -> None:
        try:
            await asyncio.wait_for(ws.close(), 2)
        except Exception:
            ws.transport.abort()

    await asyncio.gather(*(close(ws) for ws in conns), return_exceptions=True)


def run(main: Callable[[], Any]) -> None:
    """Run a client's `main`; any failure becomes one `{"error": ...}` line."""
    try:
        asyncio.run(main())
    except Exception as exc:  # reported to the harness, which decides
        emit({"error": f"{type(exc).__name__}: {exc}"})
        sys.exit(1)
