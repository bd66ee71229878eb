"""Static supervisors: ordered start and stop, strategies, restart types, intensity,
escalation, backoff, shutdown timeouts, introspection."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio
import trio.testing

from tether.actors import ActorCrashed
from tether.supervision import (
    Backoff,
    ChildSpec,
    ChildState,
    Restart,
    RestartIntensity,
    StartFailed,
    Strategy,
    Supervisor,
    SupervisorGaveUp,
    SupervisorState,
)

from ._actors import Crash, Finish, Hello, Recorder

Journal = list[tuple[str, ...]]


def spec(
    journal: Journal,
    id: str,
    restart: Restart = Restart.PERMANENT,
    shutdown_timeout: float | None = None,
    **kwargs: object,
) -> ChildSpec:
    factory: Callable[[], Recorder] = lambda: Recorder(id, journal, **kwargs)  # type: ignore[arg-type]  # noqa: E731
    return ChildSpec(id, factory, restart=restart, shutdown_timeout=shutdown_timeout)


def three(journal: Journal, strategy: Strategy, **kwargs: object) -> Supervisor:
    return Supervisor(
        "sup",
        children=[spec(journal, "a"), spec(journal, "b"), spec(journal, "c")],
        strategy=strategy,
        **kwargs,  # type: ignore[arg-type]
    )


async def crash(sup: Supervisor, child: str) -> None:
    await sup.ref(child).tell(Crash())
    # Let the crash, the backoff and the restart play out.
    await trio.sleep(10)


async def test_children_start_in_order_each_after_the_previous_is_ready(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    sup = Supervisor(
        "sup",
        children=[
            spec(journal, "slow", start_delay=5),
            spec(journal, "fast"),
        ],
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        assert journal == [("start", "slow"), ("start", "fast")]
        assert trio.current_time() == pytest.approx(5)
        sup.stop()
    assert journal[2:] == [("stop", "fast", "shutdown"), ("stop", "slow", "shutdown")]
    assert sup.state is SupervisorState.STOPPED


async def test_one_for_one_restarts_only_the_crashed_child(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    sup = three(journal, Strategy.ONE_FOR_ONE)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        journal.clear()
        await crash(sup, "b")
        assert journal == [("stop", "b", "crashed"), ("start", "b")]
        sup.stop()


async def test_one_for_all_restarts_every_child_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    sup = three(journal, Strategy.ONE_FOR_ALL)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        journal.clear()
        await crash(sup, "b")
        assert journal == [
            ("stop", "b", "crashed"),
            ("stop", "c", "shutdown"),
            ("stop", "a", "shutdown"),
            ("start", "a"),
            ("start", "b"),
            ("start", "c"),
        ]
        sup.stop()


async def test_rest_for_one_restarts_the_child_and_those_started_after_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    sup = three(journal, Strategy.REST_FOR_ONE)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        journal.clear()
        await crash(sup, "b")
        assert journal == [
            ("stop", "b", "crashed"),
            ("stop", "c", "shutdown"),
            ("start", "b"),
            ("start", "c"),
        ]
        sup.stop()


@pytest.mark.parametrize(
    ("restart", "after_crash", "after_finish"),
    [
        (Restart.PERMANENT, True, True),
        (Restart.TRANSIENT, True, False),
        (Restart.TEMPORARY, False, False),
    ],
)
async def test_restart_types(
    autojump_clock: trio.testing.MockClock,
    restart: Restart,
    after_crash: bool,
    after_finish: bool,
) -> None:
    for message, restarted in ((Crash(), after_crash), (Finish(), after_finish)):
        journal: Journal = []
        sup = Supervisor("sup", children=[spec(journal, "x", restart=restart)])
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await sup.ref("x").tell(message)
            await trio.sleep(10)
            child = sup.statistics().children[0]
            assert (child.state is ChildState.RUNNING) == restarted, (restart, message)
            assert child.restarts == int(restarted)
            sup.stop()


async def test_too_many_restarts_gives_up_and_stops_the_others(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    sup = three(journal, Strategy.ONE_FOR_ONE, intensity=RestartIntensity(2, 60))
    with pytest.RaisesGroup(pytest.RaisesExc(SupervisorGaveUp, match="'sup' gave up.*'b'")) as info:
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            for _ in range(3):
                await crash(sup, "b")
    gave_up = info.value.exceptions[0]
    assert isinstance(gave_up, SupervisorGaveUp)
    assert isinstance(gave_up.error, RuntimeError)
    assert journal[-2:] == [("stop", "c", "shutdown"), ("stop", "a", "shutdown")]
    assert sup.state is SupervisorState.FAILED


async def test_restarts_outside_the_period_do_not_count(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    sup = three(journal, Strategy.ONE_FOR_ONE, intensity=RestartIntensity(1, 5))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        for _ in range(4):
            await crash(sup, "a")  # 10 s apart: never two within 5 s
        assert sup.statistics().restarts == 4
        sup.stop()


async def test_escalation_restarts_the_failed_subtree_then_fails_upwards(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    inner = Supervisor("inner", children=[spec(journal, "leaf")], intensity=RestartIntensity(0, 60))
    outer = Supervisor(
        "outer",
        children=[spec(journal, "sibling"), ChildSpec("inner", inner)],
        intensity=RestartIntensity(1, 60),
    )
    with pytest.RaisesGroup(pytest.RaisesExc(SupervisorGaveUp, match="'outer'")) as info:
        async with trio.open_nursery() as nursery:
            await nursery.start(outer.run)
            await crash(inner, "leaf")  # inner gives up, outer restarts inner
            assert outer.statistics().children[1].restarts == 1
            assert await inner.ref("leaf").ask(Hello()) == "leaf"
            await crash(inner, "leaf")  # inner gives up again: outer exceeds its own intensity
    gave_up = info.value.exceptions[0]
    assert isinstance(gave_up, SupervisorGaveUp)
    assert isinstance(gave_up.error, SupervisorGaveUp)
    assert journal[-1] == ("stop", "sibling", "shutdown")


async def test_restarts_back_off_exponentially(autojump_clock: trio.testing.MockClock) -> None:
    journal: Journal = []
    sup = Supervisor(
        "sup",
        children=[spec(journal, "x")],
        intensity=RestartIntensity(10, 1000),
        backoff=Backoff(initial=1.0, factor=2.0, cap=8.0),
    )
    starts: list[float] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        for _ in range(5):
            crashed_at = trio.current_time()
            with pytest.raises(ActorCrashed):
                await sup.ref("x").ask(Crash())
            await sup.ref("x").ask(Hello(), timeout=100)
            starts.append(trio.current_time() - crashed_at)
        sup.stop()
    # Equal jitter: between half and all of 1, 2, 4, 8, 8 seconds.
    for delay, ceiling in zip(starts, [1, 2, 4, 8, 8], strict=True):
        assert ceiling / 2 <= delay <= ceiling


async def test_a_child_failing_to_start_fails_the_start_and_stops_the_started_ones(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    sup = Supervisor(
        "sup",
        children=[spec(journal, "a"), spec(journal, "b"), spec(journal, "bad", fail_start=True)],
    )
    with pytest.raises(StartFailed, match="'bad' failed to start") as info:
        await sup.run()
    assert isinstance(info.value.error, RuntimeError)
    # on_stop runs once for every incarnation, even one that failed in on_start.
    assert journal == [
        ("start", "a"),
        ("start", "b"),
        ("stop", "bad", "crashed"),
        ("stop", "b", "shutdown"),
        ("stop", "a", "shutdown"),
    ]


async def test_a_child_that_does_not_stop_in_time_is_cancelled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    sup = Supervisor(
        "sup",
        children=[
            spec(journal, "patient"),
            spec(journal, "stubborn", shutdown_timeout=2, stop_delay=1000),
        ],
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        stopped_at = trio.current_time()
        sup.stop()
    # The stubborn child got its 2 s, then was cancelled; its on_stop was cut short too.
    assert trio.current_time() - stopped_at == pytest.approx(2)
    assert journal[-2:] == [("stop", "stubborn", "shutdown"), ("stop", "patient", "shutdown")]
    assert sup.statistics().children[1].state is ChildState.STOPPED


async def test_stopping_twice_is_safe(autojump_clock: trio.testing.MockClock) -> None:
    journal: Journal = []
    sup = three(journal, Strategy.ONE_FOR_ONE)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        sup.stop()
        sup.stop()
    sup.stop()
    assert [entry[0] for entry in journal].count("stop") == 3


async def test_stopping_while_starting_is_safe(autojump_clock: trio.testing.MockClock) -> None:
    journal: Journal = []
    sup = Supervisor(
        "sup",
        children=[spec(journal, "a", start_delay=5), spec(journal, "b"), spec(journal, "c")],
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sup.run)
        await trio.sleep(1)
        assert sup.state is SupervisorState.STARTING
        sup.stop()
        sup.stop()
    # "a" finished starting, the rest were never started, and "a" was stopped.
    assert journal == [("start", "a"), ("stop", "a", "shutdown")]
    assert sup.state is SupervisorState.STOPPED


async def test_statistics_report_children_states_and_restarts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    inner = Supervisor("inner", children=[spec(journal, "leaf")])
    sup = Supervisor(
        "sup",
        children=[spec(journal, "a"), ChildSpec("inner", inner)],
        strategy=Strategy.REST_FOR_ONE,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await crash(sup, "a")
        stats = sup.statistics()
        assert stats.name == "sup"
        assert stats.strategy == "rest_for_one"
        assert stats.state is SupervisorState.RUNNING
        assert [(c.id, c.kind, c.state, c.restarts) for c in stats.children] == [
            ("a", "actor", ChildState.RUNNING, 1),
            ("inner", "supervisor", ChildState.RUNNING, 1),
        ]
        inner_stats = stats.children[1].supervisor
        assert inner_stats is not None
        assert inner_stats.children[0].id == "leaf"
        sup.stop()


async def test_a_supervisor_can_run_again_after_it_stopped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    sup = Supervisor("sup", children=[spec(journal, "a")])
    for _ in range(2):
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            assert await sup.ref("a").ask(Hello()) == "a"
            sup.stop()
    assert journal.count(("start", "a")) == 2


async def test_a_restart_whose_start_fails_counts_toward_the_intensity(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal: Journal = []
    incarnations = 0

    def flaky() -> Recorder:
        nonlocal incarnations
        incarnations += 1
        return Recorder("x", journal, fail_start=incarnations > 1)

    sup = Supervisor("sup", children=[ChildSpec("x", flaky)], intensity=RestartIntensity(3, 60))
    with pytest.RaisesGroup(pytest.RaisesExc(SupervisorGaveUp, match="'sup' gave up")):
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await sup.ref("x").tell(Crash())
            await trio.sleep(60)
    # The first start, then a crash and three failed restarts before giving up.
    assert incarnations == 4
