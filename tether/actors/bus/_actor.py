"""Cross-node delivery through Redis: one pub/sub channel per topic, subscribed by a node
only while it has local subscribers of that topic (the manager counts them).

A publish is numbered and broadcast in one Lua call (INCR the topic's offset, PUBLISH
the payload), so every node formats the same message id `epoch-offset` under the
shared epoch kept in Redis. When Redis is unreachable the bus tells the manager to
deliver locally (under a local epoch: clients resuming with `since` are told the
stream was reset) and reconnects with exponential backoff and jitter; once back, it
resubscribes every topic of interest and tells the manager to route through it again.
"""

from __future__ import annotations

import random
import secrets
import time
from typing import Any

import attrs
import coredis
import orjson
import structlog
import trio
from coredis.retry import NoRetryPolicy

from tether.actors import Actor, ActorRef, handler
from tether.protocol import Priority, format_message_id

from ..manager._messages import TopicPublish
from ._messages import (
    BusState,
    BusStatistics,
    GetBusStatistics,
    Interest,
    Outgoing,
    RemoteDelivery,
)

log = structlog.get_logger("tether.bus")

# KEYS: offset key, channel. ARGV: payload. Returns the offset given to this message.
_PUBLISH = """
local offset = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', KEYS[2], offset .. '|' .. ARGV[1])
return offset
"""

_ERRORS = (
    coredis.exceptions.RedisError,
    OSError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
)


@attrs.define
class RedisBus(Actor):
    mailbox_size = 8192

    url: str
    manager: str = "manager"
    prefix: str = "tether"
    backoff_initial: float = 0.1
    backoff_cap: float = 5.0

    # Tells this node's own messages apart when pub/sub echoes them back.
    _node: str = attrs.field(factory=lambda: secrets.token_hex(6), init=False)
    _client: Any = attrs.field(default=None, init=False)
    _pubsub: Any = attrs.field(default=None, init=False)
    _epoch: str | None = attrs.field(default=None, init=False)
    _topics: set[str] = attrs.field(factory=set, init=False)
    _published: int = attrs.field(default=0, init=False)
    _received: int = attrs.field(default=0, init=False)
    _failures: int = attrs.field(default=0, init=False)
    _fallbacks: int = attrs.field(default=0, init=False)
    _receiving: trio.CancelScope | None = attrs.field(default=None, init=False)

    def _channel(self, topic: str) -> str:
        return f"{self.prefix}:topic:{topic}"

    def _offset_key(self, topic: str) -> str:
        return f"{self.prefix}:topic:{topic}:offset"

    @property
    def _manager(self) -> ActorRef:
        return self.lookup(self.manager)

    async def on_start(self) -> None:
        self.start_soon(self._stay_connected)

    # The connection, owned by one helper task (coredis: enter and exit in the same task).

    async def _stay_connected(self) -> None:
        attempt = 0
        while True:
            try:
                async with coredis.Redis.from_url(
                    self.url, decode_responses=True, retry_policy=NoRetryPolicy()
                ) as client:
                    epoch = secrets.token_hex(4)
                    await client.set(f"{self.prefix}:epoch", epoch, condition=coredis.PureToken.NX)
                    shared = await client.get(f"{self.prefix}:epoch")
                    async with client.pubsub(
                        ignore_subscribe_messages=True, retry_policy=NoRetryPolicy()
                    ) as pubsub:
                        await self._connected(client, pubsub, str(shared or epoch))
                        attempt = 0
                        await self._receive(pubsub)
            except Exception as exc:  # coredis wraps failures in groups: any of them means retry
                await self._disconnected(exc)
            attempt += 1
            ceiling = min(self.backoff_cap, self.backoff_initial * 2 ** (attempt - 1))
            await trio.sleep(random.uniform(0, ceiling))

    async def _connected(self, client: Any, pubsub: Any, epoch: str) -> None:
        if self._topics:
            await pubsub.subscribe(*(self._channel(topic) for topic in self._topics))
        self._client, self._pubsub, self._epoch = client, pubsub, epoch
        await self._manager.tell(BusState(epoch))
        log.info("bus connected", epoch=epoch, topics=len(self._topics))

    async def _disconnected(self, exc: BaseException) -> None:
        was_connected = self._client is not None
        self._client = self._pubsub = self._epoch = self._receiving = None
        self._failures += 1
        if was_connected or self._failures == 1:
            self._fallbacks += was_connected
            log.warning("bus cannot reach Redis: delivering locally", error=repr(exc))
            await self._manager.tell(BusState(None))

    async def _receive(self, pubsub: Any) -> None:
        manager = self._manager
        prefix = f"{self.prefix}:topic:"
        with trio.CancelScope() as self._receiving:
            async for message in pubsub:
                if message["type"] != "message":
                    continue
                offset, _, payload = message["data"].partition("|")
                body = orjson.loads(payload)
                if body.get("n") == self._node:
                    continue  # delivered here when it was published
                self._received += 1
                await manager.tell(
                    RemoteDelivery(
                        message["channel"][len(prefix) :],
                        int(offset),
                        Priority(body["p"]),
                        body["d"],
                        body["t"],
                    )
                )
        raise ConnectionError("Redis connection lost: reconnecting")

    def _lose_connection(self) -> None:
        """A command failed: make the connection task reconnect (and fall back meanwhile)."""
        if self._receiving is not None:
            self._receiving.cancel()

    # Messages from the manager --------------------------------------------------------

    @handler
    async def interest(self, message: Interest) -> None:
        if message.on:
            self._topics.add(message.topic)
        else:
            self._topics.discard(message.topic)
        if self._pubsub is None:
            return  # applied when the connection comes back
        try:
            if message.on:
                await self._pubsub.subscribe(self._channel(message.topic))
            else:
                await self._pubsub.unsubscribe(self._channel(message.topic))
        except _ERRORS as exc:
            log.warning("bus subscription failed", topic=message.topic, error=repr(exc))
            self._lose_connection()

    @handler
    async def outgoing(self, message: Outgoing) -> None:
        if self._client is not None:
            ts = time.time()
            payload = orjson.dumps(
                {"p": int(message.priority), "d": message.data, "t": ts, "n": self._node}
            ).decode()
            try:
                offset = await self._client.eval(
                    _PUBLISH,
                    [self._offset_key(message.topic), self._channel(message.topic)],
                    [payload],
                )
            except _ERRORS as exc:
                log.warning("bus publish failed: delivering locally", error=repr(exc))
                self._lose_connection()
            else:
                self._published += 1
                if message.publisher is not None and self._epoch is not None:
                    message_id = format_message_id(self._epoch, int(offset))
                    message.publisher.ack(message.ref, {"id": message_id})
                # This node's subscribers get it straight away, not through pub/sub: once
                # Redis numbered it, a connection lost in that instant cannot lose it here.
                await self._manager.tell(
                    RemoteDelivery(message.topic, int(offset), message.priority, message.data, ts)
                )
                return
        # No Redis: the manager delivers on this node alone.
        await self._manager.tell(
            TopicPublish(
                message.topic,
                message.data,
                message.priority,
                message.publisher,
                message.ref,
                local=True,
            )
        )

    @handler
    def statistics_request(self, message: GetBusStatistics) -> BusStatistics:
        return BusStatistics(
            connected=self._client is not None,
            epoch=self._epoch,
            topics=len(self._topics),
            published=self._published,
            received=self._received,
            failures=self._failures,
            fallbacks=self._fallbacks,
        )
