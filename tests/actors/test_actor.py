"""The Actor runtime: handlers, tell / try_tell / ask, hooks, helpers, names."""

from __future__ import annotations

import attrs
import pytest
import trio
import trio.testing

from tether.actors import (
    Actor,
    ActorCrashed,
    ActorStopped,
    AskTimeout,
    MailboxFull,
    NoSuchActor,
    StopKind,
    StopReason,
    UnknownMessage,
    handler,
)
from tether.supervision import ChildSpec, Restart, Supervisor


@attrs.frozen
class Add:
    amount: int


@attrs.frozen
class Get:
    pass


@attrs.frozen
class Boom:
    pass


@attrs.frozen
class Nap:
    seconds: float


@attrs.frozen
class Quit:
    pass


@attrs.frozen
class Unhandled:
    pass


@attrs.define
class Counter(Actor):
    mailbox_size = 4
    total: int = 0
    stops: list[StopReason] = attrs.field(factory=list)

    @handler
    def add(self, message: Add) -> None:
        self.total += message.amount

    @handler
    async def get(self, message: Get) -> int:
        return self.total

    @handler
    async def boom(self, message: Boom) -> None:
        raise ValueError("boom")

    @handler
    async def nap(self, message: Nap) -> str:
        await trio.sleep(message.seconds)
        return "rested"

    @handler
    async def quit(self, message: Quit) -> None:
        self.stop()

    async def on_stop(self, reason: StopReason) -> None:
        STOPS.append(reason)


STOPS: list[StopReason] = []


def tree(*specs: ChildSpec) -> Supervisor:
    return Supervisor("test", children=specs)


async def test_tell_then_ask_sees_state(autojump_clock: trio.testing.MockClock) -> None:
    sup = tree(ChildSpec("counter", Counter))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        ref = sup.ref("counter")
        await ref.tell(Add(2))
        ref.try_tell(Add(3))
        assert await ref.ask(Get()) == 5
        sup.stop()


async def test_unknown_message_is_an_error_naming_actor_and_type() -> None:
    sup = tree(ChildSpec("counter", Counter))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        ref = sup.ref("counter")
        with pytest.raises(UnknownMessage, match=r"'counter'.*Unhandled"):
            await ref.tell(Unhandled())
        with pytest.raises(UnknownMessage):
            ref.try_tell(Unhandled())
        with pytest.raises(UnknownMessage):
            await ref.ask(Unhandled())
        sup.stop()


