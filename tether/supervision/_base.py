"""What both kinds of supervisor share: running children, stopping them, restart policy.

A supervisor is a nursery plus a policy. Each child runs in a task of the
supervisor's nursery, inside a cancel scope of its own. A child that ends
posts one event to the supervisor's control loop, which alone decides what
happens next (restart, escalate, forget), so the decisions are serialised
and the table of children has a single owner. Stopping is always the same
three steps: ask the child to stop, give it its shutdown timeout, cancel it.
"""

from __future__ import annotations

import enum
import random
from typing import Any

import attrs
import structlog
import trio

from tether.actors import ActorCell, ActorRef, Registry, StopKind, StopReason
from tether.actors._actor import _only_cancelled, _unwrap
from tether.actors._mailbox import log_dropped

from ._child import Child, ChildState, ChildStatistics
from ._errors import StartFailed, SupervisorGaveUp
from ._spec import Backoff, ChildSpec, Restart, RestartHistory, RestartIntensity

log = structlog.get_logger("tether.supervision")


class SupervisorState(enum.Enum):
    IDLE = "idle"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


@attrs.frozen
class SupervisorStatistics:
    name: str
    strategy: str
    state: SupervisorState
    children: tuple[ChildStatistics, ...]
    restarts: int


class _Ready:
    """Passed to a child as its task_status: notes that the child reported ready."""

    __slots__ = ("_child", "_inner", "started_ok")

    def __init__(self, inner: trio.TaskStatus[Any], child: Child) -> None:
        self._inner = inner
        self._child = child
        self.started_ok = False

    def started(self, value: Any = None) -> None:
        self.started_ok = True
        self._child.state = ChildState.RUNNING
        self._inner.started(value)


_STOP = object()


@attrs.frozen
class _Exit:
    child: Child
    incarnation: int
    reason: StopReason


