"""A tree whose one actor takes `--stop-seconds` to stop, for the signal tests."""

from __future__ import annotations

import sys

import attrs
import trio

from tether.actors import Actor, StopReason
from tether.supervision import ChildSpec, Supervisor, run
from tether.supervision._logging import configure_logging


@attrs.define
class Stubborn(Actor):
    stop_seconds: float

    async def on_start(self) -> None:
        print("stubborn ready", flush=True)

    async def on_stop(self, reason: StopReason) -> None:
        print(f"stubborn stopping: {reason.kind.value}", flush=True)
        await trio.sleep(self.stop_seconds)
        print("stubborn stopped", flush=True)


if __name__ == "__main__":
    stop_seconds, drain_timeout = float(sys.argv[1]), float(sys.argv[2])
    configure_logging("text")
    tree = Supervisor(
        "root",
        children=[
            ChildSpec("stubborn", lambda: Stubborn(stop_seconds), shutdown_timeout=60),
        ],
    )
    sys.exit(run(tree, drain_timeout=drain_timeout))
