"""Dynamic supervisors: many children of one kind, added and removed at run time."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tether.actors import ActorStopped
from tether.supervision import (
    ChildSpec,
    DynamicSupervisor,
    Restart,
    StartFailed,
    SupervisorNotRunning,
    TooManyChildren,
)

from ._actors import Crash, Finish, Hello, Recorder

Journal = list[tuple[str, ...]]


def child(
    journal: Journal, id: str, restart: Restart = Restart.TEMPORARY, **kw: object
) -> ChildSpec:
    return ChildSpec(id, lambda: Recorder(id, journal, **kw), restart=restart)  # type: ignore[arg-type]


async def test_children_come_and_go_and_leave_nothing_behind(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    sup = DynamicSupervisor("connections")
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        refs = [await sup.start_child(child(journal, f"c{i}")) for i in range(500)]
        assert len(sup) == 500
        assert await sup.ref("c42").ask(Hello()) == "c42"
        for i, ref in enumerate(refs):
            assert ref is not None
            await ref.tell(Finish() if i % 2 else Crash())
        await trio.sleep(1)
        assert len(sup) == 0
        assert sup.registry.names() == []
        with pytest.raises(ActorStopped):
            await refs[0].tell(Hello())
        sup.stop()


async def test_max_children_is_enforced(autojump_clock: trio.testing.MockClock) -> None:
    journal: Journal = []
    sup = DynamicSupervisor("connections", max_children=2)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await sup.start_child(child(journal, "a"))
        await sup.start_child(child(journal, "b"))
        with pytest.raises(TooManyChildren, match="limit of 2"):
            await sup.start_child(child(journal, "c"))
        sup.stop()


async def test_a_child_failing_to_start_is_removed(autojump_clock: trio.testing.MockClock) -> None:
    journal: Journal = []
    sup = DynamicSupervisor("connections")
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        with pytest.raises(StartFailed):
            await sup.start_child(child(journal, "bad", fail_start=True))
        assert len(sup) == 0
        await sup.start_child(child(journal, "bad"))  # the id is free again
        sup.stop()


async def test_transient_children_are_restarted_after_a_crash(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    sup = DynamicSupervisor("workers")
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        ref = await sup.start_child(child(journal, "w", restart=Restart.TRANSIENT))
        assert ref is not None
        await ref.tell(Crash())
        assert await ref.ask(Hello()) == "w"
        assert sup.statistics().children[0].restarts == 1
        await ref.tell(Finish())
        await trio.sleep(1)
        assert len(sup) == 0
        sup.stop()


async def test_stop_goes_in_reverse_order_in_batches(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    sup = DynamicSupervisor("connections", stop_batch_size=10, stop_batch_interval=0.5)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        for i in range(30):
            await sup.start_child(child(journal, f"c{i:02}"))
        journal.clear()
        started = trio.current_time()
        sup.stop()
        with pytest.raises(SupervisorNotRunning):
            await sup.start_child(child(journal, "late"))
    stops = [entry[1] for entry in journal]
    # Batches in reverse start order; within a batch the children stop concurrently.
    newest_first = [f"c{i:02}" for i in reversed(range(30))]
    for batch in range(3):
        assert set(stops[batch * 10 : batch * 10 + 10]) == set(
            newest_first[batch * 10 : batch * 10 + 10]
        )
    # Three batches, half a second apart.
    assert trio.current_time() - started == pytest.approx(1.5)
    assert len(sup) == 0


async def test_a_child_that_ignores_stop_is_cancelled_after_its_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    sup = DynamicSupervisor("connections")
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        spec = ChildSpec(
            "slow", lambda: Recorder("slow", journal, stop_delay=100), shutdown_timeout=3
        )
        await sup.start_child(spec)
        started = trio.current_time()
        sup.stop()
    assert trio.current_time() - started == pytest.approx(3)
