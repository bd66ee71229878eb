"""The smallest echo/broadcast server on trio-websocket: the floor for Tether.

Echo answers directly from the handler. Broadcast gives each connection its own
writer task and queue, as Tether does, so that one slow client never holds up the
publish loop; that is the fair comparison for fan-out.
"""

from __future__ import annotations

import contextlib
import math

import trio
from trio_websocket import ConnectionClosed, WebSocketRequest, serve_websocket

from bench.servers._protocol import WELCOME, handle, parse_args

# Every connection's outbox; the broadcast loop only enqueues.
outboxes: set[trio.MemorySendChannel[str]] = set()


async def writer(ws, outbox: trio.MemoryReceiveChannel[str]) -> None:  # type: ignore[no-untyped-def]
    async for text in outbox:
        await ws.send_message(text)


async def pinger(ws, interval: float) -> None:  # type: ignore[no-untyped-def]
    while True:
        await trio.sleep(interval)
        with trio.move_on_after(interval):
            await ws.ping()


async def handler(request: WebSocketRequest, ping_interval: float | None) -> None:
    ws = await request.accept()
    send, receive = trio.open_memory_channel[str](math.inf)
    outboxes.add(send)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer, ws, receive)
            if ping_interval:
                nursery.start_soon(pinger, ws, ping_interval)
            await ws.send_message(WELCOME)
            while True:
                reply, everyone = handle(await ws.get_message())
                if everyone is not None:
                    for outbox in outboxes:
                        outbox.send_nowait(everyone)
                if reply is not None:
                    await ws.send_message(reply)
    except ConnectionClosed:
        pass
    finally:
        outboxes.discard(send)


async def main() -> None:
    args = parse_args(__doc__ or "")

    async def run(request: WebSocketRequest) -> None:
        await handler(request, args.ping_interval)

    # handler_nursery=None: the library runs each handler in its own nursery.
    await serve_websocket(run, args.host, args.port, ssl_context=None)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        trio.run(main)
