"""Fan-out: subscribers that time one delivery, and the publisher that starts it.

Subscriber mode: opens N connections, subscribes each to the topic and waits for
the ack, prints `{"ready": true}`, then prints `{"received": [t, ...]}` with the
`time.monotonic()` at which each connection got the message. CLOCK_MONOTONIC is
system-wide on Linux, so these times compare with the publisher's.

Publisher mode: connects, prints `{"ready": true}`, waits for `go` on stdin,
then prints `{"sent": t}` just before it sends the publish.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import orjson
from websockets.asyncio.client import ClientConnection

from bench.clients._common import (
    PAYLOAD,
    close_all,
    emit,
    open_connection,
    open_many,
    read_command,
    ready_check,
    request,
    run,
    wait_for,
)

TOPIC = "bench"
SUBSCRIBES_IN_FLIGHT = 16


async def subscribe(ws: ClientConnection, deadline: float) -> int:
    """Subscribe and wait for the ack; return how many times the server said "busy"."""
    answer, retries = await request(ws, {"type": "subscribe", "topic": TOPIC, "id": 1}, deadline)
    if answer.get("type") != "ack":
        raise RuntimeError(f"subscribe refused: {answer}")
    return retries


async def receive(ws: ClientConnection, deadline: float) -> float:
    await wait_for(ws, lambda f: f.get("type") == "message", deadline)
    return time.monotonic()


async def subscriber(args: argparse.Namespace) -> None:
    deadline = time.monotonic() + args.timeout
    conns = await open_many(args.url, args.count, args.timeout)
    # Few subscribes in flight: a burst of thousands would mostly be refused as
    # busy by a small manager mailbox, and the retries would only slow set-up.
    gate = asyncio.Semaphore(SUBSCRIBES_IN_FLIGHT)

    async def gated(ws: ClientConnection) -> int:
        async with gate:
            return await subscribe(ws, deadline)

    retries = await asyncio.gather(*(gated(ws) for ws in conns))
    emit({"ready": True, "busy": sum(retries)})
    received = await asyncio.gather(*(receive(ws, deadline) for ws in conns))
    emit({"received": received})
    await close_all(conns)


async def publisher(args: argparse.Namespace) -> None:
    deadline = time.monotonic() + args.timeout
    ws = await open_connection(args.url, args.timeout)
    await ready_check(ws, deadline)
    emit({"ready": True})
    if await read_command(args.timeout) != "go":
        raise RuntimeError("expected 'go' from the harness")
    frame = orjson.dumps({"type": "publish", "topic": TOPIC, "data": PAYLOAD, "id": 2}).decode()
    sent = time.monotonic()
    await ws.send(frame)
    emit({"sent": sent})
    await wait_for(ws, lambda f: f.get("type") == "ack" and f.get("ref") == 2, deadline)
    await close_all([ws])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["subscriber", "publisher"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--timeout", type=float, required=True)
    args = parser.parse_args()
    await (subscriber(args) if args.mode == "subscriber" else publisher(args))


if __name__ == "__main__":
    run(main)
