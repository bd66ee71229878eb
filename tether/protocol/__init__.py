"""Tether's wire protocol v1, sans-IO: frames as values, `decode` and `encode`, no I/O.

See docs/protocol.md for the protocol itself and `_codec` for how this package works.
"""

from ._codec import decode, encode, encode_message
from ._codes import (
    MAX_DEPTH,
    MAX_ID_LENGTH,
    MAX_TOPIC_LENGTH,
    MAX_TYPE_LENGTH,
    SUBPROTOCOL,
    CloseCode,
    ErrorCode,
    Priority,
)
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
from ._message_id import format_message_id, parse_message_id

__all__ = [
    "MAX_DEPTH",
    "MAX_ID_LENGTH",
    "MAX_TOPIC_LENGTH",
    "MAX_TYPE_LENGTH",
    "NO_RESULT",
    "SUBPROTOCOL",
    "Ack",
    "AppFrame",
    "AppReply",
    "ClientFrame",
    "CloseCode",
    "Error",
    "ErrorCode",
    "FrameId",
    "Message",
    "Ping",
    "Pong",
    "Priority",
    "ProtocolError",
    "Publish",
    "ServerFrame",
    "Shutdown",
    "Subscribe",
    "Unsubscribe",
    "Welcome",
    "decode",
    "encode",
    "encode_message",
    "format_message_id",
    "parse_message_id",
]
