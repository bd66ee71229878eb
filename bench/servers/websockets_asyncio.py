"""Echo/broadcast server on the `websockets` asyncio implementation (no compression).

Broadcast uses `websockets.asyncio.server.broadcast`, which writes to each
connection's transport without awaiting it: the library's idiomatic fan-out.
"""

from __future__ import annotations

import asyncio
import contextlib

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

from bench.servers._protocol import WELCOME, handle, parse_args

connections: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    connections.add(ws)
    try:
        await ws.send(WELCOME)
        async for text in ws:
            reply, everyone = handle(text if isinstance(text, str) else text.decode())
            if everyone is not None:
                broadcast(connections, everyone)
            if reply is not None:
                await ws.send(reply)
    except ConnectionClosed:
        pass
    finally:
        connections.discard(ws)


async def main() -> None:
    args = parse_args(__doc__ or "")
    async with serve(
        handler,
        args.host,
        args.port,
        compression=None,
        ping_interval=args.ping_interval,
        ping_timeout=args.ping_interval,
        max_size=1 << 20,
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
