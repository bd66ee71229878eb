"""The WebSocket transport, against real sockets on 127.0.0.1.

The clients are trio-websocket's own client, or a raw wsproto client where a
test needs a peer that misbehaves on purpose.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
import trio_websocket
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Ping, Request, TextMessage

from tether.actors.connection._transport import (
    HandshakeFailed,
    HandshakeRequest,
    PendingHandshake,
    TransportClosed,
    WebSocket,
    read_handshake,
)

Handler = Callable[[PendingHandshake], Awaitable[None]]


class Server:
    def __init__(self, port: int) -> None:
        self.port = port
        self.failures: list[HandshakeFailed] = []
        self.failed = trio.Event()


@asynccontextmanager
async def serve(
    handle: Handler, *, max_message_size: int = 1024, timeout: float = 5.0
) -> AsyncIterator[Server]:
    """A real server whose connections each get a helper nursery, as an actor would.

    Not `trio.serve_listeners`: its handler wrapper awaits in a `finally`, so a
    handler's exception is lost when the server is being cancelled.
    """

    async def one(stream: trio.SocketStream) -> None:
        async with trio.open_nursery() as helpers:
            try:
                pending = await read_handshake(
                    helpers, stream, max_message_size=max_message_size, timeout=timeout
                )
            except HandshakeFailed as exc:
                server.failures.append(exc)
                server.failed.set()
                return
            await handle(pending)

    async def accept_loop(listener: trio.SocketListener, nursery: trio.Nursery) -> None:
        async with listener:
            while True:
                nursery.start_soon(one, await listener.accept())

    async with trio.open_nursery() as nursery:
        (listener,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
        server = Server(listener.socket.getsockname()[1])
        nursery.start_soon(accept_loop, listener, nursery)
        yield server
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def connect(
    server: Server, target: str = "/ws", **options: Any
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    """trio-websocket's client, except that we own (and always close) its socket.

    Its `open_websocket_url` leaves the socket open when the server closes first.
    """
    stream = await trio.open_tcp_stream("127.0.0.1", server.port)
    try:
        async with trio.open_nursery() as nursery:
            client = await trio_websocket.wrap_client_stream(
                nursery, stream, "127.0.0.1", target, **options
            )
            yield client
            with trio.move_on_after(1):
                await client.aclose()
            await stream.aclose()
    finally:
        await stream.aclose()


def accept_then(
    action: Callable[[WebSocket], Awaitable[None]], subprotocol: str | None = None
) -> Handler:
    async def handle(pending: PendingHandshake) -> None:
        ws = await pending.accept(subprotocol)
        try:
            await action(ws)
        finally:
            await ws.close(1000)

    return handle


async def echo(ws: WebSocket) -> None:
    with contextlib.suppress(TransportClosed):
        while True:
            message = await ws.receive()
            await ws.send(message if isinstance(message, str) else f"bytes:{message.hex()}")


async def test_handshake_request_is_parsed() -> None:
    seen: list[HandshakeRequest] = []

    async def handle(pending: PendingHandshake) -> None:
        seen.append(pending.request)
        ws = await pending.accept("tether.v1")
        await ws.close(1000)

    with trio.fail_after(5):
        async with serve(handle) as server:
            target = "/ws?token=a%20b&x=1&x=2&empty=&plus=c+d"
            headers = [(b"Authorization", b"Bearer t0k"), (b"Origin", b"https://App.example")]
            async with connect(
                server, target, subprotocols=["tether.v1", "bearer.abc"], extra_headers=headers
            ) as client:
                assert client.subprotocol == "tether.v1"
                with pytest.raises(trio_websocket.ConnectionClosed):
                    await client.get_message()

    (request,) = seen
    assert request.path == "/ws"
    assert request.query == {"token": "a b", "x": "1", "empty": "", "plus": "c d"}
    assert request.headers["authorization"] == "Bearer t0k"
    assert request.headers["origin"] == "https://App.example"
    assert request.headers["host"].startswith("127.0.0.1")
    assert request.subprotocols == ("tether.v1", "bearer.abc")
    assert request.remote.startswith("127.0.0.1:")


async def test_accept_without_subprotocol() -> None:
    with trio.fail_after(5):
        async with (
            serve(accept_then(echo)) as server,
            connect(server, subprotocols=["other"]) as client,
        ):
            assert client.subprotocol is None


async def test_reject_sends_status_and_plain_text_body() -> None:
    async def handle(pending: PendingHandshake) -> None:
        await pending.reject(401, "token expired")

    with trio.fail_after(5):
        async with serve(handle) as server:
            # The client's reader raises it, in the client's own nursery.
            with pytest.RaisesGroup(trio_websocket.ConnectionRejected) as caught:
                async with connect(server):
                    pass

    rejection = caught.value.exceptions[0]
    assert isinstance(rejection, trio_websocket.ConnectionRejected)
    assert rejection.status_code == 401
    assert rejection.body == b"token expired"
    assert (b"content-type", b"text/plain; charset=utf-8") in rejection.headers


async def test_text_echo_and_binary_arrives_as_bytes() -> None:
    with trio.fail_after(5):
        async with (
            serve(accept_then(echo)) as server,
            connect(server) as client,
        ):
            await client.send_message("héllo")
            assert await client.get_message() == "héllo"
            await client.send_message(b"\x00\xff")
            assert await client.get_message() == "bytes:00ff"


async def test_oversized_message_closes_with_1009() -> None:
    outcome: list[TransportClosed] = []

    async def receive_once(ws: WebSocket) -> None:
        with pytest.raises(TransportClosed) as caught:
            await ws.receive()
        outcome.append(caught.value)
        assert ws.closed
        assert ws.close_code == 1009

    with trio.fail_after(5):
        async with (
            serve(accept_then(receive_once), max_message_size=1024) as server,
            connect(server) as client,
        ):
            await client.send_message("x" * 2000)
            with pytest.raises(trio_websocket.ConnectionClosed) as client_side:
                await client.get_message()
            assert client_side.value.reason is not None
            assert client_side.value.reason.code == 1009

    assert outcome[0].code == 1009


async def test_peer_close_reports_the_peers_code() -> None:
    outcome: list[TransportClosed] = []
    done = trio.Event()

    async def receive_once(ws: WebSocket) -> None:
        with pytest.raises(TransportClosed) as caught:
            await ws.receive()
        outcome.append(caught.value)
        with pytest.raises(TransportClosed):
            await ws.send("too late")
        assert ws.close_code == 4321
        done.set()

    with trio.fail_after(5):
        async with serve(accept_then(receive_once)) as server:
            async with connect(server) as client:
                await client.aclose(4321, "bye")
            await done.wait()

    assert (outcome[0].code, outcome[0].reason) == (4321, "bye")


async def test_close_sends_our_code_and_is_idempotent() -> None:
    checked = trio.Event()

    async def handle(pending: PendingHandshake) -> None:
        ws = await pending.accept(None)
        with pytest.raises(ValueError, match="close code"):
            await ws.close(70000)
        assert not ws.closed
        await ws.close(4001, "slow consumer")
        await ws.close(1000)
        assert ws.closed
        assert ws.close_code == 4001
        with pytest.raises(TransportClosed) as caught:
            await ws.send("after close")
        assert (caught.value.code, caught.value.reason) == (4001, "slow consumer")
        with pytest.raises(TransportClosed):
            await ws.receive()
        with pytest.raises(TransportClosed):
            await ws.ping(b"p")
        with pytest.raises(TransportClosed):
            await ws.send_many(["a"])
        checked.set()

    with trio.fail_after(5):
        async with serve(handle) as server:
            async with connect(server) as client:
                with pytest.raises(trio_websocket.ConnectionClosed) as caught:
                    await client.get_message()
            await checked.wait()

    assert caught.value.reason is not None
    assert (caught.value.reason.code, caught.value.reason.reason) == (4001, "slow consumer")


async def test_ping_does_not_wait_and_pong_hook_reports_round_trip() -> None:
    round_trips: list[float] = []
    ponged = trio.Event()

    async def pinger(ws: WebSocket) -> None:
        nonlocal ponged

        def on_pong(rtt: float) -> None:
            round_trips.append(rtt)
            ponged.set()

        ws.on_pong = on_pong
        await ws.ping(b"beat-1")
        with pytest.raises(ValueError, match="in flight"):
            await ws.ping(b"beat-1")
        with pytest.raises(ValueError, match="125"):
            await ws.ping(b"x" * 126)
        await ponged.wait()
        ponged = trio.Event()
        await ws.ping(b"beat-1")  # answered, so the payload may be reused
        await ponged.wait()

    with trio.fail_after(5):
        async with serve(accept_then(pinger)) as server, connect(server) as client:
            with pytest.raises(trio_websocket.ConnectionClosed):
                await client.get_message()

    assert len(round_trips) == 2
    assert all(0 <= rtt < 5 for rtt in round_trips)


async def test_send_many_keeps_order() -> None:
    texts = [f"frame-{i}-" + "y" * (i * 37) for i in range(200)]

    async def burst(ws: WebSocket) -> None:
        await ws.send_many([])
        await ws.send_many(texts[:1])
        await ws.send_many(texts[1:])
        await ws.receive()  # wait for the client's go-ahead to close

    with trio.fail_after(5):
        async with (
            serve(accept_then(burst)) as server,
            connect(server, message_queue_size=len(texts)) as client,
        ):
            received = [await client.get_message() for _ in texts]
            await client.send_message("done")

    assert received == texts


async def test_garbage_fails_the_handshake_at_once() -> None:
    with trio.fail_after(2):
        async with serve(accept_then(echo), timeout=60) as server:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            await stream.send_all(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
            await server.failed.wait()
            response = await stream.receive_some()
            assert response.startswith(b"HTTP/1.1 400")
            await stream.aclose()

    assert "did not complete" in str(server.failures[0])


async def test_plain_http_request_fails_the_handshake() -> None:
    with trio.fail_after(2):
        async with serve(accept_then(echo), timeout=60) as server:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            await stream.send_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
            await server.failed.wait()
            response = await stream.receive_some()
            assert response.startswith(b"HTTP/1.1 400")
            await stream.aclose()


async def test_peer_that_hangs_up_fails_the_handshake() -> None:
    with trio.fail_after(2):
        async with serve(accept_then(echo), timeout=60) as server:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            await stream.send_all(b"GET /ws HTTP/1.1\r\n")
            await stream.aclose()
            await server.failed.wait()


async def test_accept_after_the_peer_left_fails() -> None:
    outcome: list[HandshakeFailed] = []
    done = trio.Event()

    async def handle(pending: PendingHandshake) -> None:
        await trio.testing.wait_all_tasks_blocked()  # the reader has seen the EOF
        with pytest.raises(HandshakeFailed) as caught:
            await pending.accept(None)
        outcome.append(caught.value)
        done.set()

    with trio.fail_after(2):
        async with serve(handle) as server:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            proto = WSConnection(ConnectionType.CLIENT)
            await stream.send_all(proto.send(Request(host="127.0.0.1", target="/ws")))
            await stream.aclose()
            await done.wait()

    assert "peer left" in str(outcome[0])


async def test_silent_peer_fails_the_handshake_after_the_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with serve(accept_then(echo), timeout=10) as server:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            started = trio.current_time()
            await server.failed.wait()
            elapsed = trio.current_time() - started
            assert await stream.receive_some() == b""  # the server hung up
            await stream.aclose()

    assert 10 <= elapsed < 11
    assert "timed out" in str(server.failures[0])


async def raw_client(port: int) -> tuple[trio.SocketStream, WSConnection]:
    """A wsproto client that does only what the test tells it to."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    proto = WSConnection(ConnectionType.CLIENT)
    await stream.send_all(proto.send(Request(host="127.0.0.1", target="/ws")))
    while True:
        proto.receive_data(await stream.receive_some())
        if any(isinstance(event, AcceptConnection) for event in proto.events()):
            return stream, proto


