"""The Listener: owns the listening sockets and turns each accepted socket into a connection.

It is started last and stopped first, so on a drain new connections are refused
(the listening sockets close) before the connections are asked to go. Each accepted
socket becomes a temporary child of the connections supervisor at once; the
handshake and admission run in that child, so a slow client never holds up the
accept loop.
"""

from __future__ import annotations

import errno
import secrets

import attrs
import structlog
import trio

from tether.actors import Actor, ActorError, ActorRef, NoSuchActor, StopReason, handler
from tether.supervision import (
    ChildSpec,
    DynamicSupervisor,
    Restart,
    SupervisorNotRunning,
    TooManyChildren,
)
from tether.supervision._errors import StartFailed

from ..connection._actor import ConnectionActor
from ..connection._settings import ConnectionSettings
from ..heartbeat import HEARTBEAT
from ..manager import MANAGER
from ..manager._messages import Barrier, BeginDrain
from ..manager._policy import TopicPolicy
from ..queue import QUEUE_NAME, GetQueueStatistics, QueueStatistics
from ..routing import Routes
from ._admission import AdmissionPolicy

log = structlog.get_logger("tether.listener")

# Running out of file descriptors or memory is overload, not a reason to stop serving.
_OVERLOAD_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}
_OVERLOAD_PAUSE = 0.1
DRAIN_REQUEST_TIMEOUT = 5.0
QUEUE_POLL = 0.01


@attrs.frozen
class GetAddress:
    """Ask the listener where it listens: the reply is (host, port)."""


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@attrs.define
class Listener(Actor):
    mailbox_size = 1

    host: str
    port: int
    admission: AdmissionPolicy
    settings: ConnectionSettings
    connections: DynamicSupervisor
    routes: Routes
    connection_shutdown_timeout: float = 5.0
    policy: TopicPolicy | None = None
    bound_port: int | None = attrs.field(default=None, init=False)
    _listeners: list[trio.SocketListener] = attrs.field(factory=list, init=False)
    _accepting: trio.CancelScope = attrs.field(factory=trio.CancelScope, init=False)
    _manager: ActorRef | None = attrs.field(default=None, init=False)
    _heartbeat: ActorRef | None = attrs.field(default=None, init=False)
    _queue: ActorRef | None = attrs.field(default=None, init=False)

    @property
    def manager(self) -> ActorRef:
        if self._manager is None:
            self._manager = self.lookup(MANAGER)
        return self._manager

    async def on_start(self) -> None:
        try:
            self._heartbeat = self.lookup(HEARTBEAT)
        except NoSuchActor:
            log.warning("no heartbeat in this tree: dead peers are not detected")
        try:
            self._queue = self.lookup(QUEUE_NAME)
        except NoSuchActor:
            self._queue = None  # publishes go straight to the manager
        self._listeners = await trio.open_tcp_listeners(self.port, host=self.host)
        self.bound_port = self._listeners[0].socket.getsockname()[1]
        self.start_soon(self._accept_all)
        log.info(
            f"listening on ws://{url_host(self.host)}:{self.bound_port}{self.admission.path}",
            host=self.host,
            port=self.bound_port,
        )

    @handler
    def address(self, message: GetAddress) -> tuple[str, int]:
        assert self.bound_port is not None
        return self.host, self.bound_port

    async def _accept_all(self) -> None:
        with self._accepting:
            async with trio.open_nursery() as nursery:
                for listener in self._listeners:
                    nursery.start_soon(self._accept_loop, listener)

    async def _accept_loop(self, listener: trio.SocketListener) -> None:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno not in _OVERLOAD_ERRNOS:
                    raise
                log.error("accept failed: overloaded, pausing", error=str(exc))
                await trio.sleep(_OVERLOAD_PAUSE)
                continue
            await self._start_connection(stream)

    async def _start_connection(self, stream: trio.SocketStream) -> None:
        connection_id = secrets.token_urlsafe(9)
        spec = ChildSpec(
            connection_id,
            lambda: ConnectionActor(
                connection_id,
                stream,
                self.settings,
                self.admission,
                self.manager,
                self.routes,
                self._heartbeat,
                self._queue,
                self.policy,
            ),
            restart=Restart.TEMPORARY,
            shutdown_timeout=self.connection_shutdown_timeout,
        )
        try:
            await self.connections.start_child(spec)
        except (TooManyChildren, SupervisorNotRunning, StartFailed) as exc:
            log.warning("connection not started", error=str(exc))
            await trio.aclose_forcefully(stream)

    async def _wait_for_queued_publishes(self, queue: ActorRef) -> None:
        """Acknowledged publishes still in the queue must reach the subscribers before these
        close: wait (bounded by the connections' shutdown timeout) until the workers took
        everything that was ready."""
        with trio.move_on_after(self.connection_shutdown_timeout) as scope:
            while True:
                stats: QueueStatistics = await queue.ask(GetQueueStatistics())
                if not sum(stats.ready.values()) and not stats.in_progress:
                    return
                await trio.sleep(QUEUE_POLL)
        if scope.cancelled_caught:
            log.warning("queued publishes not all delivered before the drain went on")

    async def on_stop(self, reason: StopReason) -> None:
        # Stop accepting before closing the sockets, so no accept sees its socket vanish.
        self._accepting.cancel()
        for listener in self._listeners:
            await trio.aclose_forcefully(listener)
        try:
            # Waits until the manager has handled everything sent before: from then on,
            # nothing new is acknowledged while connections drain.
            await self.manager.ask(BeginDrain(), timeout=DRAIN_REQUEST_TIMEOUT)
            if self._queue is not None:
                await self._wait_for_queued_publishes(self._queue)
                await self.manager.ask(Barrier(), timeout=DRAIN_REQUEST_TIMEOUT)
        except ActorError as exc:  # connections stop anyway
            log.warning("could not tell the manager to drain", error=repr(exc))
        log.info("listener closed: no new connections", reason=reason.kind.value)
