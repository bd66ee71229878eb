"""The worked example of docs/actors.md: a counter, and a clock that drives it."""

from __future__ import annotations

import attrs
import structlog
import trio

from tether.actors import Actor, StopReason, handler

log = structlog.get_logger("tether.examples")


@attrs.frozen
class Increment:
    by: int = 1


@attrs.frozen
class GetCount:
    pass


@attrs.define
class Counter(Actor):
    """Owns one number. Others change it with `Increment` and read it with `GetCount`."""

    count: int = 0

    @handler
    def increment(self, message: Increment) -> None:
        if message.by < 0:
            raise ValueError("a counter only goes up")
        self.count += message.by

    @handler
    def get(self, message: GetCount) -> int:
        return self.count


@attrs.define
class Clock(Actor):
    """Every `interval` seconds, increments the counter named `counter` and logs its value."""

    interval: float = 1.0
    counter: str = "counter"
    ticks: int = 0

    async def on_start(self) -> None:
        self.start_soon(self._tick)

    async def _tick(self) -> None:
        counter = self.lookup(self.counter)
        while True:
            await trio.sleep(self.interval)
            await counter.tell(Increment())
            self.ticks += 1
            log.info("tick", count=await counter.ask(GetCount(), timeout=self.interval))

    async def on_stop(self, reason: StopReason) -> None:
        log.info("clock stopped", reason=reason.kind.value, ticks=self.ticks)
