"""Running a tree as a process: the first signal drains, a second one stops at once."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import attrs
import pytest
import trio
import trio.testing

from tether.actors import Actor, StopReason
from tether.supervision import ChildSpec, Outcome, Supervisor, serve_tree

from ..support.process import PYTHON, running
from ._actors import Recorder

STUBBORN = str(Path(__file__).with_name("stubborn_tree.py"))


@attrs.define
class SlowToStop(Actor):
    seconds: float

    async def on_stop(self, reason: StopReason) -> None:
        await trio.sleep(self.seconds)


def slow_tree(seconds: float) -> Supervisor:
    return Supervisor(
        "root", children=[ChildSpec("slow", lambda: SlowToStop(seconds), shutdown_timeout=1000)]
    )


async def test_a_signal_drains_the_tree_and_exits_zero(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: list[tuple[str, ...]] = []
    tree = Supervisor("root", children=[ChildSpec("a", lambda: Recorder("a", journal))])
    async with trio.open_nursery() as nursery:
        result_box: list[object] = []

        async def serve(task_status: trio.TaskStatus[None]) -> None:
            result_box.append(await serve_tree(tree, task_status=task_status))

        await nursery.start(serve)
        os.kill(os.getpid(), signal.SIGTERM)
    (result,) = result_box
    assert result.outcome is Outcome.DRAINED  # type: ignore[attr-defined]
    assert result.exit_status == 0  # type: ignore[attr-defined]
    assert journal == [("start", "a"), ("stop", "a", "shutdown")]


async def test_the_drain_deadline_cancels_the_rest_and_still_exits_zero(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        results = []

        async def serve(task_status: trio.TaskStatus[None]) -> None:
            results.append(
                await serve_tree(slow_tree(100), drain_timeout=5, task_status=task_status)
            )

        await nursery.start(serve)
        signalled_at = trio.current_time()
        os.kill(os.getpid(), signal.SIGINT)
    assert results[0].outcome is Outcome.DRAIN_TIMED_OUT
    assert results[0].exit_status == 0
    assert trio.current_time() - signalled_at == pytest.approx(5)


async def test_a_second_signal_stops_at_once_with_a_failure_status(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        results = []

        async def serve(task_status: trio.TaskStatus[None]) -> None:
            results.append(
                await serve_tree(slow_tree(100), drain_timeout=50, task_status=task_status)
            )

        await nursery.start(serve)
        os.kill(os.getpid(), signal.SIGTERM)
        await trio.sleep(2)
        os.kill(os.getpid(), signal.SIGTERM)
    assert results[0].outcome is Outcome.FORCED
    assert results[0].exit_status == 128 + signal.SIGTERM


async def test_a_tree_that_fails_to_start_exits_one() -> None:
    journal: list[tuple[str, ...]] = []
    tree = Supervisor(
        "root", children=[ChildSpec("bad", lambda: Recorder("bad", journal, fail_start=True))]
    )
    result = await serve_tree(tree)
    assert result.outcome is Outcome.CRASHED
    assert result.exit_status == 1


# The same behaviour seen from outside, in a real process ---------------------------


async def test_process_drains_on_sigterm_and_exits_zero() -> None:
    async with running([PYTHON, "-m", "tether", "demo", "--interval", "0.05"]) as proc:
        await proc.wait_for_line("tick")
        proc.send_signal(signal.SIGTERM)
        assert await proc.wait() == 0
    output = "".join(proc.output)
    assert "clock stopped" in output and "reason=shutdown" in output
    assert "outcome=drained" in output


async def test_process_drains_on_sigint_and_exits_zero() -> None:
    async with running([PYTHON, "-m", "tether", "demo", "--interval", "0.05"]) as proc:
        await proc.wait_for_line("tick")
        proc.send_signal(signal.SIGINT)
        assert await proc.wait() == 0


async def test_process_second_signal_exits_at_once_non_zero() -> None:
    async with running([PYTHON, STUBBORN, "60", "60"]) as proc:
        await proc.wait_for_line("stubborn ready")
        proc.send_signal(signal.SIGTERM)
        await proc.wait_for_line("stubborn stopping: shutdown")
        proc.send_signal(signal.SIGINT)
        with trio.fail_after(10):
            status = await proc.wait()
    assert status == 128 + signal.SIGTERM
    assert "stubborn stopped" not in "".join(proc.output)


async def test_process_drain_timeout_cancels_and_exits_zero() -> None:
    async with running([PYTHON, STUBBORN, "60", "0.5"]) as proc:
        await proc.wait_for_line("stubborn ready")
        proc.send_signal(signal.SIGTERM)
        assert await proc.wait() == 0
    assert "drain timeout reached" in "".join(proc.output)
