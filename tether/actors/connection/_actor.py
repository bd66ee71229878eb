"""One actor per WebSocket connection: handshake, a reader, a writer, an outbox.

The reader task never stops reading while the connection lives, whatever the
rest of the actor is doing, so pings are always answered and every frame
counts as a sign of life. It decodes each frame and dispatches it without
waiting on anyone: replies to this connection go straight into its outbox,
topic operations go to the connection manager, and other frame types to the
actor routed for them, each with `try_tell` (a full mailbox becomes an
`unavailable` error, never a stalled reader).

The writer task sleeps until the outbox holds something, then sends all of it
in one go, control frames first. A close request (from the peer handle:
slow consumer, kick, drain) wakes it; it flushes if asked to and closes the
socket with the requested code.
"""

from __future__ import annotations

import contextlib
import random
import time
from functools import partial

import attrs
import structlog
import trio

from tether.actors import (
    Actor,
    ActorError,
    ActorRef,
    ActorStopped,
    MailboxFull,
    StopKind,
    StopReason,
)
from tether.protocol import (
    AppFrame,
    CloseCode,
    ErrorCode,
    FrameId,
    Ping,
    Pong,
    ProtocolError,
    Publish,
    Shutdown,
    Subscribe,
    Unsubscribe,
    Welcome,
    decode,
    encode,
)

from ..heartbeat import Liveness, Unwatch, Watch
from ..listener._admission import AdmissionPolicy, Refused
from ..manager._messages import (
    Admit,
    Barrier,
    Disconnected,
    TopicPublish,
    TopicSubscribe,
    TopicUnsubscribe,
)
from ..manager._messages import Refused as RefusedHandshake
from ..manager._policy import TopicPolicy
from ..queue import PUBLISH_KIND, Enqueue, EnqueueAndNotify, Enqueued, RejectCode, Rejected
from ..routing import Durable, Inbound, Routes
from ._outbox import Outbox
from ._peer import Peer
from ._rate_limit import RateLimiter, RateVerdict
from ._settings import ConnectionSettings
from ._transport import (
    HandshakeFailed,
    PendingHandshake,
    TransportClosed,
    WebSocket,
    read_handshake,
)

log = structlog.get_logger("tether.connection")

# How long the connection waits for the manager to admit it, or to confirm a drain barrier.
MANAGER_TIMEOUT = 5.0
# What the writer hands the socket at a time: big enough to send a burst in few system
# calls, small enough that a critical frame overtakes the rest of a backlog.
WRITE_BATCH_BYTES = 64 * 1024


