"""Echo server on `websockets.trio` (new in websockets 17; no compression).

Only echo and idle memory are measured: enough to tell whether moving Tether's
transport from trio-websocket to this implementation would pay.
"""

from __future__ import annotations

import contextlib

import trio
from websockets.exceptions import ConnectionClosed
from websockets.trio.server import ServerConnection, serve

from bench.servers._protocol import WELCOME, handle, parse_args


async def handler(ws: ServerConnection) -> None:
    try:
        await ws.send(WELCOME)
        async for text in ws:
            reply, _ = handle(text if isinstance(text, str) else text.decode())
            if reply is not None:
                await ws.send(reply)
    except ConnectionClosed:
        pass


async def main() -> None:
    args = parse_args(__doc__ or "")
    # `serve` runs until cancelled (it is shaped for `nursery.start`).
    await serve(
        handler,
        args.port,
        host=args.host,
        compression=None,
        ping_interval=args.ping_interval,
        ping_timeout=args.ping_interval,
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        trio.run(main)
