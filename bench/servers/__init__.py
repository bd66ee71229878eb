"""The servers under test and how to start each one.

Every server is started as its own process (`python -m ...`) on 127.0.0.1 and a
port the harness picked, so that the harness can read its RSS and CPU time from
/proc without measuring itself or the clients.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

# A heartbeat interval of None means "the server's default / no pings".
CommandFactory = Callable[[int, float | None], list[str]]


@dataclass(frozen=True)
class ServerSpec:
    name: str
    command: CommandFactory
    # Scenarios this server takes part in; the others show no line for it (n/a).
    scenarios: frozenset[str]
    path: str = "/ws"


def _tether(port: int, heartbeat: float | None) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "tether",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--rate-limit",
        "0",
        "--log-level",
        "warning",
        "--max-connections",
        "20000",
        "--max-connections-per-user",
        "20000",
    ]
    if heartbeat is not None:
        cmd += ["--heartbeat-interval", str(heartbeat)]
    return cmd


def _module(module: str) -> CommandFactory:
    def command(port: int, heartbeat: float | None) -> list[str]:
        cmd = [sys.executable, "-m", module, "--port", str(port)]
        if heartbeat is not None:
            cmd += ["--ping-interval", str(heartbeat)]
        return cmd

    return command


TETHER = "tether"
BARE = "trio-websocket"
WS_ASYNCIO = "websockets-asyncio"
WS_TRIO = "websockets-trio"

SERVERS: dict[str, ServerSpec] = {
    TETHER: ServerSpec(
        TETHER, _tether, frozenset({"echo", "fanout", "memory", "heartbeat", "queue"})
    ),
    BARE: ServerSpec(
        BARE, _module("bench.servers.bare_trio_websocket"), frozenset({"echo", "fanout", "memory"})
    ),
    # The websockets asyncio server also measures its own keepalive pings, the
    # closest peer to Tether's heartbeat.
    WS_ASYNCIO: ServerSpec(
        WS_ASYNCIO,
        _module("bench.servers.websockets_asyncio"),
        frozenset({"echo", "fanout", "memory", "heartbeat"}),
    ),
    # Only echo and memory: it answers whether Tether's transport should move to it.
    WS_TRIO: ServerSpec(
        WS_TRIO, _module("bench.servers.websockets_trio"), frozenset({"echo", "memory"})
    ),
}
