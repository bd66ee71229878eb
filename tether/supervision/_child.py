"""One entry of a supervisor's table: a child spec and its current incarnation."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

import attrs
import trio

from tether.actors import ActorCell, ActorStatistics, Mailbox, StopKind, StopReason

from ._spec import ChildSpec, Restart

if TYPE_CHECKING:
    from ._base import BaseSupervisor, SupervisorStatistics


class ChildState(enum.Enum):
    NOT_STARTED = "not_started"
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"  # waiting out the backoff before the next incarnation
    STOPPING = "stopping"
    STOPPED = "stopped"  # ended normally, or stopped by its supervisor
    FAILED = "failed"  # crashed or was killed, and is not being restarted


@attrs.frozen
class ChildStatistics:
    id: str
    kind: str  # "actor" or "supervisor"
    state: ChildState
    restart: Restart
    restarts: int
    actor: ActorStatistics | None
    supervisor: SupervisorStatistics | None


class Child:
    __slots__ = (
        "cell",
        "done",
        "incarnation",
        "last_reason",
        "mailbox",
        "restarts",
        "scope",
        "spec",
        "state",
        "stopping",
    )

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.state = ChildState.NOT_STARTED
        self.restarts = 0
        self.incarnation = 0
        self.mailbox: Mailbox | None = None
        if not spec.is_supervisor:
            self.mailbox = Mailbox(spec.id, spec.effective_mailbox_size)
            actor_class = spec.actor_class
            if actor_class is not None:
                self.mailbox.accepts = actor_class.message_types()
        self.cell: ActorCell | None = None
        self.scope = trio.CancelScope()
        self.done = trio.Event()
        self.done.set()
        self.stopping = False
        self.last_reason: StopReason | None = None

    @property
    def supervisor(self) -> BaseSupervisor | None:
        start: Any = self.spec.start
        return None if self.mailbox is not None else start

    @property
    def alive(self) -> bool:
        return not self.done.is_set()

    def request_stop(self, *, final: bool) -> None:
        """Ask the running incarnation to stop gracefully; returns at once."""
        self.stopping = True
        self.state = ChildState.STOPPING
        supervisor = self.supervisor
        if supervisor is not None:
            supervisor.stop()
        elif final:
            assert self.mailbox is not None
            # The actor handles what is already queued, then its loop ends.
            self.mailbox.close()
            if self.cell is not None and not self.mailbox.accepts:
                self.cell.request_exit(StopKind.SHUTDOWN)  # it has no queue to end
        elif self.cell is not None:
            self.cell.request_exit(StopKind.SHUTDOWN)

    def statistics(self) -> ChildStatistics:
        supervisor = self.supervisor
        return ChildStatistics(
            id=self.spec.id,
            kind="supervisor" if supervisor is not None else "actor",
            state=self.state,
            restart=self.spec.restart,
            restarts=self.restarts,
            actor=self.cell.statistics() if self.cell is not None else None,
            supervisor=supervisor.statistics() if supervisor is not None else None,
        )
