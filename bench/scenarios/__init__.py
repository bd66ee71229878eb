"""Scenarios: what is measured, with which parameters, on which servers.

A scenario module exposes `cases(quick) -> list[Case]`. The harness runs each
case on every server that takes part, interleaved (A B C A B C ...), so that
drift on the shared machine hits all servers alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.servers import ServerSpec


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str
    # "higher" or "lower": which direction is better, for reading ratios.
    better: str


@dataclass
class Measurement:
    values: dict[str, float] = field(default_factory=dict)
    # Raw samples pooled across repetitions (e.g. each subscriber's delivery time).
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Several repetitions from one run (e.g. the heartbeat's windows): each
    # dict counts as one repetition, and `values` is then ignored.
    windows: list[dict[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class Case:
    scenario: str
    label: str
    figures: list[Figure]
    servers: list[str]
    run: Callable[[ServerSpec], Awaitable[Measurement]]
    # Seconds one measurement of one server may take, set-up included.
    time_limit: float
    # None: the harness's repetition count. Otherwise a fixed count (the
    # heartbeat case repeats windows inside one long run instead).
    repetitions: int | None = None
    skip_reason: str | None = None
