"""Turning WebSocket text into client frames, and server frames into text.

Theory of operation
===================

This module is the whole of protocol v1's syntax, and nothing else: it never sees a
socket, never awaits and holds no state.  The service reads a text frame, hands it to
`decode`, and acts on what comes back; it builds a server frame and hands it to
`encode` (or `encode_message`), then sends the text.  Everything about *when* frames
are sent (the handshake, heartbeats, the outbox, priorities, closing) belongs to the
service; this module only knows what frames look like.

Decoding is total.  Client input is untrusted, and a malformed frame is an ordinary
event that the client must hear about, not an exceptional one, so `decode` returns a
`ProtocolError` instead of raising, for every input whatsoever.  The error carries the
v1 error code and a message naming the offending field, ready to send back with
`ProtocolError.as_frame()`; a bad frame never closes the connection by itself.  Only
two codes come from here:

* ``invalid_json``: the text is not UTF-8 JSON (orjson rules: no NaN or Infinity, no
  byte-order mark, no number beyond a double's range; an integer beyond 64 bits is
  not refused but read as a float, which then fails as an ``id``).
* ``invalid_frame``: the JSON is well formed but not a v1 frame.  Unknown *types*
  are not invalid (they become `AppFrame` and the service decides whether an actor
  takes them, `unknown_type` otherwise); unknown *fields* on control frames are
  ignored, so that a newer client can talk to an older server.

Whether the frame arrived as a binary WebSocket message (``unsupported_frame``) or
was larger than ``max_message_size`` (close 1009) is known only to the transport, so
those checks are the service's.

Correlation comes first.  A client that sends ``"id"`` wants its ``ack`` or ``error``
to carry ``"ref"``, even when the frame is refused, so the id is validated before
anything but the JSON itself, and every `ProtocolError` for a frame with a valid id
carries it as ``ref``.  A null optional field is the same as an absent one.

Depth is bounded on the way in because orjson can read JSON nested 1024 levels deep
but write only 254: without `MAX_DEPTH` a client could publish data that the server
accepts and then fails to deliver.  Counting brackets gives an upper bound on the
depth for free, so the (iterative) measurement only runs on frames that need it.

Encoding trusts its caller.  A `Message` is encoded once per publish however many
subscribers it reaches, and server frames are built by the service, not by users, so
`encode` checks nothing that orjson does not, with one exception: the top-level
float fields (``ts``, ``heartbeat_interval``) are checked for NaN and infinity,
because orjson would silently write them as null.  A value orjson cannot write
(non-string dict keys, integers beyond 64 bits, lone surrogates, nesting deeper than
254, arbitrary objects) raises `TypeError`; anything `decode` produced can always be
written back.  Non-finite floats nested inside ``data`` or a reply body are written as
null by orjson; `decode` never produces them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Never, NoReturn, TypeGuard

import orjson

from ._codes import MAX_DEPTH, MAX_ID_LENGTH, MAX_TOPIC_LENGTH, MAX_TYPE_LENGTH, ErrorCode, Priority
from ._frames import (
    NO_RESULT,
    Ack,
    AppFrame,
    AppReply,
    ClientFrame,
    Error,
    FrameId,
    Message,
    Ping,
    Pong,
    ProtocolError,
    Publish,
    ServerFrame,
    Shutdown,
    Subscribe,
    Unsubscribe,
    Welcome,
)

__all__ = ["decode", "encode", "encode_message"]

# fullmatch, never `$`: `$` also matches before a trailing newline.
_TYPE_NAME = re.compile(r"[a-z][a-z0-9_.\-]*")
_TOPIC = re.compile(r"[A-Za-z0-9_\-.:/@]+")
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

_ID_RULE = (
    f"field 'id' must be a string of 1..{MAX_ID_LENGTH} characters"
    " or an integer within the signed 64-bit range"
)
_TYPE_RULE = (
    f"field 'type' must be at most {MAX_TYPE_LENGTH} characters, a lowercase letter"
    " followed by lowercase letters, digits, '_', '.' or '-'"
)
_TOPIC_RULE = (
    f"field 'topic' must be a string of 1..{MAX_TOPIC_LENGTH} characters,"
    " each a letter, digit or one of _ - . : / @"
)
_SINCE_RULE = f"field 'since' must be a message id: a string of at most {MAX_ID_LENGTH} characters"
_PRIORITY_RULE = "field 'priority' must be one of 'critical', 'high', 'normal', 'low'"
_DEPTH_RULE = f"frame must not be nested more than {MAX_DEPTH} levels deep"


class _Invalid(Exception):
    """A field broke a rule; the message, which names it, goes to the client."""


# --- decode --------------------------------------------------------------------------


def decode(text: str | bytes) -> ClientFrame | ProtocolError:
    """Parse one client frame.

    Never raises: anything that is not a valid v1 client frame comes back as a
    `ProtocolError` with code ``invalid_json`` or ``invalid_frame``.
    """
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return ProtocolError(ErrorCode.INVALID_JSON, f"frame is not valid UTF-8 JSON: {exc}")
    if not isinstance(obj, dict):
        return ProtocolError(
            ErrorCode.INVALID_FRAME, f"frame must be a JSON object, not {_kind(obj)}"
        )
    raw_id = obj.get("id")
    frame_id = raw_id if _is_frame_id(raw_id) else None
    try:
        if _may_be_deeper(text) and _deeper_than_limit(obj):
            raise _Invalid(_DEPTH_RULE)
        frame_type = _frame_type(obj)
        if raw_id is not None and frame_id is None:
            raise _Invalid(_ID_RULE)
        parse = _CONTROL_FRAMES.get(frame_type)
        if parse is None:
            return AppFrame(frame_type, frame_id, obj)
        return parse(obj, frame_id)
    except _Invalid as exc:
        return ProtocolError(ErrorCode.INVALID_FRAME, str(exc), frame_id)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _is_frame_id(value: Any) -> TypeGuard[FrameId]:
    # `type(...) is int` because JSON true and false decode to bool, a subclass of int.
    if type(value) is int:
        return _INT64_MIN <= value <= _INT64_MAX
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH


def _may_be_deeper(text: str | bytes) -> bool:
    if isinstance(text, str):
        brackets = text.count("[") + text.count("{")
    elif isinstance(text, bytes | bytearray):
        brackets = text.count(b"[") + text.count(b"{")
    else:
        # Other buffers orjson accepts (memoryview) cannot count; measure instead.
        return True
    return brackets > MAX_DEPTH


def _deeper_than_limit(obj: dict[str, Any]) -> bool:
    # Level by level rather than recursively, so that no input can exhaust the Python
    # stack; plain loops and `type() is` keep a 64 KiB frame of tiny containers at
    # about twice the cost of parsing it.
    level: list[Any] = [obj]
    for _ in range(MAX_DEPTH):
        deeper = []
        for container in level:
            for item in container.values() if type(container) is dict else container:
                if type(item) is dict or type(item) is list:
                    deeper.append(item)
        if not deeper:
            return False
        level = deeper
    return True


def _frame_type(obj: dict[str, Any]) -> str:
    if "type" not in obj:
        raise _Invalid("missing field 'type'")
    value = obj["type"]
    if not isinstance(value, str):
        raise _Invalid("field 'type' must be a string")
    if len(value) > MAX_TYPE_LENGTH or _TYPE_NAME.fullmatch(value) is None:
        raise _Invalid(_TYPE_RULE)
    return value


def _topic(obj: dict[str, Any]) -> str:
    if "topic" not in obj:
        raise _Invalid("missing field 'topic'")
    value = obj["topic"]
    # The length check comes first so that a huge string never reaches the regex.
    if (
        not isinstance(value, str)
        or len(value) > MAX_TOPIC_LENGTH
        or _TOPIC.fullmatch(value) is None
    ):
        raise _Invalid(_TOPIC_RULE)
    return value


def _since(obj: dict[str, Any]) -> str | None:
    value = obj.get("since")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH:
        raise _Invalid(_SINCE_RULE)
    return value


def _priority(obj: dict[str, Any]) -> Priority:
    value = obj.get("priority")
    if value is None:
        return Priority.NORMAL
    if not isinstance(value, str):
        raise _Invalid(_PRIORITY_RULE)
    try:
        return Priority.from_wire(value)
    except ValueError:
        raise _Invalid(_PRIORITY_RULE) from None


def _subscribe(obj: dict[str, Any], frame_id: FrameId | None) -> Subscribe:
    return Subscribe(_topic(obj), frame_id, _since(obj))


def _unsubscribe(obj: dict[str, Any], frame_id: FrameId | None) -> Unsubscribe:
    return Unsubscribe(_topic(obj), frame_id)


def _publish(obj: dict[str, Any], frame_id: FrameId | None) -> Publish:
    topic = _topic(obj)
    if "data" not in obj:
        raise _Invalid("missing field 'data' (it may be null, but it must be there)")
    return Publish(topic, obj["data"], _priority(obj), frame_id)


def _ping(obj: dict[str, Any], frame_id: FrameId | None) -> Ping:
    return Ping(frame_id)


_CONTROL_FRAMES: dict[str, Callable[[dict[str, Any], FrameId | None], ClientFrame]] = {
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "publish": _publish,
    "ping": _ping,
}


# --- encode --------------------------------------------------------------------------


def encode(frame: ServerFrame) -> str:
    """The compact JSON text of a server frame.

    Raises TypeError for a value orjson cannot write, or for something that is not a
    server frame, and ValueError for a NaN or infinite ``ts`` or
    ``heartbeat_interval``.  These are the caller's bugs, never the client's.
    """
    payload: dict[str, Any]
    match frame:
        case Message():
            return encode_message(frame.topic, frame.id, frame.priority, frame.data, frame.ts)
        case Ack():
            payload = {"type": "ack", "ref": frame.ref}
            if frame.result is not NO_RESULT:
                payload["result"] = frame.result
        case Error():
            payload = {"type": "error", "code": frame.code, "message": frame.message}
            if frame.ref is not None:
                payload["ref"] = frame.ref
        case Pong():
            _check_finite("ts", frame.ts)
            payload = {"type": "pong", "ts": frame.ts}
            if frame.ref is not None:
                payload["ref"] = frame.ref
        case AppReply():
            payload = {"type": frame.type, **frame.body}
            payload["type"] = frame.type
        case Welcome():
            _check_finite("heartbeat_interval", frame.heartbeat_interval)
            payload = {
                "type": "welcome",
                "connection_id": frame.connection_id,
                "user_id": frame.user_id,
                "heartbeat_interval": frame.heartbeat_interval,
                "max_message_size": frame.max_message_size,
                "protocol": frame.protocol,
                "server": frame.server,
            }
        case Shutdown():
            payload = {
                "type": "shutdown",
                "reason": frame.reason,
                "reconnect_after_ms": frame.reconnect_after_ms,
            }
        case _:
            _not_a_server_frame(frame)
    return orjson.dumps(payload).decode()


def encode_message(topic: str, id: str, priority: Priority, data: Any, ts: float) -> str:
    """`encode(Message(topic, id, priority, data, ts))` without building the Message.

    Raises like `encode`.
    """
    _check_finite("ts", ts)
    payload = {
        "type": "message",
        "topic": topic,
        "id": id,
        "priority": priority.wire,
        "data": data,
        "ts": ts,
    }
    return orjson.dumps(payload).decode()


def _check_finite(field: str, value: float) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{field} must be finite, not {value!r}")


def _not_a_server_frame(frame: Never) -> NoReturn:
    # Typed `Never` so that mypy reports a server frame type that `encode` forgot.
    raise TypeError(f"not a server frame: {frame!r}")
