"""Actors that record what happens to them, for the supervision tests."""

from __future__ import annotations

import attrs
import trio

from tether.actors import Actor, StopReason, handler


@attrs.frozen
class Crash:
    pass


@attrs.frozen
class Finish:
    pass


@attrs.frozen
class Hello:
    pass


@attrs.define
class Recorder(Actor):
    """Appends ("start", id) and ("stop", id, kind) to a shared journal."""

    id: str
    journal: list[tuple[str, ...]]
    start_delay: float = 0.0
    fail_start: bool = False
    stop_delay: float = 0.0

    async def on_start(self) -> None:
        await trio.sleep(self.start_delay)
        if self.fail_start:
            raise RuntimeError(f"{self.id} cannot start")
        self.journal.append(("start", self.id))

    async def on_stop(self, reason: StopReason) -> None:
        self.journal.append(("stop", self.id, reason.kind.value))
        await trio.sleep(self.stop_delay)

    @handler
    async def crash(self, message: Crash) -> None:
        raise RuntimeError(f"{self.id} crashed")

    @handler
    async def finish(self, message: Finish) -> None:
        self.stop()

    @handler
    async def hello(self, message: Hello) -> str:
        return self.id
