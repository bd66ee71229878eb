"""A WebSocket client built on wsproto over a plain trio TCP stream, for tests that need
to misbehave: stop reading, vanish without a close frame, never answer pings."""

from __future__ import annotations

import json
import socket
from typing import Any

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)


class RawClient:
    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.CLIENT)
        self._events: list[Event] = []
        # Pongs go out from whichever task reads; frames from whichever task sends.
        self._sending = trio.Lock()
        self._text: list[str] = []

    @classmethod
    async def connect(
        cls,
        port: int,
        *,
        path: str = "/ws",
        receive_buffer: int | None = None,
        answer_pings: bool = True,
    ) -> RawClient:
        sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_STREAM)
        if receive_buffer is not None:
            # Set before connecting so that the advertised window stays small.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        try:
            await sock.connect(("127.0.0.1", port))
        except OSError:
            sock.close()
            raise
        client = cls(trio.SocketStream(sock))
        client.answer_pings = answer_pings
        try:
            await client.stream.send_all(client.ws.send(Request(host="127.0.0.1", target=path)))
            event = await client.next_event()
            if isinstance(event, RejectConnection):
                raise ConnectionRefusedError(event.status_code)
            assert isinstance(event, AcceptConnection), event
        except BaseException:
            await client.abort()
            raise
        return client

    answer_pings = True

    async def next_event(self) -> Event:
        while not self._events:
            data = await self.stream.receive_some(65536)
            self.ws.receive_data(data or None)
            for event in self.ws.events():
                if isinstance(event, Ping) and self.answer_pings:
                    async with self._sending:
                        await self.stream.send_all(self.ws.send(event.response()))
                    continue
                self._events.append(event)
        return self._events.pop(0)

    async def send(self, **frame: Any) -> None:
        async with self._sending:
            await self.stream.send_all(self.ws.send(TextMessage(json.dumps(frame))))

    async def recv(self) -> dict[str, Any] | CloseConnection:
        """The next JSON frame (reassembled), or the close event."""
        while True:
            event = await self.next_event()
            if isinstance(event, CloseConnection):
                return event
            if isinstance(event, TextMessage):
                self._text.append(event.data)
                if event.message_finished:
                    text, self._text = "".join(self._text), []
                    frame: dict[str, Any] = json.loads(text)
                    return frame

    async def abort(self) -> None:
        """Vanish: close the TCP connection without a WebSocket close frame."""
        await trio.aclose_forcefully(self.stream)
