"""The dynamic supervisor: many short-lived children of one kind, added at run time."""

from __future__ import annotations

import attrs
import trio

from tether.actors import ActorRef, StopReason

from ._base import BaseSupervisor, SupervisorState
from ._child import Child
from ._errors import SupervisorNotRunning, TooManyChildren
from ._spec import ChildSpec, Restart


@attrs.define(eq=False)
class DynamicSupervisor(BaseSupervisor):
    """Children are added with `start_child` (one_for_one); temporary children leave the
    table as soon as they end. On stop, children are asked to stop in reverse start order
    in batches of `stop_batch_size`, `stop_batch_interval` seconds apart, so that thousands
    of connections do not all close in the same instant; then each gets its shutdown
    timeout and is cancelled after it."""

    max_children: int = 100_000
    stop_batch_size: int = 100
    stop_batch_interval: float = 0.0

    def _event_capacity(self) -> int:
        return self.max_children + 1

    def __len__(self) -> int:
        return len(self._children)

    async def start_child(self, spec: ChildSpec) -> ActorRef | None:
        """Start a child and wait until it is ready; returns its ref (None for a supervisor).

        Raises `TooManyChildren` at `max_children`, `SupervisorNotRunning` when the
        supervisor is not running or is stopping, `StartFailed` when the child fails
        while starting (it is then removed).
        """
        if self._state is not SupervisorState.RUNNING or self._stop_requested.is_set():
            raise SupervisorNotRunning(self.name)
        if len(self._children) >= self.max_children:
            raise TooManyChildren(self.name, self.max_children)
        child = self._add(spec)
        try:
            return await self._start_child(child)
        except BaseException:
            self._remove(child)
            raise

    def _remove(self, child: Child) -> None:
        self._forget(child)
        if self._children.get(child.spec.id) is child:
            del self._children[child.spec.id]
            if child.mailbox is not None:
                self.registry.unregister(child.spec.id)

    def _child_ended(self, child: Child, incarnation: int, reason: StopReason) -> None:
        if child.spec.restart is Restart.TEMPORARY or (
            child.spec.restart is Restart.TRANSIENT and not reason.abnormal
        ):
            # Nothing to decide: forget it now, without a trip through the control loop.
            self._remove(child)
            return
        super()._child_ended(child, incarnation, reason)

    async def _stop_children(self) -> None:
        children = list(reversed(self._children.values()))
        deadlines: list[float] = []
        for start in range(0, len(children), self.stop_batch_size):
            for child in children[start : start + self.stop_batch_size]:
                if child.alive:
                    child.request_stop(final=True)
                deadlines.append(trio.current_time() + child.spec.effective_shutdown_timeout)
            await trio.sleep(self.stop_batch_interval)
        for child, deadline in zip(children, deadlines, strict=True):
            await self._await_stop(child, deadline)
            self._remove(child)
