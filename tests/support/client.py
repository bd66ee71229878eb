"""A real WebSocket client (the `websockets` library's, an independent implementation)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from websockets.sync.client import ClientConnection, connect


def open_client(
    url: str,
    *,
    user: str | None = None,
    token: str | None = None,
    subprotocols: list[str] | None = None,
    headers: dict[str, str] | None = None,
    path: str | None = None,
    max_size: int | None = 2**24,
) -> ClientConnection:
    if path is not None:
        url = url.rsplit("/", 1)[0] + path
    query = {k: v for k, v in (("user", user), ("token", token)) if v is not None}
    if query:
        url += "?" + urlencode(query)
    return connect(
        url,
        subprotocols=subprotocols or ["tether.v1"],  # type: ignore[arg-type]
        additional_headers=headers,
        open_timeout=10,
        close_timeout=5,
        max_size=max_size,
        compression=None,
    )


def recv(ws: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return frame


def send(ws: ClientConnection, **frame: Any) -> None:
    ws.send(json.dumps(frame))


def recv_type(ws: ClientConnection, frame_type: str, timeout: float = 10.0) -> dict[str, Any]:
    """The next frame of `frame_type`, skipping others."""
    while True:
        frame = recv(ws, timeout)
        if frame["type"] == frame_type:
            return frame


def welcomed(ws: ClientConnection) -> dict[str, Any]:
    frame = recv(ws)
    assert frame["type"] == "welcome", frame
    return frame