@attrs.define
class ConnectionActor(Actor):
    """Temporary child of the connections supervisor; takes no mailbox messages (others reach
    it through its `Peer`, the heartbeat through its `Liveness`)."""

    mailbox_size = 1

    connection_id: str
    stream: trio.abc.Stream
    settings: ConnectionSettings
    admission: AdmissionPolicy
    manager: ActorRef
    routes: Routes
    heartbeat: ActorRef | None = None
    # With a queue, publishes are enqueued (durably, with Redis) before they are acknowledged.
    queue: ActorRef | None = None
    policy: TopicPolicy | None = None
    peer: Peer | None = attrs.field(default=None, init=False)
    liveness: Liveness | None = attrs.field(default=None, init=False)
    _ws: WebSocket | None = attrs.field(default=None, init=False)
    _outbox: Outbox = attrs.field(init=False)
    _writer_done: trio.Event = attrs.field(factory=trio.Event, init=False)
    _peer_close_code: int | None = attrs.field(default=None, init=False)
    _connected_at: float = attrs.field(default=0.0, init=False)
    _ping_due: bool = attrs.field(default=False, init=False)
    _pings: int = attrs.field(default=0, init=False)
    _frames_sent: int = attrs.field(default=0, init=False)
    _frames_sent_at_stop: int | None = attrs.field(default=None, init=False)
    _publishes: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        self._outbox = Outbox(self.settings.max_outbox_bytes)

    async def on_start(self) -> None:
        self.start_soon(self._serve)

    async def _serve(self) -> None:
        try:
            ws = await self._handshake()
            if ws is None:
                return
            peer = self.peer
            assert peer is not None
            self._ws = ws
            now = self._connected_at = trio.current_time()
            self.liveness = Liveness(peer, now, self._request_ping)
            ws.on_pong = self._on_pong
            peer.send_control(
                encode(
                    Welcome(
                        connection_id=self.connection_id,
                        user_id=peer.user_id,
                        heartbeat_interval=self.settings.heartbeat_interval,
                        max_message_size=self.settings.max_message_size,
                        server=self.settings.server_name,
                    )
                )
            )
            self.start_soon(self._writer, ws, peer)
            if self.heartbeat is not None:
                await _tell_soon(self.heartbeat, Watch(self.connection_id, self.liveness))
            await self._reader(ws, peer, self.liveness)
        finally:
            self.stop()

    # Handshake --------------------------------------------------------------------

    async def _handshake(self) -> WebSocket | None:
        try:
            pending = await read_handshake(
                self.cell.nursery,
                self.stream,
                max_message_size=self.settings.max_message_size,
                timeout=self.settings.handshake_timeout,
                close_timeout=self.settings.close_timeout,
            )
        except HandshakeFailed as exc:
            log.info("handshake failed", connection_id=self.connection_id, why=str(exc))
            return None
        request = pending.request
        verdict = self.admission.check(request)
        if isinstance(verdict, Refused):
            await self._refuse(pending, verdict.status, verdict.reason)
            return None
        self.peer = Peer(
            self.connection_id,
            verdict.user_id,
            self._outbox,
            remote=request.remote,
            on_close=self._on_close_requested,
        )
        try:
            refusal = await self.manager.ask(Admit(self.peer), timeout=MANAGER_TIMEOUT)
        except ActorError as exc:
            log.warning("admission unavailable", connection_id=self.connection_id, error=repr(exc))
            refusal = "server unavailable"
        if refusal is not None:
            self.peer = None
            await self._refuse(pending, 503, refusal, counted=True)
            return None
        try:
            ws = await pending.accept(verdict.subprotocol)
        except HandshakeFailed as exc:
            log.info("handshake failed", connection_id=self.connection_id, why=str(exc))
            return None  # on_stop tells the manager that the admitted peer left
        log.info(
            "connected",
            connection_id=self.connection_id,
            user_id=verdict.user_id,
            authenticated=verdict.authenticated,
            remote=request.remote,
            subprotocol=verdict.subprotocol,
        )
        return ws

    async def _refuse(
        self, pending: PendingHandshake, status: int, reason: str, *, counted: bool = False
    ) -> None:
        log.info(
            "refused",
            connection_id=self.connection_id,
            status=status,
            reason=reason,
            remote=pending.request.remote,
            path=pending.request.path,
        )
        if not counted:
            try:
                self.manager.try_tell(RefusedHandshake(status))
            except (MailboxFull, ActorStopped):
                log.warning("refusal not counted: manager busy", status=status)
        await pending.reject(status, reason)

    # Reader -------------------------------------------------------------------------

    async def _reader(self, ws: WebSocket, peer: Peer, liveness: Liveness) -> None:
        limiter = RateLimiter(self.settings.rate_limit, self.settings.rate_burst)
        manager = self.manager
        routes = self.routes
        while True:
            try:
                raw = await ws.receive()
            except TransportClosed as closed:
                self._peer_close_code = closed.code
                return
            now = trio.current_time()
            liveness.last_seen = now
            verdict = limiter.check(now)
            if verdict is not RateVerdict.ALLOW:
                if verdict is RateVerdict.CLOSE:
                    peer.close(CloseCode.POLICY_VIOLATION, "rate limit exceeded")
                else:
                    peer.error(ErrorCode.RATE_LIMITED, "too many frames: slow down")
                continue
            if isinstance(raw, bytes):
                peer.error(
                    ErrorCode.UNSUPPORTED_FRAME, "binary frames are not supported: send JSON text"
                )
                continue
            frame = decode(raw)
            if peer.draining and not isinstance(frame, Ping | ProtocolError):
                peer.error(ErrorCode.UNAVAILABLE, "the server is shutting down", frame.id)
                continue
            try:
                match frame:
                    case Publish():
                        if self.queue is None:
                            manager.try_tell(
                                TopicPublish(
                                    frame.topic, frame.data, frame.priority, peer, frame.id
                                )
                            )
                        else:
                            self._enqueue_publish(self.queue, peer, frame, len(raw))
                    case AppFrame():
                        self._route(routes, peer, frame)
                    case Ping():
                        peer.send_control(encode(Pong(time.time(), frame.id)))
                    case Subscribe():
                        manager.try_tell(TopicSubscribe(peer, frame.topic, frame.since, frame.id))
                    case Unsubscribe():
                        manager.try_tell(TopicUnsubscribe(peer, frame.topic, frame.id))
                    case ProtocolError():
                        peer.send_control(encode(frame.as_frame()))
            except (MailboxFull, ActorStopped):
                # Only frames passed on to an actor get here, never a ProtocolError.
                ref = None if isinstance(frame, ProtocolError) else frame.id
                peer.error(ErrorCode.UNAVAILABLE, "the server is busy: retry later", ref)

    def _enqueue_publish(self, queue: ActorRef, peer: Peer, frame: Publish, size: int) -> None:
        """Hand the publish to the queue; the client's ack follows once it is enqueued.

        Refusals the manager would make at delivery are made here, before the ack: a
        publish that is acknowledged must be deliverable."""
        if self.policy is not None and not self.policy.may_publish(peer.user_id, frame.topic):
            peer.error(ErrorCode.FORBIDDEN, f"not allowed to publish to {frame.topic!r}", frame.id)
            return
        if size > self.settings.max_outbox_bytes:
            peer.error(
                ErrorCode.TOO_LARGE,
                f"the message would be larger than a connection's outbox "
                f"({self.settings.max_outbox_bytes} bytes)",
                frame.id,
            )
            return
        seq = self._publishes + 1
        payload = {
            "topic": frame.topic,
            "data": frame.data,
            "origin": self.connection_id,
            "seq": seq,
        }
        enqueue = Enqueue(PUBLISH_KIND, payload, frame.priority)
        queue.try_tell(EnqueueAndNotify(enqueue, partial(_answer_enqueued, peer, frame.id)))
        self._publishes = seq

    def _route(self, routes: Routes, peer: Peer, frame: AppFrame) -> None:
        target = routes.get(frame.type)
        if target is None:
            peer.error(ErrorCode.UNKNOWN_TYPE, f"no handler for type {frame.type!r}", frame.id)
        elif isinstance(target, ActorRef):
            target.try_tell(Inbound(peer, frame))
        elif isinstance(target, Durable):
            self._enqueue_frame(target, peer, frame)
        else:
            try:
                target(Inbound(peer, frame))
            except Exception:
                # A bug in a handler costs this frame, not the connection.
                log.exception("frame handler failed", type=frame.type, connection_id=peer.id)
                peer.error(ErrorCode.INTERNAL, "internal error", frame.id)

    def _enqueue_frame(self, route: Durable, peer: Peer, frame: AppFrame) -> None:
        if self.queue is None:
            peer.error(ErrorCode.UNAVAILABLE, "durable frames need the queue", frame.id)
            return
        payload = {
            "frame": frame.body,
            "connection_id": self.connection_id,
            "user_id": peer.user_id,
        }
        enqueue = Enqueue(route.kind, payload)
        self.queue.try_tell(EnqueueAndNotify(enqueue, partial(_answer_enqueued, peer, frame.id)))

    def _on_pong(self, rtt: float) -> None:
        if self.liveness is not None:
            self.liveness.pong(trio.current_time(), rtt)

    # Writer ---------------------------------------------------------------------------

    def _request_ping(self) -> None:
        self._ping_due = True
        self._outbox.wake()

    def _on_close_requested(self) -> None:
        peer, ws = self.peer, self._ws
        self._outbox.close()
        writer_running = ws is not None and not self._writer_done.is_set()
        if peer is not None and ws is not None and writer_running and not peer.flush_before_close:
            # Close from a task of its own: the close frame then waits behind a frame that
            # is half sent (cutting it would corrupt the stream), and close() drops the TCP
            # connection if that frame is never taken.
            self.start_soon(ws.close, peer.close_code or CloseCode.NORMAL, peer.close_reason)

    async def _writer(self, ws: WebSocket, peer: Peer) -> None:
        outbox = self._outbox
        liveness = self.liveness
        assert liveness is not None
        try:
            while True:
                await outbox.wait()
                if self._ping_due and peer.close_code is None:
                    self._ping_due = False
                    self._pings += 1
                    await ws.ping(self._pings.to_bytes(8, "big"))
                if peer.close_code is None or peer.flush_before_close:
                    texts = outbox.take(WRITE_BATCH_BYTES)
                    if texts:
                        liveness.send_started = trio.current_time()
                        await ws.send_many(texts)
                        liveness.send_started = None
                        self._frames_sent += len(texts)
                if peer.close_code is not None and (not peer.flush_before_close or not len(outbox)):
                    await ws.close(peer.close_code, peer.close_reason)
                    return
        except TransportClosed:
            return
        finally:
            self._writer_done.set()

    # Stop -------------------------------------------------------------------------------

    async def on_stop(self, reason: StopReason) -> None:
        peer, ws = self.peer, self._ws
        self._frames_sent_at_stop = self._frames_sent
        if ws is None:
            await trio.aclose_forcefully(self.stream)
        elif reason.kind is StopKind.SHUTDOWN and peer is not None and not peer.closing:
            await self._drain(peer)
        elif reason.abnormal and peer is not None:
            peer.close(CloseCode.INTERNAL_ERROR, "internal error", flush=False)
        if ws is not None:
            # Idempotent: releases the socket even when the peer or the library closed it.
            code = peer.close_code if peer is not None and peer.close_code else CloseCode.NORMAL
            await ws.close(code, peer.close_reason if peer is not None else "")
        if peer is not None:
            await self._leave(peer, reason)

    async def _drain(self, peer: Peer) -> None:
        """Shutdown frame, then everything acknowledged to anyone, then close 1001."""
        spread = self.settings.reconnect_spread_ms
        peer.draining = True
        peer.send_control(
            encode(Shutdown("server shutting down", random.randint(spread // 5, spread)))
        )
        try:
            # Every publish the manager acknowledged before it is in our outbox once this
            # returns; no later one can be acknowledged, every connection is draining.
            await self.manager.ask(Barrier(), timeout=MANAGER_TIMEOUT)
        except ActorError as exc:
            log.warning("drain barrier failed", connection_id=self.connection_id, error=repr(exc))
        peer.close(CloseCode.GOING_AWAY, "server going away")
        await self._writer_done.wait()

    async def _leave(self, peer: Peer, reason: StopReason) -> None:
        code = peer.close_code if peer.close_code is not None else self._peer_close_code
        flushed = self._frames_sent - (self._frames_sent_at_stop or self._frames_sent)
        # The entries must not outlive the connection.
        if self.heartbeat is not None:
            await _tell_soon(self.heartbeat, Unwatch(self.connection_id))
        await _tell_soon(self.manager, Disconnected(peer, code, flushed))
        if self._ws is None:
            return
        log.info(
            "disconnected",
            connection_id=self.connection_id,
            user_id=peer.user_id,
            code=int(code) if code is not None else None,
            by="server" if peer.close_code is not None else "client",
            reason=peer.close_reason or reason.kind.value,
            seconds=round(trio.current_time() - self._connected_at, 3),
        )


def _answer_enqueued(peer: Peer, ref: FrameId | None, outcome: Enqueued | Rejected) -> None:
    """Answer a frame that was enqueued (a publish, or a durable frame)."""
    if isinstance(outcome, Enqueued):
        peer.ack(ref, {"id": outcome.id})
    elif outcome.code is RejectCode.FULL:
        peer.error(ErrorCode.UNAVAILABLE, "the queue is full: retry later", ref)
    else:
        peer.error(ErrorCode.INTERNAL, f"the publish was not accepted: {outcome.reason}", ref)


async def _tell_soon(target: ActorRef, message: object) -> None:
    """Deliver now if there is room, else wait for room briefly; a stopped target needs
    nothing from us any more."""
    try:
        target.try_tell(message)
    except MailboxFull:
        with trio.move_on_after(1.0), contextlib.suppress(ActorStopped):
            await target.tell(message)
    except ActorStopped:
        pass
