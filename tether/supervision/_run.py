"""Running a root tree as a process: signals, the drain deadline, the exit status."""

from __future__ import annotations

import enum
import signal
from collections.abc import Sequence

import attrs
import structlog
import trio

from ._base import BaseSupervisor
from ._errors import SupervisionError

log = structlog.get_logger("tether.supervision")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Outcome(enum.Enum):
    ENDED = "ended"  # the tree stopped by itself
    DRAINED = "drained"  # a signal asked for a graceful stop and it completed
    DRAIN_TIMED_OUT = "drain_timed_out"  # the drain hit its deadline; the rest was cancelled
    FORCED = "forced"  # a second signal cancelled everything at once
    CRASHED = "crashed"  # the tree failed (a start failed, or the root gave up)


@attrs.frozen
class RunResult:
    outcome: Outcome
    signal: int | None = None
    error: BaseException | None = None
    duration: float = 0.0

    @property
    def exit_status(self) -> int:
        if self.outcome is Outcome.CRASHED:
            return 1
        if self.outcome is Outcome.FORCED:
            return 128 + (self.signal or signal.SIGTERM)
        return 0


async def serve_tree(
    tree: BaseSupervisor,
    *,
    drain_timeout: float = 10.0,
    signals: Sequence[int] = STOP_SIGNALS,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> RunResult:
    """Run `tree` until it ends. The first stop signal starts a graceful stop with a deadline
    of `drain_timeout` seconds, after which whatever still runs is cancelled; a second
    signal cancels at once."""
    first_signal: int | None = None
    forced = False
    drain_started = 0.0
    with trio.CancelScope() as tree_scope, trio.open_signal_receiver(*signals) as received:

        async def watch_signals() -> None:
            nonlocal first_signal, forced, drain_started
            async for signum in received:
                name = signal.Signals(signum).name
                if first_signal is None:
                    first_signal = signum
                    drain_started = trio.current_time()
                    log.info("stop signal: draining", signal=name, drain_timeout=drain_timeout)
                    tree_scope.deadline = drain_started + drain_timeout
                    tree.stop()
                else:
                    log.warning("second stop signal: stopping now", signal=name)
                    forced = True
                    tree_scope.cancel()
                    return

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch_signals)
            started = trio.current_time()
            try:
                await tree.run(task_status=task_status)
            except SupervisionError as exc:
                nursery.cancel_scope.cancel()
                log.error("the supervision tree failed", error=str(exc))
                return RunResult(Outcome.CRASHED, first_signal, exc, trio.current_time() - started)
            nursery.cancel_scope.cancel()
    duration = trio.current_time() - (drain_started if first_signal is not None else started)
    if forced:
        return RunResult(Outcome.FORCED, first_signal, None, duration)
    if tree_scope.cancelled_caught:
        log.warning("drain timeout reached: the rest was cancelled", drain_timeout=drain_timeout)
        return RunResult(Outcome.DRAIN_TIMED_OUT, first_signal, None, duration)
    if first_signal is not None:
        return RunResult(Outcome.DRAINED, first_signal, None, duration)
    return RunResult(Outcome.ENDED, None, None, duration)


def run_tree(tree: BaseSupervisor, *, drain_timeout: float = 10.0) -> RunResult:
    """Run a root tree in a new Trio run until it ends; see `serve_tree`."""
    return trio.run(lambda: serve_tree(tree, drain_timeout=drain_timeout))


def run(tree: BaseSupervisor, *, drain_timeout: float = 10.0) -> int:
    """Run a root tree in a new Trio run and return the process exit status: 0 after the
    tree ended or drained (even if the drain deadline cancelled the rest), 1 after a crash,
    128 + the signal number after a forced stop."""
    result = run_tree(tree, drain_timeout=drain_timeout)
    log.info(
        "stopped",
        outcome=result.outcome.value,
        exit_status=result.exit_status,
        seconds=round(result.duration, 3),
    )
    return result.exit_status