async def test_ping_racing_our_close_does_not_crash_the_connection() -> None:
    # wsproto refuses to answer a ping after we sent our close frame, and the
    # library's reader would raise that into the connection's nursery.
    closing = trio.Event()
    close_took: list[float] = []

    async def handle(pending: PendingHandshake) -> None:
        ws = await pending.accept(None)
        closing.set()
        started = trio.current_time()
        await ws.close(1001, "going away")
        close_took.append(trio.current_time() - started)
        assert ws.closed

    with trio.fail_after(5):
        async with serve(handle) as server:
            stream, proto = await raw_client(server.port)
            await closing.wait()
            await stream.send_all(proto.send(Ping(payload=b"late")))
            with trio.move_on_after(1):
                while data := await stream.receive_some():
                    proto.receive_data(data)
            events = list(proto.events())
            assert any(isinstance(e, CloseConnection) and e.code == 1001 for e in events)
            await stream.aclose()

    # The reader's end cut the wait for the close handshake short (the timeout is 2 s).
    assert close_took[0] < 1.5


async def test_close_is_bounded_when_the_peer_never_answers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    timings: list[float] = []

    async def handle(pending: PendingHandshake) -> None:
        ws = await pending.accept(None)
        started = trio.current_time()
        with trio.CancelScope() as scope:
            scope.cancel()  # close() is shielded: it still runs its course
            await ws.close(1000)
        timings.append(trio.current_time() - started)

    with trio.fail_after(30):
        async with serve(handle) as server:
            stream, _ = await raw_client(server.port)
            while await stream.receive_some():  # read the close frame, never answer it
                pass
            await stream.aclose()

    assert 2.0 <= timings[0] < 3.0


