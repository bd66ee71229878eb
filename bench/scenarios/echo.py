"""Echo round trips: how many request/response pairs per second a server sustains.

Also reports the server's CPU time per message, which swings less than
wall-clock throughput on a shared 2-core machine.
"""

from __future__ import annotations

import time

from bench.proc import clients, cpu_seconds, running_server
from bench.scenarios import Case, Figure, Measurement
from bench.servers import BARE, TETHER, WS_ASYNCIO, WS_TRIO, ServerSpec

FIGURES = [
    Figure("throughput", "msg/s", "higher"),
    Figure("server CPU per message", "µs", "lower"),
]


def _case(n_clients: int, messages: int) -> Case:
    time_limit = 30 + n_clients * messages / 500  # generous: ≥ 500 msg/s

    async def run(spec: ServerSpec) -> Measurement:
        deadline = time.monotonic() + time_limit
        async with running_server(spec) as server:
            args = [
                "--url",
                server.url,
                "--clients",
                str(n_clients),
                "--messages",
                str(messages),
                "--timeout",
                str(time_limit),
            ]
            async with clients("echo", [args]) as [client]:
                await client.read(deadline)
                cpu0 = cpu_seconds(server.pid)
                await client.send("go")
                result = await client.read(deadline)
                cpu = cpu_seconds(server.pid) - cpu0
        total = result["messages"]
        return Measurement(
            values={
                "throughput": total / result["seconds"],
                "server CPU per message": cpu / total * 1e6,
            }
        )

    return Case(
        scenario="echo",
        label=f"{n_clients} client{'s' if n_clients > 1 else ''} x {messages:,} messages",
        figures=FIGURES,
        servers=[TETHER, BARE, WS_ASYNCIO, WS_TRIO],
        run=run,
        time_limit=time_limit,
    )


def cases(quick: bool) -> list[Case]:
    if quick:
        return [_case(1, 2_000), _case(10, 500)]
    return [_case(1, 20_000), _case(50, 2_000)]
