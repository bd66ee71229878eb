"""The connection manager: the single source of truth about who is connected.

It owns three maps — connection id → peer, user → connection ids, topic →
subscribers — and is the only code that changes them, so no race can leave a
stale entry. Every outbound path goes through it: a frame is encoded once and
pushed into each target's outbox, which never waits; a target whose outbox
overflows is closed (4001) without slowing the others.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter

import attrs
import structlog
import trio

from tether.actors import Actor, ActorRef, ActorStopped, MailboxFull, NoSuchActor, handler
from tether.protocol import CloseCode, ErrorCode, Priority, encode_message, format_message_id

from ..bus import BUS, BusState, Interest, Outgoing, RemoteDelivery
from ..connection._peer import Peer
from ._messages import (
    Admit,
    Barrier,
    BeginDrain,
    Broadcast,
    Disconnected,
    DrainReport,
    FlushHeld,
    GetStatistics,
    Kick,
    ManagerStatistics,
    Refused,
    SendToConnection,
    SendToUser,
    TopicPublish,
    TopicSubscribe,
    TopicUnsubscribe,
)
from ._ordering import OriginOrder
from ._policy import OpenPolicy, TopicPolicy
from ._topics import Topics

log = structlog.get_logger("tether.manager")


@attrs.define
class ConnectionManager(Actor):
    mailbox_size = 4096

    max_connections: int = 10_000
    max_connections_per_user: int = 10
    max_subscriptions: int = 100
    history_size: int = 100
    # A message that cannot fit in an empty outbox would close every subscriber (4001).
    max_message_bytes: int = 1_048_576
    policy: TopicPolicy = attrs.field(factory=OpenPolicy)
    epoch: str = attrs.field(factory=lambda: secrets.token_hex(4))

    _peers: dict[str, Peer] = attrs.field(factory=dict, init=False)
    _users: dict[str, set[str]] = attrs.field(factory=dict, init=False)
    _subscriptions: dict[str, set[str]] = attrs.field(factory=dict, init=False)
    _topics: Topics[Peer] = attrs.field(init=False)
    _admitting: bool = attrs.field(default=True, init=False)
    _connections_total: int = attrs.field(default=0, init=False)
    _published: int = attrs.field(default=0, init=False)
    _delivered: int = attrs.field(default=0, init=False)
    _refused: Counter[int] = attrs.field(factory=Counter, init=False)
    _closed: Counter[int] = attrs.field(factory=Counter, init=False)
    _order: OriginOrder[TopicPublish] = attrs.field(factory=OriginOrder, init=False)
    _bus: ActorRef | None = attrs.field(default=None, init=False)
    _bus_connected: bool = attrs.field(default=False, init=False)
    _drain_started: float | None = attrs.field(default=None, init=False)
    _drained: int = attrs.field(default=0, init=False)
    _flushed: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        self._topics = Topics(self.epoch, history_size=self.history_size)

    async def on_start(self) -> None:
        try:
            self._bus = self.lookup(BUS)
        except NoSuchActor:
            self._bus = None  # one node: every publish is delivered here
        self.start_soon(self._flush_timer)

    async def _flush_timer(self) -> None:
        while True:
            await trio.sleep(self._order.hold_seconds / 2)
            if len(self._order):
                await self.ref.tell(FlushHeld())

    @handler
    def flush_held(self, message: FlushHeld) -> None:
        for held in self._order.expire(trio.current_time()):
            self._publish(held)

    def _interest(self, topic: str, on: bool) -> None:
        if self._bus is None:
            return
        try:
            self._bus.try_tell(Interest(topic, on))
        except (MailboxFull, ActorStopped) as exc:
            log.warning("bus subscription not updated", topic=topic, error=repr(exc))

    @handler
    def bus_state(self, message: BusState) -> None:
        """The bus (dis)connected: either way the topic streams start again under a new
        epoch, so a client resuming with an old `since` learns of the gap."""
        self._bus_connected = message.epoch is not None
        self._topics.reset(message.epoch or secrets.token_hex(4))

    @handler
    def remote_delivery(self, message: RemoteDelivery) -> None:
        text = encode_message(
            message.topic,
            format_message_id(self._topics.epoch, message.offset),
            message.priority,
            message.data,
            message.ts,
        )
        self._topics.remember(message.topic, message.offset, text)
        delivered = 0
        for peer in self._topics.subscribers(message.topic):
            delivered += peer.send(text, message.priority)
        self._delivered += delivered

    # Connections ------------------------------------------------------------

    @handler
    def admit(self, message: Admit) -> str | None:
        peer = message.peer
        refusal = self._refusal(peer.user_id)
        if refusal is not None:
            self._refused[503] += 1
            return refusal
        self._peers[peer.id] = peer
        self._users.setdefault(peer.user_id, set()).add(peer.id)
        self._subscriptions[peer.id] = set()
        self._connections_total += 1
        return None

    def _refusal(self, user_id: str) -> str | None:
        if not self._admitting:
            return "server is draining"
        if len(self._peers) >= self.max_connections:
            return "server at capacity"
        if len(self._users.get(user_id, ())) >= self.max_connections_per_user:
            return "too many connections for this user"
        return None

    @handler
    def disconnected(self, message: Disconnected) -> None:
        peer = message.peer
        if self._peers.get(peer.id) is not peer:
            return
        del self._peers[peer.id]
        connections = self._users[peer.user_id]
        connections.discard(peer.id)
        if not connections:
            del self._users[peer.user_id]
        for topic in self._subscriptions.pop(peer.id):
            self._topics.unsubscribe(topic, peer.id)
            if not self._topics.subscriber_count(topic):
                self._interest(topic, False)
        if message.close_code is not None:
            self._closed[message.close_code] += 1
        if self._drain_started is not None:
            self._drained += message.close_code == CloseCode.GOING_AWAY
            self._flushed += message.flushed

    @handler
    def refused(self, message: Refused) -> None:
        self._refused[message.status] += 1

    @handler
    def begin_drain(self, message: BeginDrain) -> None:
        if self._drain_started is not None:
            return
        self._admitting = False
        self._drain_started = trio.current_time()
        for peer in self._peers.values():
            peer.draining = True
        log.info("draining: no new connections or work", connections=len(self._peers))

    @handler
    def barrier(self, message: Barrier) -> None:
        return None

    @handler
    def kick(self, message: Kick) -> bool:
        peer = self._peers.get(message.connection_id)
        if peer is None:
            return False
        peer.close(message.code, message.reason)
        return True

    # Topics -------------------------------------------------------------------

    @handler
    def subscribe(self, message: TopicSubscribe) -> None:
        peer, topic = message.peer, message.topic
        subscriptions = self._subscriptions.get(peer.id)
        if subscriptions is None:
            return  # the connection already left
        if not self.policy.may_subscribe(peer.user_id, topic):
            peer.error(ErrorCode.FORBIDDEN, f"not allowed to subscribe to {topic!r}", message.ref)
            return
        if topic not in subscriptions and len(subscriptions) >= self.max_subscriptions:
            peer.error(
                ErrorCode.FORBIDDEN,
                f"subscription limit reached ({self.max_subscriptions} topics)",
                message.ref,
            )
            return
        subscriptions.add(topic)
        if not self._topics.subscriber_count(topic):
            self._interest(topic, True)
        recovery = self._topics.subscribe(topic, peer.id, peer, message.since)
        if message.since is None:
            peer.ack(message.ref)
        else:
            peer.ack(message.ref, {"recovered": recovery.recovered})
            for text in recovery.backlog:
                peer.send(text, Priority.CRITICAL)

    @handler
    def unsubscribe(self, message: TopicUnsubscribe) -> None:
        peer = message.peer
        subscriptions = self._subscriptions.get(peer.id)
        if subscriptions is None:
            return
        subscriptions.discard(message.topic)
        if self._topics.unsubscribe(message.topic, peer.id) and not self._topics.subscriber_count(
            message.topic
        ):
            self._interest(message.topic, False)
        peer.ack(message.ref)

    @handler
    def publish(self, message: TopicPublish) -> str | None:
        if message.origin is None or message.seq is None:
            return self._publish(message)
        for ready in self._order.offer(message.origin, message.seq, message, trio.current_time()):
            self._publish(ready)
        return None

    def _publish(self, message: TopicPublish) -> str | None:
        publisher = message.publisher
        if publisher is not None and not self.policy.may_publish(publisher.user_id, message.topic):
            publisher.error(
                ErrorCode.FORBIDDEN, f"not allowed to publish to {message.topic!r}", message.ref
            )
            return None
        if self._bus is not None and self._bus_connected and not message.local:
            self._publish_everywhere(message)
            return None
        message_id, offset = self._topics.next_id(message.topic)
        try:
            text = encode_message(
                message.topic, message_id, message.priority, message.data, time.time()
            )
        except (TypeError, ValueError) as exc:
            if publisher is None:
                raise
            publisher.error(ErrorCode.INVALID_FRAME, f"data cannot be encoded: {exc}", message.ref)
            return None
        if len(text) > self.max_message_bytes:
            if publisher is None:
                raise ValueError(f"message of {len(text)} bytes exceeds {self.max_message_bytes}")
            publisher.error(
                ErrorCode.TOO_LARGE,
                f"the message would be larger than a connection's outbox "
                f"({self.max_message_bytes} bytes)",
                message.ref,
            )
            return None
        self._topics.remember(message.topic, offset, text)
        priority = message.priority
        delivered = 0
        for peer in self._topics.subscribers(message.topic):
            delivered += peer.send(text, priority)
        self._published += 1
        self._delivered += delivered
        if publisher is not None:
            publisher.ack(message.ref, {"id": message_id})
        return message_id

    def _publish_everywhere(self, message: TopicPublish) -> None:
        assert self._bus is not None
        try:
            self._bus.try_tell(
                Outgoing(
                    message.topic, message.data, message.priority, message.publisher, message.ref
                )
            )
        except (MailboxFull, ActorStopped):
            if message.publisher is not None:
                message.publisher.error(
                    ErrorCode.UNAVAILABLE, "the server is busy: retry later", message.ref
                )
        else:
            self._published += 1

    # Direct sends -------------------------------------------------------------

    @handler
    def send_to_connection(self, message: SendToConnection) -> bool:
        peer = self._peers.get(message.connection_id)
        return peer is not None and peer.send(message.text, message.priority)

    @handler
    def send_to_user(self, message: SendToUser) -> int:
        peers = [self._peers[cid] for cid in self._users.get(message.user_id, ())]
        return sum(peer.send(message.text, message.priority) for peer in peers)

    @handler
    def broadcast(self, message: Broadcast) -> int:
        return sum(peer.send(message.text, message.priority) for peer in list(self._peers.values()))

    @handler
    def statistics_request(self, message: GetStatistics) -> ManagerStatistics:
        return self.snapshot()

    def snapshot(self) -> ManagerStatistics:
        return ManagerStatistics(
            connections=len(self._peers),
            users=len(self._users),
            topics=self._topics.active_topics(),
            connections_total=self._connections_total,
            published=self._published,
            delivered=self._delivered,
            refused=dict(self._refused),
            closed=dict(self._closed),
            admitting=self._admitting,
            drain=DrainReport(self._drained, self._flushed, self._drain_started),
        )
