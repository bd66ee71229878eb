"""The worked example of docs/actors.md, run as the guide shows it."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tether.actors import ActorCrashed
from tether.actors.examples.counter import Clock, Counter, GetCount, Increment
from tether.supervision import ChildSpec, Strategy, Supervisor


def demo_tree(interval: float = 1.0) -> Supervisor:
    return Supervisor(
        "demo",
        strategy=Strategy.REST_FOR_ONE,
        children=[
            ChildSpec("counter", Counter),
            ChildSpec("clock", lambda: Clock(interval=interval)),
        ],
    )


async def test_the_clock_drives_the_counter(autojump_clock: trio.testing.MockClock) -> None:
    tree = demo_tree(interval=1.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(tree.run)
        await trio.sleep(10.5)
        assert await tree.ref("counter").ask(GetCount()) == 10
        tree.stop()


async def test_a_bad_increment_crashes_the_counter_and_rest_for_one_restarts_the_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tree = demo_tree(interval=1.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(tree.run)
        counter = tree.ref("counter")
        await counter.tell(Increment(5))
        with pytest.raises(ActorCrashed, match="only goes up"):
            await counter.ask(Increment(-1))
        await trio.sleep(0.5)
        assert await counter.ask(GetCount()) == 0  # a fresh counter, and no tick yet
        stats = {child.id: child.restarts for child in tree.statistics().children}
        assert stats == {"counter": 1, "clock": 1}
        tree.stop()
