"""Idle connections, opened in stages, for the memory and heartbeat scenarios.

`--stages 500,2500` opens 500 connections, prints `{"open": 500}`, waits for a
command, opens 2,000 more, and so on. Commands on stdin: `next` (open the next
stage), `pings` (print how many WebSocket pings arrived so far), `stop`.
Each connection does one echo round trip before it counts as open, so that
the server has finished setting it up when the harness reads its memory.
"""

from __future__ import annotations

import argparse
import time

from websockets.asyncio.client import ClientConnection

from bench.clients._common import (
    CountingConnection,
    close_all,
    emit,
    open_many,
    read_command,
    ready_all,
    run,
)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--stages", required=True, help="cumulative counts, comma-separated")
    parser.add_argument("--timeout", type=float, required=True)
    args = parser.parse_args()

    deadline = time.monotonic() + args.timeout
    conns: list[ClientConnection] = []
    busy = 0
    try:
        for target in (int(n) for n in args.stages.split(",")):
            fresh = await open_many(args.url, target - len(conns), args.timeout)
            conns += fresh
            busy += await ready_all(fresh, deadline)
            emit({"open": len(conns), "busy": busy})
            while (command := await read_command(deadline - time.monotonic())) == "pings":
                closed = sum(1 for ws in conns if ws.close_code is not None)
                emit({"pings": CountingConnection.pings, "closed": closed})
            if command != "next":
                break
    finally:
        await close_all(conns)


if __name__ == "__main__":
    run(main)
