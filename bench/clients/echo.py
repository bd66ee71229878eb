"""Echo round trips: N connections, each sending M messages one after the other.

Prints `{"ready": true}` once every connection has done one round trip, waits for
`go` on stdin (so that the harness can read the server's CPU time first), then
prints `{"messages": ..., "seconds": ...}` for the timed part.
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
    open_many,
    read_command,
    ready_all,
    run,
)


async def sequential(ws: ClientConnection, messages: int, deadline: float) -> None:
    for i in range(1, messages + 1):
        await ws.send(orjson.dumps({"type": "echo", "data": PAYLOAD, "id": i}).decode())
        # Inline wait (not `wait_for`) keeps the client's own cost per message low.
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"echo {i} not answered before the deadline")
            frame = orjson.loads(await asyncio.wait_for(ws.recv(), remaining))
            if frame.get("type") == "echo" and frame.get("ref") == i:
                break


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--timeout", type=float, required=True)
    args = parser.parse_args()

    deadline = time.monotonic() + args.timeout
    conns = await open_many(args.url, args.clients, args.timeout)
    await ready_all(conns, deadline)
    emit({"ready": True})
    if await read_command(args.timeout) != "go":
        raise RuntimeError("expected 'go' from the harness")
    start = time.monotonic()
    await asyncio.gather(*(sequential(ws, args.messages, deadline) for ws in conns))
    seconds = time.monotonic() - start
    emit({"messages": args.clients * args.messages, "seconds": seconds})
    await close_all(conns)


if __name__ == "__main__":
    run(main)