async def test_try_tell_reports_a_full_mailbox_and_tell_waits_for_room(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sup = tree(ChildSpec("counter", Counter))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        ref = sup.ref("counter")
        nursery.start_soon(ref.ask, Nap(3))
        await trio.testing.wait_all_tasks_blocked()
        for _ in range(Counter.mailbox_size):
            ref.try_tell(Add(1))
        with pytest.raises(MailboxFull, match="'counter' is full"):
            ref.try_tell(Add(1))
        start = trio.current_time()
        await ref.tell(Add(1))  # backpressure: waits until the nap ends and room frees up
        assert trio.current_time() - start == pytest.approx(3)
        assert await ref.ask(Get()) == Counter.mailbox_size + 1
        sup.stop()


async def test_ask_times_out_with_a_clear_error(autojump_clock: trio.testing.MockClock) -> None:
    sup = tree(ChildSpec("counter", Counter))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        with pytest.raises(AskTimeout, match="'counter' did not reply to Nap within 1 s"):
            await sup.ref("counter").ask(Nap(5), timeout=1)
        sup.stop()


async def test_ask_of_a_crashing_handler_raises_actor_crashed_and_the_name_survives_restart(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sup = tree(ChildSpec("counter", Counter))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        ref = sup.ref("counter")
        await ref.tell(Add(7))
        with pytest.raises(ActorCrashed) as info:
            await ref.ask(Boom())
        assert isinstance(info.value.__cause__, ValueError)
        # The same ref reaches the restarted actor, whose state starts afresh.
        assert await ref.ask(Get()) == 0
        assert sup.statistics().children[0].restarts == 1
        sup.stop()


async def test_messages_sent_during_a_restart_reach_the_new_incarnation(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sup = tree(ChildSpec("counter", Counter))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        ref = sup.ref("counter")
        await ref.tell(Boom())
        await ref.tell(Add(4))  # queued while the supervisor backs off
        assert await ref.ask(Get()) == 4
        sup.stop()


async def test_a_stopped_actor_refuses_messages_and_pending_asks_fail(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sup = tree(ChildSpec("counter", Counter, restart=Restart.TEMPORARY))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        ref = sup.ref("counter")
        results: list[BaseException] = []

        async def ask_later() -> None:
            try:
                await ref.ask(Get())
            except ActorStopped as exc:
                results.append(exc)

        nursery.start_soon(ref.ask, Nap(1))
        await trio.testing.wait_all_tasks_blocked()
        await ref.tell(Quit())
        nursery.start_soon(ask_later)
        await trio.sleep(2)
        assert len(results) == 1
        with pytest.raises(ActorStopped, match="'counter' is not running"):
            await ref.tell(Add(1))
        with pytest.raises(ActorStopped):
            await ref.ask(Get())
        sup.stop()


async def test_on_stop_gets_the_reason(autojump_clock: trio.testing.MockClock) -> None:
    STOPS.clear()
    sup = tree(ChildSpec("counter", Counter, restart=Restart.TRANSIENT))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        ref = sup.ref("counter")
        await ref.tell(Boom())
        await ref.ask(Get())
        await ref.tell(Quit())
        await trio.sleep(1)
        assert [r.kind for r in STOPS] == [StopKind.CRASHED, StopKind.NORMAL]
        assert isinstance(STOPS[0].error, ValueError)
        sup.stop()


@attrs.frozen
class Ping:
    pass


@attrs.define
class WithHelpers(Actor):
    ticks: int = 0
    crash_after: int | None = None

    async def on_start(self) -> None:
        await self.start(self._ticker)

    async def _ticker(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            await trio.sleep(1)
            self.ticks += 1
            if self.crash_after is not None and self.ticks >= self.crash_after:
                raise RuntimeError("helper failed")

    @handler
    async def ping(self, message: Ping) -> int:
        return self.ticks


async def test_helper_tasks_run_inside_the_actor(autojump_clock: trio.testing.MockClock) -> None:
    sup = tree(ChildSpec("helpers", WithHelpers))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await trio.sleep(3.5)
        assert await sup.ref("helpers").ask(Ping()) == 3
        sup.stop()


async def test_a_crashing_helper_crashes_its_actor(autojump_clock: trio.testing.MockClock) -> None:
    sup = tree(ChildSpec("helpers", lambda: WithHelpers(crash_after=2)))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await trio.sleep(2.5)
        child = sup.statistics().children[0]
        assert child.restarts == 1
        assert await sup.ref("helpers").ask(Ping()) == 0
        sup.stop()


@attrs.frozen
class Either:
    value: int


@attrs.frozen
class Other:
    value: int


@attrs.define
class UnionActor(Actor):
    @handler
    async def either(self, message: Either | Other) -> str:
        return type(message).__name__


async def test_a_union_annotation_declares_several_types() -> None:
    assert UnionActor.message_types() == {Either, Other}
    sup = tree(ChildSpec("union", UnionActor))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        assert await sup.ref("union").ask(Other(1)) == "Other"
        sup.stop()


def test_a_handler_without_annotation_is_rejected() -> None:
    @attrs.define
    class Bad(Actor):
        @handler
        async def anything(self, message) -> None:  # type: ignore[no-untyped-def]
            pass

    with pytest.raises(TypeError, match="annotate"):
        Bad.handlers()


async def test_names_are_looked_up_in_the_supervisor_scope_and_above() -> None:
    inner = Supervisor("inner", children=[ChildSpec("union", UnionActor)])
    outer = Supervisor("outer", children=[ChildSpec("counter", Counter), ChildSpec("inner", inner)])
    async with trio.open_nursery() as nursery:
        await nursery.start(outer.run)
        assert inner.ref("counter") == outer.ref("counter")
        assert await inner.ref("counter").ask(Get()) == 0
        with pytest.raises(NoSuchActor, match="'union'"):
            outer.ref("union")
        outer.stop()


async def test_statistics_report_the_mailbox(autojump_clock: trio.testing.MockClock) -> None:
    sup = tree(ChildSpec("counter", Counter))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        ref = sup.ref("counter")
        await ref.tell(Add(1))
        await ref.ask(Get())
        stats = sup.statistics().children[0].actor
        assert stats is not None
        assert stats.name == "counter"
        assert stats.messages_handled == 2
        assert stats.mailbox_capacity == Counter.mailbox_size
        sup.stop()


@attrs.define
class Roomy(Actor):
    mailbox_size = 500

    @handler
    def add(self, message: Add) -> None:
        pass


async def test_an_actor_made_by_a_factory_gets_its_class_mailbox_size() -> None:
    sup = tree(ChildSpec("roomy", lambda: Roomy()))
    ref = sup.ref("roomy")
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        for _ in range(400):
            ref.try_tell(Add(1))  # would overflow the default 64
        stats = sup.statistics().children[0].actor
        assert stats is not None and stats.mailbox_capacity == 500
        sup.stop()
