"""Heartbeat cost: server CPU with many idle connections pinged every second.

Tether runs with `--heartbeat-interval 1`; the `websockets` asyncio server with
its own keepalive (`ping_interval=1`) is the only peer with pings built in.
One server run per server: after the connections are open and a settling
interval, the run is cut into equal windows and each window is one repetition
(min/median/max over windows), which keeps a full run within its time budget.
The clients count the pings they receive, so "CPU per connection per ping" uses
pings that really arrived; with none, only the CPU figure is reported.
"""

from __future__ import annotations

import asyncio
import time

from bench.proc import Client, clients, cpu_seconds, running_server, split
from bench.scenarios import Case, Figure, Measurement
from bench.servers import TETHER, WS_ASYNCIO, ServerSpec

INTERVAL = 1.0
WINDOWS = 3
PROCESSES = 2
# What the target is stated for: 10,000 connections at the default 30 s.
TARGET_CONNECTIONS = 10_000
TARGET_INTERVAL = 30.0

FIGURES = [
    Figure("server CPU", "% of one core", "lower"),
    Figure("pings received per connection per second", "1/s", "higher"),
    Figure("CPU per connection per ping", "µs", "lower"),
    Figure("projected CPU, 10,000 connections at 30 s", "% of one core", "lower"),
]


async def _pings(procs: list[Client], deadline: float) -> tuple[int, int]:
    for c in procs:
        await c.send("pings")
    answers = await asyncio.gather(*(c.read(deadline) for c in procs))
    return sum(a["pings"] for a in answers), sum(a["closed"] for a in answers)


def _case(connections: int, seconds: float) -> Case:
    window = seconds / WINDOWS
    time_limit = 60 + connections / 100 + seconds

    async def run(spec: ServerSpec) -> Measurement:
        deadline = time.monotonic() + time_limit
        m = Measurement()
        per_window: list[dict[str, float]] = []
        async with running_server(spec, heartbeat=INTERVAL) as server:
            common = ["--url", server.url, "--timeout", str(time_limit)]
            argsets = [[*common, "--stages", str(n)] for n in split(connections, PROCESSES)]
            async with clients("idle", argsets) as procs:
                opened = await asyncio.gather(*(c.read(deadline) for c in procs))
                if busy := sum(o.get("busy", 0) for o in opened):
                    m.notes.append(f"echo answered 'unavailable' (busy) {busy} times; retried")
                await asyncio.sleep(2 * INTERVAL)  # let the ping schedule reach steady state
                for _ in range(WINDOWS):
                    cpu0, (pings0, _) = cpu_seconds(server.pid), await _pings(procs, deadline)
                    t0 = time.monotonic()
                    await asyncio.sleep(window)
                    pings1, closed = await _pings(procs, deadline)
                    cpu, wall = cpu_seconds(server.pid) - cpu0, time.monotonic() - t0
                    pings = pings1 - pings0
                    values = {
                        "server CPU": cpu / wall * 100,
                        "pings received per connection per second": pings / connections / wall,
                    }
                    if pings:
                        per_ping = cpu / pings
                        values["CPU per connection per ping"] = per_ping * 1e6
                        rate = TARGET_CONNECTIONS / TARGET_INTERVAL
                        values["projected CPU, 10,000 connections at 30 s"] = per_ping * rate * 100
                    per_window.append(values)
                if closed:
                    m.notes.append(f"{closed} connections were closed by the server during the run")
        if not any("CPU per connection per ping" in v for v in per_window):
            m.notes.append(
                "no pings arrived: the server CPU is that of idle connections, without heartbeat"
            )
        # Each window is one repetition; the harness takes min/median/max over them.
        m.windows = per_window
        return m

    return Case(
        scenario="heartbeat",
        label=f"{connections:,} idle connections, pings every {INTERVAL:g} s, {seconds:g} s",
        figures=FIGURES,
        servers=[TETHER, WS_ASYNCIO],
        run=run,
        time_limit=time_limit,
        repetitions=1,
    )


def cases(quick: bool) -> list[Case]:
    return [_case(1_000, 10)] if quick else [_case(5_000, 60)]
