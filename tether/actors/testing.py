"""Helpers for testing actors without sockets: a peer whose outbox you can read."""

from __future__ import annotations

import itertools
from typing import Any

import orjson

from tether.protocol import AppFrame, decode

from .connection._outbox import Outbox
from .connection._peer import Peer
from .routing import Inbound

_ids = itertools.count(1)


def probe_peer(user_id: str = "tester", *, max_outbox_bytes: int = 1_048_576) -> Peer:
    """A connection stand-in: what actors send it stays in its outbox for `sent` to read."""
    return Peer(f"probe-{next(_ids)}", user_id, Outbox(max_outbox_bytes))


def sent(peer: Peer) -> list[dict[str, Any]]:
    """Every frame queued for `peer` since the last call, decoded, in the order it would be
    written (control frames first, then by priority)."""
    return [orjson.loads(text) for text in peer.outbox.take_all()]


def inbound(peer: Peer, **frame: Any) -> Inbound:
    """The message a routed actor receives when `peer` sends `frame` (a dict with `type`)."""
    decoded = decode(orjson.dumps(frame))
    if not isinstance(decoded, AppFrame):
        raise ValueError(f"not an application frame: {decoded!r}")
    return Inbound(peer, decoded)
