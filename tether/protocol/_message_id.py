"""Message ids: where a message sits in its topic's stream, as an opaque, sortable string.

An id is ``<epoch>-<offset>``: the epoch names one incarnation of the topic's stream
(1..32 ASCII letters and digits, chosen by whoever creates the stream) and the offset
is the message's position in it, written as exactly 16 lowercase hex digits, e.g.
``"k3f9a-000000000000002a"`` for offset 42 of epoch ``k3f9a``.

The fixed width makes ids of one epoch sort as strings in offset order, and 16 hex
digits hold any unsigned 64-bit offset, so the width never has to grow.  Epochs carry
no order: a stream that is reset (history lost, or moved from Redis to memory) gets a
new epoch, so a client's old ``since`` cannot match a position in the new stream and
the service reports ``recovered: false`` instead of silently skipping messages.  The
epoch's alphabet excludes ``-``, so an id splits unambiguously at its only hyphen.
"""

from __future__ import annotations

import re

__all__ = ["format_message_id", "parse_message_id"]

_EPOCH = re.compile(r"[A-Za-z0-9]{1,32}")
_MESSAGE_ID = re.compile(r"([A-Za-z0-9]{1,32})-([0-9a-f]{16})")
_OFFSET_LIMIT = 16**16


def format_message_id(epoch: str, offset: int) -> str:
    """The id of the message at `offset` in stream `epoch`.

    Raises ValueError if `epoch` is not 1..32 ASCII letters and digits, or if
    `offset` is negative or does not fit in 64 bits.
    """
    if _EPOCH.fullmatch(epoch) is None:
        raise ValueError(f"epoch must be 1..32 ASCII letters and digits, not {epoch!r}")
    if not 0 <= offset < _OFFSET_LIMIT:
        raise ValueError(f"offset must be in 0..2**64-1, not {offset!r}")
    return f"{epoch}-{offset:016x}"


def parse_message_id(text: str) -> tuple[str, int] | None:
    """The ``(epoch, offset)`` that `text` encodes, or None if it is not a message id.

    Never raises; only the exact form `format_message_id` writes is accepted, so every
    offset has one spelling and string order within an epoch is offset order.
    """
    match = _MESSAGE_ID.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    return match[1], int(match[2], 16)