@attrs.define(eq=False)
class BaseSupervisor:
    name: str
    intensity: RestartIntensity = attrs.field(factory=RestartIntensity)
    backoff: Backoff = attrs.field(factory=Backoff)
    registry: Registry = attrs.field(factory=Registry, repr=False)
    _children: dict[str, Child] = attrs.field(factory=dict, init=False, repr=False)
    _state: SupervisorState = attrs.field(default=SupervisorState.IDLE, init=False)
    _nursery: trio.Nursery | None = attrs.field(default=None, init=False, repr=False)
    _events_send: trio.MemorySendChannel[object] | None = attrs.field(
        default=None, init=False, repr=False
    )
    _stop_requested: trio.Event = attrs.field(factory=trio.Event, init=False, repr=False)
    _history: RestartHistory = attrs.field(init=False, repr=False)
    _restarts: int = attrs.field(default=0, init=False)
    _rng: random.Random = attrs.field(factory=random.Random, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._history = RestartHistory(self.intensity)

    # The policy of the concrete kinds -------------------------------------

    strategy_name = "one_for_one"

    def _restart_group(self, child: Child) -> list[Child]:
        return [child]

    def _event_capacity(self) -> int:
        # Each child posts at most one event per incarnation, and is restarted only after
        # its event was read: one slot per child, plus the stop request.
        return len(self._children) + 1

    async def _start_initial(self) -> None:
        """Start the children the supervisor begins with, in order."""

    async def _stop_children(self) -> None:
        for child in reversed(list(self._children.values())):
            await self._stop_child(child, final=True)

    def _forget(self, child: Child) -> None:
        """A child that will not run again: free its mailbox; keep its entry for introspection."""
        if child.mailbox is not None:
            log_dropped(child.spec.id, child.mailbox.discard())

    # Public API --------------------------------------------------------------

    @property
    def state(self) -> SupervisorState:
        return self._state

    def ref(self, name: str) -> ActorRef:
        """A ref to a named actor in this supervisor's scope or above; valid across restarts."""
        return self.registry.lookup(name)

    def stop(self) -> None:
        """Ask for a graceful stop: children stop in reverse start order. Returns at once;
        idempotent; safe while the supervisor is still starting its children."""
        if self._stop_requested.is_set() or self._state in (
            SupervisorState.IDLE,
            SupervisorState.STOPPED,
            SupervisorState.FAILED,
        ):
            return
        self._stop_requested.set()
        if self._events_send is not None:
            self._events_send.send_nowait(_STOP)

    def statistics(self) -> SupervisorStatistics:
        return SupervisorStatistics(
            name=self.name,
            strategy=self.strategy_name,
            state=self._state,
            children=tuple(child.statistics() for child in self._children.values()),
            restarts=self._restarts,
        )

    async def run(
        self,
        *,
        parent: Registry | None = None,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Start the children in order, report ready, supervise until stopped.

        Raises `StartFailed` if a child fails while starting (the children
        already started are stopped first) and `SupervisorGaveUp` when restarts
        exceed the intensity. Can be run again after it ended (a restart).
        """
        if self._state in (SupervisorState.STARTING, SupervisorState.RUNNING):
            raise RuntimeError(f"supervisor {self.name!r} is already running")
        self.registry.parent = parent
        self._stop_requested = trio.Event()
        self._history = RestartHistory(self.intensity)
        events_send, events_receive = trio.open_memory_channel[object](self._event_capacity())
        self._events_send = events_send
        self._state = SupervisorState.STARTING
        failure: BaseException | None = None
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                try:
                    await self._start_initial()
                except StartFailed as exc:
                    failure = exc
                    self._state = SupervisorState.STOPPING
                    await self._stop_children()
                else:
                    self._state = SupervisorState.RUNNING
                    task_status.started()
                    log.debug("supervisor started", supervisor=self.name)
                    try:
                        await self._control_loop(events_receive)
                    except SupervisorGaveUp as exc:
                        failure = exc
                    else:
                        self._state = SupervisorState.STOPPING
                        await self._stop_children()
            # Raised outside the nursery so that the parent sees the error itself, not a group.
            if failure is not None:
                raise failure
            self._state = SupervisorState.STOPPED
            log.debug("supervisor stopped", supervisor=self.name)
        except BaseException:
            self._state = SupervisorState.FAILED
            raise
        finally:
            self._events_send = None
            self._nursery = None
            events_send.close()
            events_receive.close()

    # Running children ------------------------------------------------------------

    async def _control_loop(self, events: trio.MemoryReceiveChannel[object]) -> None:
        if self._stop_requested.is_set():
            return
        async for event in events:
            if event is _STOP:
                return
            assert isinstance(event, _Exit)
            child = event.child
            if event.incarnation == child.incarnation and not child.stopping:
                await self._on_child_exit(child, event.reason)
            if self._stop_requested.is_set():
                return

    async def _start_child(self, child: Child) -> ActorRef | None:
        """Start one incarnation and wait until it reports ready; raises `StartFailed`."""
        assert self._nursery is not None
        child.incarnation += 1
        child.state = ChildState.STARTING
        child.stopping = False
        child.scope = trio.CancelScope()
        child.done = trio.Event()
        try:
            ref: ActorRef | None = await self._nursery.start(
                self._child_task, child, child.incarnation
            )
        except BaseException as exc:
            child.state = ChildState.FAILED
            if _only_cancelled(exc):
                raise
            error = _unwrap(exc)
            log.error(
                "child failed to start",
                supervisor=self.name,
                child=child.spec.id,
                error=repr(error),
            )
            raise StartFailed(self.name, child.spec.id, error) from error
        return ref

    async def _child_task(
        self, child: Child, incarnation: int, task_status: trio.TaskStatus[Any]
    ) -> None:
        ready = _Ready(task_status, child)
        try:
            try:
                with child.scope:
                    supervisor = child.supervisor
                    if supervisor is None:
                        assert child.mailbox is not None
                        child.mailbox.reopen()
                        actor = child.spec.start()  # type: ignore[operator]
                        if child.spec.mailbox_size is None:
                            child.mailbox.resize(type(actor).mailbox_size)
                        child.cell = ActorCell(child.mailbox, self.registry)
                        reason: StopReason = await child.cell.run(actor, task_status=ready)
                    else:
                        await supervisor.run(parent=self.registry, task_status=ready)
                        reason = StopReason(
                            StopKind.SHUTDOWN if child.stopping else StopKind.NORMAL
                        )
                if child.scope.cancelled_caught:
                    reason = StopReason(StopKind.KILLED)
            except BaseException as exc:
                if not ready.started_ok or _only_cancelled(exc):
                    raise
                reason = StopReason(StopKind.CRASHED, _unwrap(exc))
        finally:
            child.done.set()
        child.last_reason = reason
        child.state = ChildState.FAILED if reason.abnormal else ChildState.STOPPED
        self._log_exit(child, reason)
        if not child.stopping:
            self._child_ended(child, incarnation, reason)

    def _child_ended(self, child: Child, incarnation: int, reason: StopReason) -> None:
        assert self._events_send is not None
        self._events_send.send_nowait(_Exit(child, incarnation, reason))

    def _log_exit(self, child: Child, reason: StopReason) -> None:
        if reason.kind is StopKind.CRASHED:
            log.error(
                "child crashed",
                supervisor=self.name,
                child=child.spec.id,
                error=repr(reason.error),
                exc_info=reason.error,
            )
        elif reason.kind is StopKind.KILLED:
            log.warning("child killed", supervisor=self.name, child=child.spec.id)
        else:
            log.debug(
                "child stopped", supervisor=self.name, child=child.spec.id, reason=reason.kind.value
            )

    async def _on_child_exit(self, child: Child, reason: StopReason) -> None:
        restart = child.spec.restart is Restart.PERMANENT or (
            child.spec.restart is Restart.TRANSIENT and reason.abnormal
        )
        if not restart:
            self._forget(child)
            return
        group = self._restart_group(child)
        if not self._history.allow(trio.current_time()):
            await self._give_up(child, reason.error)
        for other in reversed(group):
            if other is not child:
                # A temporary sibling is stopped with the group but never started again.
                await self._stop_child(other, final=other.spec.restart is Restart.TEMPORARY)
        await self._restart(
            [c for c in group if c is child or c.spec.restart is not Restart.TEMPORARY]
        )

    async def _restart(self, group: list[Child]) -> None:
        """Start the group again in order after a backoff; a failed start counts as one more
        restart and backs off again before retrying from the member that failed."""
        pending = list(group)
        for member in pending:
            member.state = ChildState.RESTARTING
        back_off = True
        while pending:
            if back_off:
                attempt = self._history.recent(trio.current_time())
                with trio.move_on_after(self.backoff.delay(attempt, self._rng)):
                    await self._stop_requested.wait()
                if self._stop_requested.is_set():
                    return
            member = pending[0]
            # Counted as the attempt begins: the child may already be serving (and be
            # observed) before this task resumes after its start.
            member.restarts += 1
            self._restarts += 1
            try:
                await self._start_child(member)
            except StartFailed as failure:
                if not self._history.allow(trio.current_time()):
                    await self._give_up(member, failure.error)
                back_off = True
                continue
            back_off = False
            pending.pop(0)
            log.info("child restarted", supervisor=self.name, child=member.spec.id)

    async def _give_up(self, child: Child, error: BaseException | None) -> None:
        log.error(
            "too many restarts: giving up",
            supervisor=self.name,
            child=child.spec.id,
            max_restarts=self.intensity.max_restarts,
            period=self.intensity.period,
        )
        self._state = SupervisorState.STOPPING
        await self._stop_children()
        raise SupervisorGaveUp(self.name, child.spec.id, error)

    async def _stop_child(self, child: Child, *, final: bool) -> None:
        """Graceful stop within the child's shutdown timeout, then cancellation."""
        if child.alive:
            child.request_stop(final=final)
            await self._await_stop(
                child, trio.current_time() + child.spec.effective_shutdown_timeout
            )
        child.state = ChildState.STOPPED if final else ChildState.RESTARTING
        if final:
            self._forget(child)

    async def _await_stop(self, child: Child, deadline: float) -> None:
        with trio.move_on_at(deadline):
            await child.done.wait()
        if child.alive:
            log.warning(
                "child did not stop in time: cancelling",
                supervisor=self.name,
                child=child.spec.id,
                shutdown_timeout=child.spec.effective_shutdown_timeout,
            )
            child.scope.cancel()
            await child.done.wait()

    def _add(self, spec: ChildSpec) -> Child:
        if spec.id in self._children:
            raise ValueError(f"supervisor {self.name!r} already has a child {spec.id!r}")
        child = Child(spec)
        self._children[spec.id] = child
        if child.mailbox is not None:
            self.registry.register(child.mailbox)
        return child
