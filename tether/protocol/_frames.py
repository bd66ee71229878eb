"""The frames of protocol v1 as immutable values, and the error that decoding returns.

Client frames are what `decode` produces; server frames are what `encode` consumes.
None of these classes validate their fields: `decode` only builds client frames from
input it has checked, and server frames are built by the service, whose bugs show up
as `TypeError` or `ValueError` from `encode`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, TypeAlias

import attrs

from ._codes import SUBPROTOCOL, ErrorCode, Priority

FrameId: TypeAlias = str | int
"""A client's correlation id: a string of 1..MAX_ID_LENGTH characters or a signed 64-bit int."""


class _NoResult(enum.Enum):
    NO_RESULT = enum.auto()

    def __repr__(self) -> str:
        return "NO_RESULT"


NO_RESULT = _NoResult.NO_RESULT
"""`Ack.result` when the ack has no result; `None` would be a result of JSON null."""


# --- Client frames -------------------------------------------------------------------


@attrs.frozen
class Subscribe:
    """Join `topic`; with `since` (a message id), first replay what was missed after it."""

    topic: str
    id: FrameId | None = None
    since: str | None = None


@attrs.frozen
class Unsubscribe:
    """Leave `topic`."""

    topic: str
    id: FrameId | None = None


@attrs.frozen
class Publish:
    """Deliver `data` (any JSON value, null included) to every subscriber of `topic`."""

    topic: str
    data: Any
    priority: Priority = Priority.NORMAL
    id: FrameId | None = None


@attrs.frozen
class Ping:
    """Ask for a `pong`."""

    id: FrameId | None = None


@attrs.frozen
class AppFrame:
    """A frame of any non-control type, for the actor registered under `type`.

    `body` is the whole decoded JSON object, "type" and "id" included, exactly as
    the client sent it; only `type` and `id` have been validated.
    """

    type: str
    id: FrameId | None
    body: dict[str, Any]


ClientFrame: TypeAlias = Subscribe | Unsubscribe | Publish | Ping | AppFrame


# --- Server frames -------------------------------------------------------------------


@attrs.frozen
class Welcome:
    """The first frame on every connection."""

    connection_id: str
    user_id: str
    heartbeat_interval: float
    max_message_size: int
    server: str
    protocol: str = SUBPROTOCOL


@attrs.frozen
class Message:
    """One delivery from `topic`; `id` is its position there (see `format_message_id`)."""

    topic: str
    id: str
    priority: Priority
    data: Any
    ts: float


@attrs.frozen
class Ack:
    """The client frame whose `id` was `ref` succeeded; `result` is omitted if NO_RESULT."""

    ref: FrameId
    result: Any = NO_RESULT


@attrs.frozen
class Error:
    """A client frame failed; `ref` is its `id` when it had a usable one."""

    code: ErrorCode
    message: str
    ref: FrameId | None = None


@attrs.frozen
class Pong:
    """The answer to a `ping`; `ts` is the server's clock in unix seconds."""

    ts: float
    ref: FrameId | None = None


@attrs.frozen
class Shutdown:
    """The server is draining; a close 1001 follows once the outbox is flushed."""

    reason: str
    reconnect_after_ms: int


@attrs.frozen
class AppReply:
    """A developer actor's frame, sent as ``{"type": type, **body}``; `type` wins over
    a "type" key in `body`."""

    type: str
    body: Mapping[str, Any]


ServerFrame: TypeAlias = Welcome | Message | Ack | Error | Pong | Shutdown | AppReply


# --- Decode errors -------------------------------------------------------------------


@attrs.frozen
class ProtocolError:
    """Why `decode` refused a frame, in the words the client should be told.

    A value, not an exception: a bad frame is ordinary input, answered with
    `as_frame()`, and the connection stays open.
    """

    code: ErrorCode
    message: str
    ref: FrameId | None = None

    def as_frame(self) -> Error:
        """The `error` frame that tells the client about this."""
        return Error(self.code, self.message, self.ref)
