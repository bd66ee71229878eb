"""Idle memory: server RSS per open, idle connection.

RSS (VmRSS in /proc/PID/status) after N connections, minus RSS before the first,
divided by N. Each connection has done one echo round trip, so the server has
finished setting it up; a short pause lets allocations settle before reading.
"""

from __future__ import annotations

import asyncio
import time

from bench.proc import clients, rss_bytes, running_server, split
from bench.scenarios import Case, Figure, Measurement
from bench.servers import BARE, TETHER, WS_ASYNCIO, WS_TRIO, ServerSpec

PROCESSES = 2
SETTLE = 1.0


def figure_name(count: int) -> str:
    return f"RSS per connection at {count:,}"


def _case(stages: list[int]) -> Case:
    time_limit = 30 + stages[-1] / 100
    figures = [Figure(figure_name(n), "KB", "lower") for n in stages]
    figures.append(Figure("RSS before connecting", "MB", "lower"))

    async def run(spec: ServerSpec) -> Measurement:
        deadline = time.monotonic() + time_limit
        values: dict[str, float] = {}
        async with running_server(spec) as server:
            before = rss_bytes(server.pid)
            values["RSS before connecting"] = before / 2**20
            # Each process opens its share of every stage (cumulative counts).
            shares = [split(n, PROCESSES) for n in stages]
            argsets = [
                [
                    "--url",
                    server.url,
                    "--timeout",
                    str(time_limit),
                    "--stages",
                    ",".join(str(share[i]) for share in shares),
                ]
                for i in range(PROCESSES)
            ]
            async with clients("idle", argsets) as procs:
                for n in stages:
                    opened = await asyncio.gather(*(c.read(deadline) for c in procs))
                    busy = sum(o.get("busy", 0) for o in opened)
                    await asyncio.sleep(SETTLE)
                    values[figure_name(n)] = (rss_bytes(server.pid) - before) / n / 1024
                    for c in procs:
                        await c.send("next")
        notes = [f"echo answered 'unavailable' (busy) {busy} times; retried"] if busy else []
        return Measurement(values=values, notes=notes)

    return Case(
        scenario="memory",
        label=f"{' and '.join(f'{n:,}' for n in stages)} idle connections",
        figures=figures,
        servers=[TETHER, BARE, WS_ASYNCIO, WS_TRIO],
        run=run,
        time_limit=time_limit,
    )


def cases(quick: bool) -> list[Case]:
    return [_case([1_000])] if quick else [_case([1_000, 5_000])]
