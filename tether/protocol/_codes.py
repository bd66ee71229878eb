"""The numbers and names of protocol v1: close codes, error codes, priorities, limits."""

from __future__ import annotations

import enum

SUBPROTOCOL = "tether.v1"

MAX_TOPIC_LENGTH = 200
MAX_ID_LENGTH = 128
MAX_TYPE_LENGTH = 64
# orjson reads up to 1024 levels of nesting but writes at most 254, so a deeper
# frame could be accepted and then fail when its data is delivered.  64 leaves the
# server ample room to wrap client data in its own frames.
MAX_DEPTH = 64


class CloseCode(enum.IntEnum):
    """WebSocket close codes the server uses; 4000-4999 are ours."""

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013
    HEARTBEAT_TIMEOUT = 4000
    SLOW_CONSUMER = 4001


class ErrorCode(enum.StrEnum):
    """The `code` of an `error` frame; the connection stays open after one."""

    INVALID_JSON = "invalid_json"
    INVALID_FRAME = "invalid_frame"
    UNSUPPORTED_FRAME = "unsupported_frame"
    UNKNOWN_TYPE = "unknown_type"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class Priority(enum.IntEnum):
    """Delivery priority; a lower value is more urgent, so priorities sort by urgency."""

    CRITICAL = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3

    @property
    def wire(self) -> str:
        """The name used on the wire: ``"critical"``, ``"high"``, ``"normal"`` or ``"low"``."""
        return _WIRE_NAMES[self]

    @classmethod
    def from_wire(cls, name: str) -> Priority:
        """The priority called `name` on the wire.

        Raises ValueError for any other string, including differently cased ones.
        """
        try:
            return _BY_WIRE_NAME[name]
        except KeyError:
            raise ValueError(f"unknown priority {name!r}") from None


# Module-level tables rather than `self.name.lower()`: `wire` runs once per
# published message, and a dict lookup is the cheapest way to get there.
_WIRE_NAMES = {priority: priority.name.lower() for priority in Priority}
_BY_WIRE_NAME = {wire: priority for priority, wire in _WIRE_NAMES.items()}
