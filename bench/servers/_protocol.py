"""The tiny subset of Tether's protocol that the peer servers speak.

Kept identical in shape to Tether's frames so that one client drives every
server: a `welcome` first, `echo` → `echo` with `ref`, `subscribe` → `ack`,
`publish` → `ack` to the publisher and `message` to every connection.
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson

WELCOME = orjson.dumps({"type": "welcome", "protocol": "bench"}).decode()


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--ping-interval", type=float, default=None, help="keepalive pings (default: off)"
    )
    return parser.parse_args()


def handle(text: str) -> tuple[str | None, str | None]:
    """Return (reply to the sender, frame for every connection) for one frame."""
    try:
        frame: Any = orjson.loads(text)
        kind = frame.get("type")
    except (orjson.JSONDecodeError, AttributeError):
        return None, None
    if kind == "echo":
        reply = {"type": "echo", "data": frame.get("data"), "ref": frame.get("id")}
        return orjson.dumps(reply).decode(), None
    if kind == "subscribe":
        return orjson.dumps({"type": "ack", "ref": frame.get("id")}).decode(), None
    if kind == "publish":
        # Encoded once, like Tether's manager does, then handed to every writer.
        message = {"type": "message", "topic": frame.get("topic"), "data": frame.get("data")}
        ack = orjson.dumps({"type": "ack", "ref": frame.get("id")}).decode()
        return ack, orjson.dumps(message).decode()
    return None, None
