"""The handle the rest of the service holds for one connection.

A `Peer` is how the connection manager and developers' actors reach a
connection: they push encoded frames into its outbox, which never waits, and
may ask it to close. The connection actor alone drains the outbox (its writer
task) and acts on a close request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tether.protocol import (
    NO_RESULT,
    Ack,
    AppReply,
    CloseCode,
    Error,
    ErrorCode,
    FrameId,
    Priority,
    ServerFrame,
    encode,
)

from ._outbox import Outbox


class Peer:
    __slots__ = (
        "_on_close",
        "close_code",
        "close_reason",
        "draining",
        "flush_before_close",
        "id",
        "outbox",
        "remote",
        "user_id",
    )

    def __init__(
        self,
        id: str,
        user_id: str,
        outbox: Outbox,
        *,
        remote: str = "",
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.id = id
        self.user_id = user_id
        self.outbox = outbox
        self.remote = remote
        self.close_code: int | None = None
        self.close_reason = ""
        self.flush_before_close = True
        # Set by the connection manager when the service starts draining: from then on the
        # connection refuses new work (`unavailable`) so that nothing is acknowledged that
        # could miss a subscriber about to close.
        self.draining = False
        self._on_close = on_close

    def __repr__(self) -> str:
        return f"Peer({self.id!r}, user={self.user_id!r})"

    @property
    def closing(self) -> bool:
        return self.close_code is not None

    def send(self, text: str, priority: Priority = Priority.NORMAL) -> bool:
        """Queue an encoded data frame. False if the connection is closing or its outbox
        overflowed; an overflow closes it with 4001 (slow consumer). Never waits."""
        if self.close_code is not None:
            return False
        if self.outbox.push(text, priority):
            return True
        self.close(CloseCode.SLOW_CONSUMER, "slow consumer", flush=False)
        return False

    def send_control(self, text: str) -> None:
        """Queue an encoded control frame (ack, error, pong, shutdown): never refused,
        sent before any data."""
        if self.close_code is None or self.flush_before_close:
            self.outbox.push_control(text)

    def reply(self, type: str, body: dict[str, Any], priority: Priority = Priority.NORMAL) -> bool:
        """Send an application frame `{"type": type, **body}` (a developer actor's reply)."""
        return self.send(encode(AppReply(type, body)), priority)

    def ack(self, ref: FrameId | None, result: Any = NO_RESULT) -> None:
        if ref is not None:
            self.send_control(encode(Ack(ref, result)))

    def error(self, code: ErrorCode, message: str, ref: FrameId | None = None) -> None:
        self.send_control(encode(Error(code, message, ref)))

    def send_frame(self, frame: ServerFrame, priority: Priority = Priority.NORMAL) -> bool:
        return self.send(encode(frame), priority)

    def close(self, code: int, reason: str = "", *, flush: bool = True) -> None:
        """Ask the connection to close with `code`: after sending what is queued when `flush`,
        at once otherwise. The first request wins; returns at once."""
        if self.close_code is not None:
            if not flush and self.flush_before_close:
                self.flush_before_close = False
                self._notify()
            return
        self.close_code = code
        self.close_reason = reason
        self.flush_before_close = flush
        self._notify()

    def _notify(self) -> None:
        if self._on_close is not None:
            self._on_close()