async def test_dead_tcp_peer_gives_transport_closed_without_code() -> None:
    outcome: list[TransportClosed] = []
    done = trio.Event()

    async def receive_once(ws: WebSocket) -> None:
        with pytest.raises(TransportClosed) as caught:
            await ws.receive()
        outcome.append(caught.value)
        assert ws.close_code is None
        done.set()

    with trio.fail_after(5):
        async with serve(accept_then(receive_once)) as server:
            stream, proto = await raw_client(server.port)
            frame = proto.send(TextMessage(data="never finished"))
            await stream.send_all(frame[:5])
            await stream.aclose()
            await done.wait()

    assert outcome[0].code is None


class BreakableStream(trio.abc.Stream):
    """A memory stream whose sending side can be broken while reads still block."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.broken = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self.broken:
            await trio.lowlevel.checkpoint()
            raise trio.BrokenResourceError("connection reset by peer")
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("operation", ["send", "send_many", "ping"])
async def test_broken_stream_while_sending_gives_transport_closed(operation: str) -> None:
    with trio.fail_after(2):
        client, server_side = trio.testing.memory_stream_pair()
        stream = BreakableStream(server_side)
        proto = WSConnection(ConnectionType.CLIENT)
        await client.send_all(proto.send(Request(host="example", target="/ws")))
        async with trio.open_nursery() as helpers:
            pending = await read_handshake(helpers, stream, max_message_size=1024, timeout=1)
            assert pending.request.remote.startswith("<")  # not a socket: repr()
            ws = await pending.accept(None)
            stream.broken = True
            with pytest.raises(TransportClosed) as caught:
                if operation == "send":
                    await ws.send("a")
                elif operation == "send_many":
                    await ws.send_many(["a", "b"])
                else:
                    await ws.ping(b"p")
            assert caught.value.code is None
            assert ws.closed
            with pytest.raises(TransportClosed):
                await ws.receive()
            await ws.close(1000)
        await client.aclose()


@asynccontextmanager
async def lockstep_connection() -> AsyncIterator[tuple[WebSocket, trio.abc.Stream, WSConnection]]:
    """An accepted WebSocket whose peer reads only when the test says so."""
    client, server_side = trio.testing.lockstep_stream_pair()
    proto = WSConnection(ConnectionType.CLIENT)

    async def client_handshake() -> None:
        await client.send_all(proto.send(Request(host="example", target="/ws")))
        proto.receive_data(bytes(await client.receive_some()))
        assert any(isinstance(event, AcceptConnection) for event in proto.events())

    async with trio.open_nursery() as helpers:
        async with trio.open_nursery() as handshake:
            handshake.start_soon(client_handshake)
            pending = await read_handshake(helpers, server_side, max_message_size=1024, timeout=1)
            ws = await pending.accept(None)
        yield ws, client, proto
        await ws.close(1000)
        await client.aclose()


async def read_until_eof(client: trio.abc.Stream, proto: WSConnection) -> list[object]:
    """Everything the server sends, answering its close frame like a polite client."""
    events: list[object] = []
    while data := await client.receive_some():
        proto.receive_data(bytes(data))
        for event in proto.events():
            events.append(event)
            if isinstance(event, CloseConnection):
                await client.send_all(proto.send(event.response()))
    return events


async def test_close_queues_behind_a_blocked_write() -> None:
    # A slow reader that catches up in time gets everything, then our code.
    texts = [f"message-{i}" for i in range(100)]
    with trio.fail_after(5):
        async with lockstep_connection() as (ws, client, proto), trio.open_nursery() as nursery:
            nursery.start_soon(ws.send_many, texts)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(ws.close, 4001, "slow consumer")
            await trio.testing.wait_all_tasks_blocked()
            events = await read_until_eof(client, proto)

    assert [e.data for e in events if isinstance(e, TextMessage)] == texts
    assert [(e.code, e.reason) for e in events if isinstance(e, CloseConnection)] == [
        (4001, "slow consumer")
    ]


async def test_cancelled_write_drops_the_connection_without_a_close_frame() -> None:
    # A close frame after a frame cut short would read as garbage (1007) to the peer.
    with trio.fail_after(5):
        async with lockstep_connection() as (ws, client, proto):
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(ws.send_many, ["x" * 100_000])
                    await trio.testing.wait_all_tasks_blocked()
                    scope.cancel()
            assert ws.closed
            with pytest.raises(TransportClosed) as caught:
                await ws.send("more")
            assert caught.value.code is None
            await ws.close(4001, "slow consumer")
            events = await read_until_eof(client, proto)

    assert not any(isinstance(event, CloseConnection) for event in events)
    assert ws.close_code is None
