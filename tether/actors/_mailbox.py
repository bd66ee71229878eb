"""Mailboxes and the references that senders hold.

A mailbox belongs to a name, not to one incarnation of an actor: when a
supervisor restarts the actor behind a name, the new instance reads the same
mailbox, so an `ActorRef` obtained before the restart keeps working and the
messages queued during the restart are not lost. Only when the actor stops
for good is the mailbox closed; from then on senders get `ActorStopped`.
"""

from __future__ import annotations

import math
from typing import Any

import structlog
import trio

from ._errors import ActorCrashed, ActorStopped, AskTimeout, MailboxFull, UnknownMessage

log = structlog.get_logger("tether.actors")


class Reply:
    """A one-shot slot for the answer to an `ask`."""

    __slots__ = ("_done", "_error", "_value")

    def __init__(self) -> None:
        self._done = trio.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    def set_value(self, value: Any) -> None:
        if not self._done.is_set():
            self._value = value
            self._done.set()

    def set_error(self, error: BaseException) -> None:
        if not self._done.is_set():
            self._error = error
            self._done.set()

    async def wait(self) -> Any:
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value


class Ask:
    """A message travelling with the slot its reply goes to."""

    __slots__ = ("message", "reply")

    def __init__(self, message: object, reply: Reply) -> None:
        self.message = message
        self.reply = reply


class Mailbox:
    """A bounded queue of messages for one actor name, reusable across restarts.

    The channel is made on first use: an actor that takes no messages (a connection,
    reached through its peer handle) costs no channel, which counts at 10,000 connections.
    """

    __slots__ = ("_closed", "_receive", "_send", "accepts", "capacity", "name")

    def __init__(self, name: str, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"mailbox capacity must be at least 1, not {capacity}")
        self.name = name
        self.capacity = capacity
        # Filled in from the actor class; until then unknown types are caught by the receiver.
        self.accepts: frozenset[type] | None = None
        self._send: trio.MemorySendChannel[object] | None = None
        self._receive: trio.MemoryReceiveChannel[object] | None = None
        self._closed = False

    def _channel(self) -> tuple[trio.MemorySendChannel[object], trio.MemoryReceiveChannel[object]]:
        if self._send is None or self._receive is None:
            self._send, self._receive = trio.open_memory_channel[object](self.capacity)
            if self._closed:
                self._send.close()
        return self._send, self._receive

    @property
    def receive_channel(self) -> trio.MemoryReceiveChannel[object]:
        return self._channel()[1]

    @property
    def closed(self) -> bool:
        return self._closed

    def _drop_channel(self) -> list[object]:
        """Forget the channel; returns what was still queued in it."""
        queued: list[object] = []
        if self._receive is not None:
            while True:
                try:
                    queued.append(self._receive.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
            self._receive.close()
        if self._send is not None:
            self._send.close()
        self._send = self._receive = None
        return queued

    def reopen(self) -> None:
        """Give a new incarnation a fresh channel after the previous one was closed."""
        if self._closed:
            self._drop_channel()
            self._closed = False

    def resize(self, capacity: int) -> None:
        """Give the mailbox another capacity, keeping what is queued (the first incarnation of
        an actor made by a factory tells its class's size only once it exists)."""
        if capacity == self.capacity or self._closed:
            return
        queued = self._drop_channel()
        self.capacity = max(capacity, len(queued))
        if queued:
            send, _ = self._channel()
            for item in queued:
                send.send_nowait(item)

    def close(self) -> None:
        """Refuse new messages; what is already queued can still be received."""
        self._closed = True
        if self._send is not None:
            self._send.close()

    def discard(self) -> int:
        """Empty a mailbox whose actor is gone: every pending `ask` fails with `ActorStopped`.

        Returns the number of plain messages that were dropped, so the caller can log it.
        """
        self.close()
        dropped = 0
        for item in self._drop_channel():
            if type(item) is Ask:
                item.reply.set_error(ActorStopped(self.name))
            else:
                dropped += 1
        return dropped

    def used(self) -> int:
        if self._receive is None:
            return 0
        return self._receive.statistics().current_buffer_used

    def check(self, message: object) -> None:
        accepts = self.accepts
        if accepts is not None and type(message) not in accepts:
            raise UnknownMessage(self.name, type(message))

    async def put(self, item: object) -> None:
        if self._closed:
            raise ActorStopped(self.name)
        send, _ = self._channel()
        try:
            await send.send(item)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ActorStopped(self.name) from None

    def put_nowait(self, item: object) -> None:
        if self._closed:
            raise ActorStopped(self.name)
        send, _ = self._channel()
        try:
            send.send_nowait(item)
        except trio.WouldBlock:
            raise MailboxFull(self.name, self.capacity) from None
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ActorStopped(self.name) from None


class ActorRef:
    """What other actors hold to reach an actor: by name, valid across its restarts."""

    __slots__ = ("_mailbox",)

    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox

    @property
    def name(self) -> str:
        return self._mailbox.name

    def __repr__(self) -> str:
        return f"ActorRef({self._mailbox.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorRef) and other._mailbox is self._mailbox

    def __hash__(self) -> int:
        return id(self._mailbox)

    async def tell(self, message: object) -> None:
        """Send without waiting for the actor, but wait for room in its mailbox (backpressure).

        Raises `UnknownMessage` if the actor does not handle this type and
        `ActorStopped` if it is not running. If cancelled, the message was not sent.
        """
        self._mailbox.check(message)
        await self._mailbox.put(message)

    def try_tell(self, message: object) -> None:
        """Send only if there is room right now; never waits.

        Raises `MailboxFull` when there is no room (the message was not sent),
        `UnknownMessage` and `ActorStopped` as `tell` does.
        """
        self._mailbox.check(message)
        self._mailbox.put_nowait(message)

    async def ask(self, message: object, *, timeout: float = 5.0) -> Any:
        """Send and wait for the handler's return value, for at most `timeout` seconds.

        Raises `AskTimeout` when the deadline passes (waiting for mailbox room
        counts), `ActorCrashed` when the actor died handling this message,
        `ActorStopped` when it stopped before handling it, `UnknownMessage` as `tell`.
        A handler that raises crashes its actor (let it crash): the caller gets
        `ActorCrashed` and the supervisor restarts the actor.
        """
        if not timeout > 0 or math.isnan(timeout):
            raise ValueError(f"ask timeout must be positive, not {timeout}")
        self._mailbox.check(message)
        reply = Reply()
        with trio.move_on_after(timeout) as scope:
            await self._mailbox.put(Ask(message, reply))
            return await reply.wait()
        assert scope.cancelled_caught
        raise AskTimeout(self._mailbox.name, type(message), timeout)


def crashed_reply(actor: str, error: BaseException) -> BaseException:
    """The error an asker sees when the actor died handling its request."""
    if isinstance(error, trio.Cancelled):
        return ActorStopped(actor)
    crash = ActorCrashed(actor, error)
    crash.__cause__ = error
    return crash


def log_dropped(name: str, dropped: int) -> None:
    if dropped:
        log.warning("messages dropped with a stopped actor", actor=name, dropped=dropped)
