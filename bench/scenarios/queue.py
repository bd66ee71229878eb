"""Queue throughput: a hook, to be filled in once the queue exists (issue 5).

Targets from the issue: the in-memory queue ≥ 20,000 items/s, the Redis
backend ≥ 5,000 items/s. Until `tether.actors.queue` can be imported the case is
skipped with a printed reason; no figure is ever made up.

To fill it in: replace `_run` with a measurement that enqueues a bounded number
of items through the queue actor's public API and times until the workers have
taken them all, and list the figures in `FIGURES` (e.g. "items/s", higher).
"""

from __future__ import annotations

import importlib

from bench.scenarios import Case, Figure, Measurement
from bench.servers import TETHER, ServerSpec

FIGURES = [Figure("throughput (memory backend)", "items/s", "higher")]


def _available() -> bool:
    try:
        importlib.import_module("tether.actors.queue")
    except ImportError:
        return False
    return True


async def _run(spec: ServerSpec) -> Measurement:
    raise NotImplementedError("the queue benchmark is not written yet")


def cases(quick: bool) -> list[Case]:
    if not _available():
        reason = "queue benchmark needs the queue (issue 5)"
    else:
        reason = "tether.actors.queue exists, but bench/scenarios/queue.py is still a hook"
    return [
        Case(
            scenario="queue",
            label="in-memory queue",
            figures=FIGURES,
            servers=[TETHER],
            run=_run,
            time_limit=60,
            skip_reason=reason,
        )
    ]
