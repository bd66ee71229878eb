"""Fan-out: one publish to a topic with N subscribers; time until each has it.

Subscribers run in client processes separate from the publisher and the server;
delivery time = subscriber's `time.monotonic()` at receipt minus the publisher's
just before it sent, which compares across processes (CLOCK_MONOTONIC is
system-wide on Linux). It includes the clients' own receive work, the same for
every server.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time

from bench.proc import clients, running_server, split
from bench.report import percentile
from bench.scenarios import Case, Figure, Measurement
from bench.servers import BARE, TETHER, WS_ASYNCIO, ServerSpec

FIGURES = [
    Figure("delivery p50", "ms", "lower"),
    Figure("delivery p99", "ms", "lower"),
    Figure("delivery max", "ms", "lower"),
]
# One subscriber process per this many connections: the client side of 5,000
# receives must not be the bottleneck, yet the 2 cores are shared with the server.
PER_PROCESS = 2_500


def _case(subscribers: int) -> Case:
    time_limit = 30 + subscribers / 100  # connect + subscribe at ≥ 100/s

    async def run(spec: ServerSpec) -> Measurement:
        deadline = time.monotonic() + time_limit
        async with running_server(spec) as server:
            common = ["--url", server.url, "--timeout", str(time_limit)]
            parts = split(subscribers, math.ceil(subscribers / PER_PROCESS))
            subs = [["subscriber", "--count", str(n), *common] for n in parts]
            async with (
                clients("fanout", subs) as subscriber_procs,
                clients("fanout", [["publisher", *common]]) as [publisher],
            ):
                ready = await asyncio.gather(
                    *(c.read(deadline) for c in [*subscriber_procs, publisher])
                )
                busy = sum(r.get("busy", 0) for r in ready)
                await publisher.send("go")
                sent = (await publisher.read(deadline))["sent"]
                received = await asyncio.gather(*(c.read(deadline) for c in subscriber_procs))
        delays = [(t - sent) * 1000 for r in received for t in r["received"]]
        return Measurement(
            values={
                "delivery p50": statistics.median(delays),
                "delivery p99": percentile(delays, 99),
                "delivery max": max(delays),
            },
            samples={"delivery": delays},
            notes=[f"subscribe answered 'unavailable' (busy) {busy} times; retried"]
            if busy
            else [],
        )

    return Case(
        scenario="fanout",
        label=f"{subscribers:,} subscribers",
        figures=FIGURES,
        servers=[TETHER, BARE, WS_ASYNCIO],
        run=run,
        time_limit=time_limit,
    )


def cases(quick: bool) -> list[Case]:
    return [_case(500)] if quick else [_case(1_000), _case(5_000)]
