"""The WebSocket transport: the only module that imports trio-websocket (and wsproto).

Theory of operation
-------------------
The rest of the service speaks to four small things: `read_handshake` turns a
fresh socket into a `PendingHandshake` (a parsed `HandshakeRequest` the
listener can judge), which is either rejected with an HTTP status or accepted
into a `WebSocket` with `receive`, `send`, `send_many`, `ping` and `close`.
Library errors come out as `HandshakeFailed` before the upgrade and as
`TransportClosed` after it, never as trio-websocket's own types.

trio-websocket reads the socket in a background "reader" task, which we run in
the nursery the caller hands us (the connection actor's helper nursery). We
build the library's `WebSocketConnection` ourselves, exactly as its own
`WebSocketServer._handle_connection` does, instead of calling
`wrap_server_stream`, so that we can wrap the reader task in `_run_reader`:

* The reader can die of exceptions the library does not catch, and a peer can
  provoke them: a ping or a malformed frame arriving after we sent our close
  frame makes wsproto refuse the automatic reply (`LocalProtocolError`), and a
  `Host` header that is not valid IDNA raises `UnicodeError`. Unwrapped, that
  would crash the caller's nursery; wrapped, it is logged and the socket is
  treated as dead (`TransportClosed` with code None).
* When the reader stops before the request is parsed (EOF, garbage that the
  library answers with 400 and then hangs up), `_get_request()` would wait
  forever. The wrapper cancels that wait, so garbage fails at once instead of
  at the timeout. It also cuts short a `close` waiting for a peer that is gone.

The library's reader stops reading while its message queue is full, and then
pongs are not processed either. We give it a queue of `message_queue_size`
(16 by default) and rely on the connection actor draining `receive()`
continuously into its own bounded structures, so the reader never stalls.

Pings: see `WebSocket.ping`. We register a tiny stand-in for the event that
the library's own `ping()` would wait on, so a pong costs no task and no wait.

Sending: `send_many` frames a whole batch and writes it with one `send_all`
under the library's stream lock, as the library's `_send` does for one frame;
`send` and `ping` take the same path, so a write cancelled part way is always
noticed (see `WebSocket.close`).
On 127.0.0.1 that cut the server's CPU per message from about 32 µs (a loop of
`send`, the same as the library's `send_message`) to 5.5 µs for batches of 10
and 2.7 µs for batches of 100.

Closing: the library closes with 1009 by itself on an oversized message, and
then stops reading without releasing the socket; it also never releases it when
the TCP connection dies. `WebSocket.close` always does, so call it once the
connection is over, whatever ended it.

The code relies on these trio-websocket 0.12 internals, each used the same way
by the library's own server, `ping()` or `_send`: `WebSocketConnection(...)`,
`_reader_task`, `_get_request`, `_pings`, `_wsproto`, `_stream_lock`,
`_abort_web_socket`, `WebSocketRequest._event`. The tests exercise every one of
them; re-run them when the library's version changes.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Final, cast

import attrs
import structlog
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest
from wsproto import ConnectionType, WSConnection
from wsproto.events import Ping, TextMessage
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

log = structlog.get_logger("tether.transport")

DEFAULT_MESSAGE_QUEUE_SIZE: Final = 16
DEFAULT_RECEIVE_BUFFER_SIZE: Final = 4096
DEFAULT_CLOSE_TIMEOUT: Final = 2.0
# After a reject, how long we let the client read the response and hang up
# before we close: closing first can reset the connection and lose the body.
REJECT_LINGER: Final = 1.0
# A peer that never answers must not grow the library's ping table forever.
MAX_PINGS_IN_FLIGHT: Final = 16
MAX_PING_PAYLOAD: Final = 125  # RFC 6455 §5.5: control frames carry 125 bytes at most
# trio-websocket records 1006 for "no close frame" (TCP died, reader failed);
# it can never arrive on the wire.
_ABNORMAL_CLOSURE: Final = 1006

_CLOSED_ERRORS: Final = (
    ConnectionClosed,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    LocalProtocolError,
    OSError,
)


@attrs.frozen
class HandshakeRequest:
    """What the client asked for in its HTTP upgrade request."""

    path: str  # the request target up to "?", not percent-decoded
    query: Mapping[str, str]  # first value of each parameter, URL-decoded
    headers: Mapping[str, str]  # lower-cased names; repeated headers joined with ", "
    subprotocols: tuple[str, ...]  # as offered, in order
    remote: str  # "host:port" of the peer, for logs


class HandshakeFailed(Exception):
    """The peer did not complete a valid upgrade request in time, or went away."""


class TransportClosed(Exception):
    """The WebSocket is closed; raised by receive, send, send_many and ping.

    `code` is the close code that ended the connection: the peer's, the one the
    library sent by itself (1009 for an oversized message), or ours when we
    closed first. It is None when the connection ended without a close frame.
    """

    def __init__(self, code: int | None, reason: str | None) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"websocket closed (code={self.code}, reason={self.reason!r})"


class _Link:
    """State shared by the reader wrapper, the handshake and the open socket."""

    __slots__ = ("conn", "reader_done", "remote", "stream", "wait_scope")

    def __init__(self, conn: WebSocketConnection, stream: trio.abc.Stream, remote: str) -> None:
        self.conn = conn
        self.stream = stream
        self.remote = remote
        self.reader_done = False
        # A wait that must end when the reader stops (the handshake, the close).
        self.wait_scope: trio.CancelScope | None = None


async def _run_reader(link: _Link) -> None:
    try:
        await link.conn._reader_task()
    except (LocalProtocolError, RemoteProtocolError, UnicodeError) as exc:
        # Provoked by the peer (see the module docstring): not our bug.
        log.debug("transport.reader_stopped", remote=link.remote, error=repr(exc))
        await trio.aclose_forcefully(link.stream)
    except Exception as exc:
        log.warning("transport.reader_failed", remote=link.remote, error=repr(exc))
        await trio.aclose_forcefully(link.stream)
    finally:
        link.reader_done = True
        if link.wait_scope is not None:
            link.wait_scope.cancel()


def _release_handshake(conn: WebSocketConnection) -> None:
    """Drop the HTTP parser that did the upgrade (about 2 KB per connection at 10,000 idle
    connections). Once the WebSocket is open wsproto feeds every byte to the connection
    object and never to the handshake again, whose `events()` only drains its own queue."""
    handshake = conn._wsproto.handshake
    handshake._h11_connection = None  # type: ignore[assignment]
    handshake._initiating_request = None


def _peer_name(stream: trio.abc.Stream) -> str:
    inner = stream.transport_stream if isinstance(stream, trio.SSLStream) else stream
    if not isinstance(inner, trio.SocketStream):
        return repr(stream)
    try:
        host, port, *_ = inner.socket.getpeername()
    except OSError:
        return "unknown"
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def _parse_request(request: WebSocketRequest, remote: str) -> HandshakeRequest:
    path, _, query_string = request.path.partition("?")
    query: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(query_string, keep_blank_values=True):
        query.setdefault(name, value)
    # wsproto takes Host out of the header list; it is worth having for logs.
    headers: dict[str, str] = {"host": request._event.host}
    for raw_name, raw_value in request.headers:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return HandshakeRequest(
        path=path,
        query=query,
        headers=headers,
        subprotocols=request.proposed_subprotocols,
        remote=remote,
    )


async def read_handshake(
    nursery: trio.Nursery,
    stream: trio.abc.Stream,
    *,
    max_message_size: int,
    timeout: float,
    message_queue_size: int = DEFAULT_MESSAGE_QUEUE_SIZE,
    receive_buffer_size: int = DEFAULT_RECEIVE_BUFFER_SIZE,
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
) -> PendingHandshake:
    """Read the client's HTTP upgrade request from `stream`.

    The library's reader task runs in `nursery` for the life of the connection.
    `timeout` bounds the request, and later each of `accept` and `reject`.

    Raises HandshakeFailed, having closed the stream, when the peer does not send
    a valid upgrade request within `timeout`, sends garbage, or hangs up. If
    cancelled, the stream is closed and the cancellation propagates.
    """
    remote = _peer_name(stream)
    conn = WebSocketConnection(
        stream,
        WSConnection(ConnectionType.SERVER),
        message_queue_size=message_queue_size,
        max_message_size=max_message_size,
        receive_buffer_size=receive_buffer_size,
    )
    link = _Link(conn, stream, remote)
    nursery.start_soon(_run_reader, link)
    request: WebSocketRequest | None = None
    try:
        with trio.move_on_after(timeout) as scope:
            link.wait_scope = scope
            request = await conn._get_request()
    finally:
        link.wait_scope = None
        if request is None:
            await trio.aclose_forcefully(stream)
    if request is None:
        why = "did not complete the handshake" if link.reader_done else "handshake timed out"
        raise HandshakeFailed(f"{remote}: {why}")
    return PendingHandshake(link, request, _parse_request(request, remote), timeout, close_timeout)


class PendingHandshake:
    """A parsed upgrade request waiting for a verdict: call `accept` or `reject` once."""

    __slots__ = ("_close_timeout", "_link", "_request", "_timeout", "request")

    def __init__(
        self,
        link: _Link,
        request: WebSocketRequest,
        parsed: HandshakeRequest,
        timeout: float,
        close_timeout: float,
    ) -> None:
        self._link = link
        self._request = request
        self._timeout = timeout
        self._close_timeout = close_timeout
        self.request = parsed

    async def accept(self, subprotocol: str | None) -> WebSocket:
        """Complete the upgrade, selecting `subprotocol` (None for none).

        Raises HandshakeFailed, having closed the stream, if the peer is gone or
        does not take the response within the handshake timeout.
        """
        link = self._link
        accepted = False
        try:
            if link.reader_done:
                raise HandshakeFailed(f"{link.remote}: peer left before the accept")
            with trio.move_on_after(self._timeout):
                await self._request.accept(subprotocol=subprotocol)
                accepted = True
        except _CLOSED_ERRORS as exc:
            raise HandshakeFailed(f"{link.remote}: peer left during the accept") from exc
        finally:
            if not accepted:
                await trio.aclose_forcefully(link.stream)
        if not accepted:
            raise HandshakeFailed(f"{link.remote}: the accept timed out")
        _release_handshake(link.conn)
        return WebSocket(link, subprotocol, self._close_timeout)

    async def reject(self, status: int, body: str) -> None:
        """Refuse the upgrade with an HTTP `status` and a short plain-text `body`.

        Never raises (a peer that is gone needs no answer) and always closes the
        stream, after letting the client read the response and hang up first
        (at most REJECT_LINGER); bounded by the handshake timeout.
        """
        payload = body.encode("utf-8")
        headers = [(b"Content-Type", b"text/plain; charset=utf-8")]
        try:
            with trio.move_on_after(self._timeout):
                await self._request.reject(status, extra_headers=headers, body=payload)
                with trio.move_on_after(REJECT_LINGER) as linger:
                    # The reader stops when the client hangs up after reading.
                    self._link.wait_scope = linger
                    if not self._link.reader_done:
                        await trio.sleep_forever()
        except _CLOSED_ERRORS as exc:
            log.debug("transport.reject_failed", remote=self._link.remote, error=repr(exc))
        finally:
            self._link.wait_scope = None
            await trio.aclose_forcefully(self._link.stream)


class _PongWaiter:
    """Stands in for the `trio.Event` that trio-websocket's `ping()` waits on.

    The library's pong handler looks the pong's payload up in `_pings` and calls
    `.set()` on that entry and on every older one (a peer may answer several
    pings with one pong). `set` reports the round trip instead of waking a task.
    """

    __slots__ = ("_sent_at", "_socket")

    def __init__(self, socket: WebSocket, sent_at: float) -> None:
        self._socket = socket
        self._sent_at = sent_at

    def set(self) -> None:
        hook = self._socket.on_pong
        if hook is not None:
            hook(trio.current_time() - self._sent_at)


class WebSocket:
    """An open WebSocket. One task may receive while others send and close."""

    __slots__ = (
        "_close_started",
        "_close_timeout",
        "_link",
        "_local_close_code",
        "_local_close_reason",
        "_torn",
        "on_pong",
        "subprotocol",
    )

    def __init__(self, link: _Link, subprotocol: str | None, close_timeout: float) -> None:
        self._link = link
        self._close_timeout = close_timeout
        self._close_started = False
        self._local_close_code: int | None = None
        self._local_close_reason: str | None = None
        self._torn = False
        self.subprotocol = subprotocol
        # Called from the library's reader task with the round trip in seconds
        # (trio clock) whenever a pong answers one of our pings. Keep it cheap;
        # an exception from it stops the reader and the socket counts as dead.
        self.on_pong: Callable[[float], None] | None = None

    @property
    def remote(self) -> str:
        return self._link.remote

    @property
    def closed(self) -> bool:
        link = self._link
        return self._close_started or self._torn or link.conn.closed is not None or link.reader_done

    @property
    def close_code(self) -> int | None:
        """The code that ended the connection (see TransportClosed), None while open."""
        if self._local_close_code is not None:
            return self._local_close_code
        reason = self._link.conn.closed
        if reason is None or reason.code == _ABNORMAL_CLOSURE:
            return None
        return reason.code

    def _closed_error(self) -> TransportClosed:
        reason = self._link.conn.closed
        if self._local_close_code is not None:
            return TransportClosed(self._local_close_code, self._local_close_reason)
        if reason is None and self._torn:
            return TransportClosed(None, "a send was interrupted")
        return TransportClosed(self.close_code, reason.reason if reason is not None else None)

    async def receive(self) -> str | bytes:
        """The next message: str for a text frame, bytes for a binary one.

        Messages that arrived before the peer's close frame are still returned.
        Raises TransportClosed once the connection is closed.
        """
        try:
            return await self._link.conn.get_message()
        except ConnectionClosed:
            raise self._closed_error() from None

    def _check_open(self) -> None:
        if self._close_started or self._torn or self._link.conn.closed is not None:
            raise self._closed_error()

    async def _write(self, data: bytes) -> None:
        """Write framed bytes under the library's lock, as its own `_send` does."""
        conn = self._link.conn
        async with conn._stream_lock:
            try:
                await self._link.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                await conn._abort_web_socket()
                raise self._closed_error() from None
            except BaseException:
                # Cancelled part way: the peer may have half a frame. Anything we
                # wrote after it, a close frame included, would read as garbage.
                self._torn = True
                raise

    async def send(self, text: str) -> None:
        """Send one text message. Raises TransportClosed if the socket is closed."""
        await self.send_many((text,))

    async def send_many(self, texts: Sequence[str]) -> None:
        """Send text messages in order, framed together into one socket write.

        Equivalent to `send` in a loop, without a lock round and a system call
        per message. Raises TransportClosed if the socket is closed; then none
        or some leading part of `texts` reached the wire. If cancelled part way
        through the write, the socket counts as closed (see `close`).
        """
        if not texts:
            return
        self._check_open()
        # Framing is synchronous, so no close can slip in between the messages.
        wsproto = self._link.conn._wsproto
        try:
            data = b"".join([wsproto.send(TextMessage(data=text)) for text in texts])
        except LocalProtocolError:
            raise self._closed_error() from None
        await self._write(data)

    async def ping(self, payload: bytes) -> None:
        """Send a ping and return without waiting for the pong; see `on_pong`.

        Why not the library's `ping()`: it waits for the pong with no timeout,
        so each heartbeat would need a task per connection, a deadline, and a
        cleanup of the entry the cancelled wait leaves behind. Registering a
        `_PongWaiter` costs one small object per ping in flight, no task, and
        the pong is reported from the reader task the moment it is parsed.

        `payload` must be at most 125 bytes and differ from every ping still in
        flight (ValueError); the oldest unanswered pings are forgotten beyond
        MAX_PINGS_IN_FLIGHT. Raises TransportClosed if the socket is closed.
        """
        if len(payload) > MAX_PING_PAYLOAD:
            raise ValueError(f"a ping payload is at most {MAX_PING_PAYLOAD} bytes")
        self._check_open()
        conn = self._link.conn
        pings = conn._pings
        if payload in pings:
            raise ValueError(f"a ping with payload {payload!r} is already in flight")
        while len(pings) >= MAX_PINGS_IN_FLIGHT:
            pings.popitem(last=False)
        try:
            data = conn._wsproto.send(Ping(payload=payload))
        except LocalProtocolError:
            raise self._closed_error() from None
        # The library only ever calls `.set()` on these entries.
        pings[payload] = cast(trio.Event, _PongWaiter(self, trio.current_time()))
        try:
            await self._write(data)
        except BaseException:
            pings.pop(payload, None)
            raise

    async def close(self, code: int, reason: str = "") -> None:
        """Close with `code`, wait for the peer's close frame, close the socket.

        The close frame queues behind a write in progress in another task, so a
        slow reader that catches up within the close timeout still gets all of
        it, then `code`; cancelling that write instead cuts a frame, and then
        the TCP connection is dropped without a close frame.

        Idempotent (a second call returns at once, even while the first is still
        closing), shielded from cancellation and bounded by the close timeout.
        A socket already closed by the peer is just released. Raises nothing but
        ValueError, before doing anything, for a code outside 1000-4999 (a bug).
        """
        if not 1000 <= code <= 4999:
            raise ValueError(f"not a WebSocket close code: {code}")
        if self._close_started:
            return
        self._close_started = True
        link = self._link
        handshake = not (link.reader_done or self._torn)
        if link.conn.closed is None and handshake:
            self._local_close_code = code
            self._local_close_reason = reason or None
        with trio.CancelScope(shield=True) as scope:
            scope.deadline = trio.current_time() + self._close_timeout
            link.wait_scope = scope
            try:
                if handshake:
                    await link.conn.aclose(code, reason or None)
            except _CLOSED_ERRORS as exc:
                log.debug("transport.close_failed", remote=link.remote, error=repr(exc))
            finally:
                link.wait_scope = None
                await trio.aclose_forcefully(link.stream)
