"""The Actor base class and the loop that runs one incarnation of an actor.

An actor is an attrs class whose instance owns its state and runs as a Trio
task. Messages arrive through its mailbox and are dispatched by type to the
methods marked with `@handler`; the annotation of a handler's message
parameter declares the type (a union declares several). A handler's return
value is the reply to an `ask`. A handler that raises crashes the actor:
its supervisor decides what happens next.

Each incarnation runs inside its own nursery, so helper tasks started with
`start_soon` / `start` live and die with the actor. The lifecycle hooks are
`on_start` (before the actor is reported ready) and `on_stop(reason)`
(always called once; while helpers are still running on a graceful stop).
"""

from __future__ import annotations

import enum
import inspect
import types
import typing
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

import attrs
import structlog
import trio

from ._errors import UnknownMessage
from ._mailbox import ActorRef, Ask, Mailbox, crashed_reply
from ._registry import Registry

log = structlog.get_logger("tether.actors")

F = TypeVar("F", bound=Callable[..., Any])

# How long `on_stop` may still run when the actor is being cancelled.
STOP_GRACE_SECONDS = 1.0
# Messages handled in a row from a full mailbox before the actor yields to other tasks.
FAIRNESS_BURST = 16


def handler(method: F) -> F:
    """Mark a method as the handler of the message type its parameter is annotated with."""
    method.__tether_handler__ = True  # type: ignore[attr-defined]
    return method


class StopKind(enum.Enum):
    NORMAL = "normal"  # the actor called stop() itself
    SHUTDOWN = "shutdown"  # its supervisor asked it to stop
    CRASHED = "crashed"  # a handler, a hook or a helper task raised
    KILLED = "killed"  # cancelled: it did not stop within its shutdown timeout


@attrs.frozen
class StopReason:
    kind: StopKind
    error: BaseException | None = None

    @property
    def abnormal(self) -> bool:
        return self.kind in (StopKind.CRASHED, StopKind.KILLED)


