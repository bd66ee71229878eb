"""The connection outbox: lanes, byte budget, wake-ups.

Tests that never await are plain functions: `trio.fail_after` cannot interrupt
code without checkpoints.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tether.actors.connection._outbox import Outbox, OutboxStatistics
from tether.protocol import Priority


def test_control_first_then_priority_order_fifo_within_each() -> None:
    outbox = Outbox(max_bytes=1000)
    assert outbox.push("low-1", Priority.LOW)
    assert outbox.push("normal-1", Priority.NORMAL)
    outbox.push_control("pong-1")
    assert outbox.push("critical-1", Priority.CRITICAL)
    assert outbox.push("normal-2", Priority.NORMAL)
    assert outbox.push("high-1", Priority.HIGH)
    outbox.push_control("ack-2")
    assert outbox.push("low-2", Priority.LOW)
    assert len(outbox) == 8

    assert outbox.take_all() == [
        "pong-1",
        "ack-2",
        "critical-1",
        "high-1",
        "normal-1",
        "normal-2",
        "low-1",
        "low-2",
    ]
    assert len(outbox) == 0
    assert outbox.bytes_queued == 0
    assert outbox.take_all() == []


def test_urgent_frame_overtakes_a_backlog() -> None:
    outbox = Outbox(max_bytes=100_000)
    for i in range(1000):
        assert outbox.push(f"bulk-{i}", Priority.LOW)
    assert outbox.push("alert", Priority.CRITICAL)
    taken = outbox.take_all()
    assert taken[0] == "alert"
    assert taken[1:] == [f"bulk-{i}" for i in range(1000)]


def test_byte_budget_refuses_what_does_not_fit() -> None:
    outbox = Outbox(max_bytes=10)
    assert outbox.push("12345", Priority.NORMAL)
    assert outbox.push("1234", Priority.LOW)
    assert not outbox.push("12", Priority.CRITICAL)  # 9 + 2 > 10, whatever the priority
    assert outbox.push("1", Priority.HIGH)  # exactly full
    assert not outbox.push("x", Priority.HIGH)
    assert outbox.bytes_queued == 10
    assert outbox.take_all() == ["1", "12345", "1234"]
    assert outbox.push("0123456789", Priority.NORMAL)
    assert not Outbox(max_bytes=3).push("four", Priority.NORMAL)


def test_control_frames_are_never_refused_but_count() -> None:
    outbox = Outbox(max_bytes=4)
    outbox.push_control("error: too big for the budget")
    outbox.push_control("pong")
    assert outbox.bytes_queued == len("error: too big for the budget") + 4
    assert not outbox.push("d", Priority.CRITICAL)  # control bytes fill the budget
    assert outbox.take_all() == ["error: too big for the budget", "pong"]
    assert outbox.push("data", Priority.NORMAL)


def test_statistics() -> None:
    outbox = Outbox(max_bytes=6)
    outbox.push_control("c")
    outbox.push("hh", Priority.HIGH)
    outbox.push("ll", Priority.LOW)
    outbox.push("nnn", Priority.NORMAL)  # refused
    assert outbox.statistics() == OutboxStatistics(
        control=1,
        by_priority={
            Priority.CRITICAL: 0,
            Priority.HIGH: 1,
            Priority.NORMAL: 0,
            Priority.LOW: 1,
        },
        bytes_queued=5,
        max_bytes=6,
        frames_pushed=3,
        overflows=1,
        closed=False,
    )
    outbox.take_all()
    outbox.close()
    stats = outbox.statistics()
    assert (stats.bytes_queued, stats.frames_pushed, stats.closed) == (0, 3, True)


async def test_wait_wakes_on_push() -> None:
    with trio.fail_after(1):
        outbox = Outbox(max_bytes=100)
        woken: list[list[str]] = []

        async def writer() -> None:
            await outbox.wait()
            woken.append(outbox.take_all())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer)
            await trio.testing.wait_all_tasks_blocked()
            assert woken == []
            outbox.push("hello", Priority.NORMAL)
        assert woken == [["hello"]]


async def test_wait_wakes_on_control_push() -> None:
    with trio.fail_after(1):
        outbox = Outbox(max_bytes=100)
        woken = 0

        async def waiter() -> None:
            nonlocal woken
            await outbox.wait()
            woken += 1

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            await trio.testing.wait_all_tasks_blocked()
            outbox.push_control("pong")
        assert woken == 1


async def test_only_one_task_may_wait() -> None:
    with trio.fail_after(1):
        outbox = Outbox(max_bytes=100)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(outbox.wait)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(RuntimeError, match="already waiting"):
                await outbox.wait()
            outbox.close()


async def test_a_cancelled_wait_leaves_the_outbox_usable() -> None:
    with trio.fail_after(1):
        outbox = Outbox(max_bytes=100)
        with trio.move_on_after(0.01):
            await outbox.wait()
        outbox.push_control("x")
        await outbox.wait()
        assert outbox.take_all() == ["x"]


async def test_wait_wakes_on_close_and_then_returns_at_once() -> None:
    with trio.fail_after(1):
        outbox = Outbox(max_bytes=100)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(outbox.wait)
            await trio.testing.wait_all_tasks_blocked()
            outbox.close()
        assert outbox.closed
        await outbox.wait()


async def test_wait_returns_at_once_when_frames_are_queued() -> None:
    with trio.fail_after(1):
        outbox = Outbox(max_bytes=100)
        outbox.push("queued", Priority.LOW)
        with trio.testing.assert_checkpoints():
            await outbox.wait()


async def test_frames_pushed_while_closing_are_still_taken() -> None:
    # The writer flushes after close(): a shutdown frame or a late ack still goes out.
    with trio.fail_after(1):
        outbox = Outbox(max_bytes=100)
        outbox.push("data", Priority.NORMAL)
        outbox.close()
        outbox.push_control("shutdown")
        await outbox.wait()
        assert outbox.take_all() == ["shutdown", "data"]


async def test_writer_loop_drains_everything_under_a_fast_producer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        outbox = Outbox(max_bytes=1_000_000)
        received: list[str] = []

        async def writer() -> None:
            while True:
                await outbox.wait()
                frames = outbox.take_all()
                if frames:
                    received.extend(frames)
                    await trio.sleep(0.01)  # a socket write that takes time
                elif outbox.closed:
                    return

        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer)
            for i in range(500):
                assert outbox.push(str(i), Priority.NORMAL)
                if i % 7 == 0:
                    await trio.sleep(0.003)
            outbox.close()
        assert received == [str(i) for i in range(500)]


def test_take_hands_over_a_bounded_batch_in_priority_order() -> None:
    outbox = Outbox(max_bytes=1_000)
    for n in range(10):
        assert outbox.push(f"low{n}".ljust(50), Priority.LOW)
    outbox.push_control("ack".ljust(50))
    first = outbox.take(120)
    assert [t.strip() for t in first] == ["ack", "low0"]
    assert outbox.push("urgent".ljust(50), Priority.CRITICAL)
    second = outbox.take(120)
    assert [t.strip() for t in second] == ["urgent", "low1"]
    assert len(outbox) == 8 and outbox.bytes_queued == 8 * 50
    rest = outbox.take(10_000)
    assert [t.strip() for t in rest] == [f"low{n}" for n in range(2, 10)]
    assert len(outbox) == 0 and outbox.bytes_queued == 0


def test_take_gives_at_least_one_frame_even_if_it_is_larger() -> None:
    outbox = Outbox(max_bytes=1_000)
    outbox.push("x" * 500, Priority.NORMAL)
    outbox.push("y" * 10, Priority.NORMAL)
    assert outbox.take(100) == ["x" * 500]
    assert outbox.take(100) == ["y" * 10]
