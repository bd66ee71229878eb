"""One heartbeat for all connections: ping, count misses, close the dead and the zombies.

Each watched connection has a slot in a schedule: it is visited once per
interval, at a phase drawn when it arrives, so pings are spread over the
interval instead of leaving in one burst. At a visit:

* silent (no frame, no pong) for `max_missed` intervals or more → close 4000;
  since visits are one interval apart, that happens within one more interval
  and never earlier;
* a send stuck for `zombie_timeout` (the peer stopped reading, TCP still
  open) → close 4000 and count a zombie;
* otherwise → ask the connection for a ping (a miss is counted when the
  previous interval brought no sign of life).
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque

import attrs
import structlog
import trio

from tether.actors import Actor, handler
from tether.protocol import CloseCode

from ._liveness import Liveness

log = structlog.get_logger("tether.heartbeat")

RTT_SAMPLES = 1024


@attrs.frozen
class Watch:
    connection_id: str
    liveness: Liveness


@attrs.frozen
class Unwatch:
    connection_id: str


@attrs.frozen
class GetHeartbeatStatistics:
    pass


@attrs.frozen
class HeartbeatStatistics:
    watched: int
    interval: float
    max_missed: int
    pings_sent: int
    pongs_received: int
    misses: int
    closed_silent: int
    closed_zombie: int
    rtt_p50: float | None
    rtt_p90: float | None
    rtt_p99: float | None


def _percentile(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


@attrs.define
class HeartbeatActor(Actor):
    mailbox_size = 8192

    interval: float = 30.0
    max_missed: int = 3
    zombie_timeout: float | None = None  # default: two intervals

    _watched: dict[str, Liveness] = attrs.field(factory=dict, init=False)
    _schedule: list[tuple[float, str]] = attrs.field(factory=list, init=False)
    _sleep: trio.CancelScope | None = attrs.field(default=None, init=False)
    _rng: random.Random = attrs.field(factory=random.Random, init=False)
    _rtts: deque[float] = attrs.field(factory=lambda: deque(maxlen=RTT_SAMPLES), init=False)
    _pings_sent: int = attrs.field(default=0, init=False)
    _pongs: int = attrs.field(default=0, init=False)
    _misses: int = attrs.field(default=0, init=False)
    _closed_silent: int = attrs.field(default=0, init=False)
    _closed_zombie: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        if self.zombie_timeout is None:
            self.zombie_timeout = 2 * self.interval

    async def on_start(self) -> None:
        self.start_soon(self._beat)

    @handler
    def watch(self, message: Watch) -> None:
        self._watched[message.connection_id] = message.liveness
        # The first visit falls somewhere in the next interval: arrivals in a burst
        # (a reconnect storm) are spread too.
        due = trio.current_time() + self.interval * self._rng.uniform(0.5, 1.0)
        heapq.heappush(self._schedule, (due, message.connection_id))
        if self._sleep is not None and due < self._sleep.deadline:
            self._sleep.cancel()

    @handler
    def unwatch(self, message: Unwatch) -> None:
        # Its schedule entry is skipped when it comes up.
        self._watched.pop(message.connection_id, None)

    @handler
    def statistics_request(self, message: GetHeartbeatStatistics) -> HeartbeatStatistics:
        ordered = sorted(self._rtts)
        return HeartbeatStatistics(
            watched=len(self._watched),
            interval=self.interval,
            max_missed=self.max_missed,
            pings_sent=self._pings_sent,
            pongs_received=self._pongs,
            misses=self._misses,
            closed_silent=self._closed_silent,
            closed_zombie=self._closed_zombie,
            rtt_p50=_percentile(ordered, 0.5),
            rtt_p90=_percentile(ordered, 0.9),
            rtt_p99=_percentile(ordered, 0.99),
        )

    async def _beat(self) -> None:
        while True:
            wake_at = self._visit_due(trio.current_time())
            with trio.CancelScope(deadline=wake_at) as self._sleep:
                await trio.sleep_forever()
            self._sleep = None

    def _visit_due(self, now: float) -> float:
        """Visit every connection whose time has come; returns when to wake next. (A function
        of its own so that no connection stays referenced while the heartbeat sleeps.)"""
        schedule = self._schedule
        while schedule and schedule[0][0] <= now:
            due, connection_id = heapq.heappop(schedule)
            liveness = self._watched.get(connection_id)
            if liveness is not None and self._visit(connection_id, liveness, now):
                # From the due time, not from now: a late visit must not push the next one
                # later and make a well-behaved peer look silent.
                heapq.heappush(schedule, (max(due + self.interval, now), connection_id))
        return schedule[0][0] if schedule else now + self.interval

    def _visit(self, connection_id: str, liveness: Liveness, now: float) -> bool:
        """Ping, or close; True while the connection stays on the schedule."""
        pongs, rtt = liveness.take_pongs()
        self._pongs += pongs
        if rtt is not None:
            self._rtts.append(rtt)
        silent = now - liveness.last_seen
        peer = liveness.peer
        if peer.closing:
            return False
        if silent >= self.interval * self.max_missed:
            self._closed_silent += 1
            del self._watched[connection_id]
            log.info("heartbeat timeout", connection_id=connection_id, silent=round(silent, 3))
            peer.close(CloseCode.HEARTBEAT_TIMEOUT, "heartbeat timeout", flush=False)
            return False
        started = liveness.send_started
        assert self.zombie_timeout is not None
        if started is not None and now - started >= self.zombie_timeout:
            self._closed_zombie += 1
            del self._watched[connection_id]
            log.info(
                "zombie: not reading", connection_id=connection_id, stuck=round(now - started, 3)
            )
            peer.close(CloseCode.HEARTBEAT_TIMEOUT, "not reading", flush=False)
            return False
        if silent >= self.interval:
            self._misses += 1
        self._pings_sent += 1
        liveness.request_ping()
        return True