class ActorState(enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


@attrs.frozen
class ActorStatistics:
    name: str
    state: ActorState
    mailbox_used: int
    mailbox_capacity: int
    messages_handled: int
    unknown_messages: int


_Handler = tuple[Callable[..., Any], bool]


def _message_types(annotation: Any) -> tuple[type, ...]:
    if isinstance(annotation, type):
        return (annotation,)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(t for arg in typing.get_args(annotation) for t in _message_types(arg))
    raise TypeError(
        f"a handler's message annotation must be a class or a union, not {annotation!r}"
    )


@attrs.define
class Actor:
    """Base class of every actor; subclass it with `@attrs.define` and add `@handler` methods."""

    # The default mailbox size of this kind of actor; a child spec may override it.
    mailbox_size: ClassVar[int] = 64
    _handler_table: ClassVar[dict[type, _Handler] | None] = None
    _cell: ActorCell | None = attrs.field(init=False, default=None, repr=False)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._handler_table = None

    @classmethod
    def handlers(cls) -> dict[type, _Handler]:
        """Message type → (function, is_async), resolved from annotations on first use."""
        cached: dict[type, _Handler] | None = cls.__dict__.get("_handler_table")
        if cached is not None:
            return cached
        table: dict[type, _Handler] = {}
        for klass in reversed(cls.__mro__):
            for attr, function in vars(klass).items():
                if not getattr(function, "__tether_handler__", False):
                    continue
                params = list(inspect.signature(function).parameters.values())[1:]
                if len(params) != 1:
                    raise TypeError(f"handler {cls.__qualname__}.{attr} must take one message")
                hints = typing.get_type_hints(function)
                if params[0].name not in hints:
                    raise TypeError(
                        f"handler {cls.__qualname__}.{attr} must annotate its message type"
                    )
                for message_type in _message_types(hints[params[0].name]):
                    table[message_type] = (function, inspect.iscoroutinefunction(function))
        cls._handler_table = table
        return table

    @classmethod
    def message_types(cls) -> frozenset[type]:
        return frozenset(cls.handlers())

    # Hooks ----------------------------------------------------------------

    async def on_start(self) -> None:
        """Runs before the actor is reported ready; a failure here fails the start."""

    async def on_stop(self, reason: StopReason) -> None:
        """Runs once when the actor stops, whatever the reason; must not block for long."""

    # What an actor can do --------------------------------------------------

    @property
    def cell(self) -> ActorCell:
        if self._cell is None:
            raise RuntimeError(f"{type(self).__qualname__} is not running under a supervisor")
        return self._cell

    @property
    def name(self) -> str:
        return self.cell.mailbox.name

    @property
    def ref(self) -> ActorRef:
        return ActorRef(self.cell.mailbox)

    def lookup(self, name: str) -> ActorRef:
        """Another actor by name, searched in this supervisor's scope and then its parents'."""
        return self.cell.registry.lookup(name)

    def start_soon(self, function: Callable[..., Awaitable[object]], *args: object) -> None:
        """Run a helper task inside this actor: it ends with the actor, and if it raises, the
        actor crashes."""
        self.cell.nursery.start_soon(function, *args)

    async def start(self, function: Callable[..., Awaitable[object]], *args: object) -> Any:
        """Like `start_soon`, but wait until the helper calls `task_status.started()`."""
        return await self.cell.nursery.start(function, *args)

    def stop(self) -> None:
        """Stop this actor normally once the current message is handled."""
        self.cell.request_exit(StopKind.NORMAL)


class ActorCell:
    """The runtime side of one incarnation: mailbox, names, nursery, and the message loop."""

    __slots__ = (
        "_exit_kind",
        "_idle_scope",
        "_nursery",
        "handled",
        "mailbox",
        "registry",
        "state",
        "unknown",
    )

    def __init__(self, mailbox: Mailbox, registry: Registry) -> None:
        self.mailbox = mailbox
        self.registry = registry
        self.state = ActorState.STARTING
        self.handled = 0
        self.unknown = 0
        self._nursery: trio.Nursery | None = None
        self._exit_kind: StopKind | None = None
        self._idle_scope: trio.CancelScope | None = None

    @property
    def nursery(self) -> trio.Nursery:
        if self._nursery is None:
            raise RuntimeError("the actor's nursery exists only while it runs")
        return self._nursery

    def request_exit(self, kind: StopKind) -> None:
        """Leave the message loop after the current message; wakes an idle loop at once."""
        if self._exit_kind is None:
            self._exit_kind = kind
        if self._idle_scope is not None:
            self._idle_scope.cancel()

    def statistics(self) -> ActorStatistics:
        return ActorStatistics(
            name=self.mailbox.name,
            state=self.state,
            mailbox_used=self.mailbox.used(),
            mailbox_capacity=self.mailbox.capacity,
            messages_handled=self.handled,
            unknown_messages=self.unknown,
        )

    async def run(
        self, actor: Actor, *, task_status: trio.TaskStatus[ActorRef] = trio.TASK_STATUS_IGNORED
    ) -> StopReason:
        """Run one incarnation until it stops; returns why, or raises what crashed it."""
        handlers = type(actor).handlers()
        self.mailbox.accepts = frozenset(handlers)
        actor._cell = self
        stopped = False
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                await actor.on_start()
                self.state = ActorState.RUNNING
                task_status.started(ActorRef(self.mailbox))
                kind = await self._loop(actor, handlers)
                self.state = ActorState.STOPPING
                stopped = True
                reason = StopReason(kind)
                await actor.on_stop(reason)
                nursery.cancel_scope.cancel()
            return reason
        except BaseException as exc:
            if not stopped:
                cancelled = _only_cancelled(exc)
                error = None if cancelled else _unwrap(exc)
                kind = StopKind.KILLED if cancelled else StopKind.CRASHED
                await self._stop_after_failure(actor, StopReason(kind, error))
            raise
        finally:
            self.state = ActorState.STOPPED
            self._nursery = None

    async def _stop_after_failure(self, actor: Actor, reason: StopReason) -> None:
        self.state = ActorState.STOPPING
        with trio.CancelScope(shield=True) as scope:
            scope.deadline = trio.current_time() + STOP_GRACE_SECONDS
            try:
                await actor.on_stop(reason)
            except Exception:
                log.exception("on_stop failed", actor=self.mailbox.name, reason=reason.kind.value)

    async def _loop(self, actor: Actor, handlers: dict[type, _Handler]) -> StopKind:
        if not handlers:
            return await self._idle_until_stopped()
        receive = self.mailbox.receive_channel
        burst = 0
        while self._exit_kind is None:
            try:
                # A busy mailbox needs no cancel scope per message: only an idle wait must be
                # interruptible by a stop.
                item = receive.receive_nowait()
            except trio.WouldBlock:
                burst = 0
                with trio.CancelScope() as idle:
                    self._idle_scope = idle
                    try:
                        item = await receive.receive()
                    except trio.EndOfChannel:
                        return StopKind.SHUTDOWN
                    finally:
                        self._idle_scope = None
                if idle.cancelled_caught:
                    break
            except trio.EndOfChannel:
                return StopKind.SHUTDOWN
            else:
                burst += 1
                if burst == FAIRNESS_BURST:
                    # Let other tasks run now and then, even if every handler is synchronous.
                    burst = 0
                    await trio.lowlevel.checkpoint()
            await self._dispatch(actor, handlers, item)
        return self._exit_kind or StopKind.SHUTDOWN

    async def _idle_until_stopped(self) -> StopKind:
        """The loop of an actor that takes no messages: wait for a stop, no channel needed."""
        while self._exit_kind is None:
            with trio.CancelScope() as idle:
                self._idle_scope = idle
                await trio.sleep_forever()
            self._idle_scope = None
        return self._exit_kind

    async def _dispatch(self, actor: Actor, handlers: dict[type, _Handler], item: object) -> None:
        if type(item) is Ask:
            message, reply = item.message, item.reply
        else:
            message, reply = item, None
        entry = handlers.get(type(message))
        if entry is None:
            self.unknown += 1
            error = UnknownMessage(self.mailbox.name, type(message))
            if reply is not None:
                reply.set_error(error)
            else:
                log.error("unknown message", actor=self.mailbox.name, type=type(message).__name__)
            return
        function, is_async = entry
        try:
            result = function(actor, message)
            if is_async:
                result = await result
        except BaseException as exc:
            if reply is not None:
                reply.set_error(crashed_reply(self.mailbox.name, exc))
            raise
        self.handled += 1
        if reply is not None:
            reply.set_value(result)


def _only_cancelled(exc: BaseException) -> bool:
    if isinstance(exc, trio.Cancelled):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return all(_only_cancelled(inner) for inner in exc.exceptions)
    return False


def _unwrap(exc: BaseException) -> BaseException:
    """The single real error inside nested one-member groups, for readable crash reasons."""
    while isinstance(exc, BaseExceptionGroup):
        real = [e for e in exc.exceptions if not _only_cancelled(e)]
        if len(real) != 1:
            return exc
        exc = real[0]
    return exc
