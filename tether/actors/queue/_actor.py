"""The queue actor: owns the backend, hands leases to idle workers, keeps time.

Handlers only change the store and wake the pump; the pump (one helper task)
alone promotes due retries, settles expired leases and fills the slots of idle
workers, then sleeps until the next deadline or the next wake-up. So delivery
is serialised, and nothing polls.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import attrs
import orjson
import structlog
import trio

from tether.actors import Actor, StopReason, handler
from tether.protocol import Priority

from ._backend import Backend, BackendUnavailable, OpenBackend
from ._config import Handlers, QueueConfig
from ._core import Lease, QueueItem
from ._messages import (
    Ack,
    DeliverySlot,
    Enqueue,
    EnqueueAndNotify,
    EnqueueBatch,
    Enqueued,
    GetQueueStatistics,
    ListDead,
    Nack,
    PurgeDead,
    QueueStatistics,
    RejectCode,
    Rejected,
    Renew,
    ReplayDead,
    Reserve,
)

log = structlog.get_logger("tether.queue")

# After a failed store operation the pump waits this long before trying again.
OUTAGE_RETRY_SECONDS = 1.0


@attrs.define
class QueueActor(Actor):
    mailbox_size = 1024

    config: QueueConfig
    handler_table: Handlers
    open_backend: OpenBackend
    # Idle workers' slots; owned by the supervisor so that they outlive a restart of this
    # actor (the workers that left them are still waiting).
    _slots: deque[DeliverySlot] = attrs.field(factory=deque)
    _backend: Backend | None = attrs.field(default=None, init=False)
    _acks: list[str] = attrs.field(factory=list, init=False)
    _wake: trio.Event = attrs.field(factory=trio.Event, init=False)
    # When the pump next asks the store to promote due retries and report expired leases.
    _next_tick: float = attrs.field(default=-math.inf, init=False)
    _rng: random.Random = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.config.seed)

    @property
    def backend(self) -> Backend:
        assert self._backend is not None, "the backend is open while the actor runs"
        return self._backend

    async def on_start(self) -> None:
        self._backend = await self.start(self._hold_backend)
        self.start_soon(self._pump)

    async def on_stop(self, reason: StopReason) -> None:
        if self._backend is not None and not reason.abnormal:
            # Acks that arrived since the last pass; lost ones would mean redeliveries.
            await self._flush_acks()

    async def _hold_backend(self, task_status: trio.TaskStatus[Backend]) -> None:
        # Entered and left in this one task: coredis requires it.
        async with self.open_backend(self._changed) as backend:
            task_status.started(backend)
            await trio.sleep_forever()

    def _kick(self) -> None:
        self._wake.set()

    # Producers ------------------------------------------------------------------

    @handler
    async def enqueue(self, message: Enqueue) -> Enqueued | Rejected:
        [reply] = await self._enqueue([message])
        return reply

    @handler
    async def enqueue_and_notify(self, message: EnqueueAndNotify) -> None:
        [reply] = await self._enqueue([message.enqueue])
        message.notify(reply)

    @handler
    async def enqueue_batch(self, message: EnqueueBatch) -> tuple[Enqueued | Rejected, ...]:
        return tuple(await self._enqueue(message.items))

    def _item(self, message: Enqueue, now: float) -> QueueItem | Rejected:
        if message.kind not in self.handler_table:
            return Rejected(RejectCode.UNKNOWN_KIND, f"no handler for kind {message.kind!r}")
        try:
            # A deep copy in JSON's own terms, so both backends hand out the same payload.
            payload = orjson.loads(orjson.dumps(message.payload))
        except TypeError as exc:
            return Rejected(RejectCode.INVALID_PAYLOAD, f"payload is not JSON: {exc}")
        if not isinstance(payload, dict):
            return Rejected(RejectCode.INVALID_PAYLOAD, "payload must be a JSON object")
        try:
            priority = Priority(message.priority)
        except ValueError:
            return Rejected(RejectCode.INVALID_PRIORITY, f"no priority {message.priority!r}")
        return QueueItem(uuid.uuid4().hex, message.kind, payload, priority, 1, now)

    async def _enqueue(self, messages: Sequence[Enqueue]) -> list[Enqueued | Rejected]:
        now = self.config.clock()
        checked = [self._item(message, now) for message in messages]
        items = [item for item in checked if isinstance(item, QueueItem)]
        refused = Rejected(RejectCode.FULL, f"queue full ({self.config.capacity} items)")
        try:
            taken = await self.backend.enqueue(items)
        except BackendUnavailable as exc:
            taken, refused = 0, Rejected(RejectCode.UNAVAILABLE, str(exc))
        if taken:
            self._kick()
        accepted = {item.id for item in items[:taken]}
        replies: list[Enqueued | Rejected] = []
        for item in checked:
            if isinstance(item, Rejected):
                replies.append(item)
            else:
                replies.append(Enqueued(item.id) if item.id in accepted else refused)
        return replies

    # Workers ---------------------------------------------------------------------

    @handler
    def reserve(self, message: Reserve) -> None:
        self._slots.append(message.slot)
        self._kick()

    @handler
    def ack(self, message: Ack) -> None:
        # Written by the pump, many at a time: one round trip for all the acks of a pass.
        self._acks.append(message.token)
        self._kick()

    @handler
    async def nack(self, message: Nack) -> None:
        try:
            await self._fail(message.token, message.item, message.error)
        except BackendUnavailable as exc:
            log.warning("nack not recorded; the lease will expire", error=str(exc))
        self._kick()

    @handler
    async def renew(self, message: Renew) -> None:
        try:
            await self.backend.renew(message.token, self.config.clock() + self.config.lease_seconds)
        except BackendUnavailable as exc:
            log.warning("lease not renewed", error=str(exc))

    async def _fail(self, token: str, item: QueueItem, error: str) -> None:
        policy = self.handler_table.policy(item.kind)
        retry_at = policy.retry_at(item, self.config.clock(), self._rng)
        if not await self.backend.nack(token, error, retry_at):
            log.info("stale nack refused", item=item.id, token=token)
        elif retry_at is not None:
            self._tick_by(retry_at)
        else:
            log.warning(
                "dead letter", item=item.id, kind=item.kind, attempt=item.attempt, error=error
            )

    # Operators -------------------------------------------------------------------

    @handler
    async def statistics(self, message: GetQueueStatistics) -> QueueStatistics:
        counts = await self.backend.counts()
        return QueueStatistics(
            backend=self.backend.name,
            ready=counts.ready,
            in_progress=counts.in_progress,
            delayed=counts.delayed,
            dead=counts.dead,
            enqueued=counts.enqueued,
            acked=counts.acked,
            retried=counts.retried,
            dead_lettered=counts.dead_lettered,
            waiting_workers=sum(1 for slot in self._slots if slot.wanted),
            fallback_active=self.backend.fallback_active,
        )

    @handler
    async def list_dead(self, message: ListDead) -> tuple[QueueItem, ...]:
        return tuple(await self.backend.dead_letters(message.limit))

    @handler
    async def replay_dead(self, message: ReplayDead) -> tuple[str, ...]:
        replayed = await self.backend.replay(message.ids)
        self._kick()
        return tuple(replayed)

    @handler
    async def purge_dead(self, message: PurgeDead) -> tuple[str, ...]:
        return tuple(await self.backend.purge(message.ids))

    # The pump --------------------------------------------------------------------

    async def _pump(self) -> None:
        while True:
            # A fresh event before the pass: a kick during the pass runs another pass.
            self._wake = trio.Event()
            try:
                due = await self._pass()
            except BackendUnavailable as exc:
                log.warning("queue store unavailable", error=str(exc))
                due = self.config.clock() + OUTAGE_RETRY_SECONDS
            with trio.move_on_after(_until(due, self.config.clock())):
                await self._wake.wait()

    async def _flush_acks(self) -> None:
        acks, self._acks = self._acks, []
        if not acks:
            return
        try:
            stale = await self.backend.ack(acks)
        except BackendUnavailable as exc:
            log.warning("acks not recorded; their leases will expire", error=str(exc))
            return
        if stale:
            log.info("stale acks refused", tokens=stale)

    async def _pass(self) -> float:
        backend = self.backend
        await self._flush_acks()
        now = self.config.clock()
        if now >= self._next_tick:
            # Only when something is due: a tick is a round trip to a shared store.
            self._next_tick = math.inf
            tick = await backend.tick(now)
            for lease in tick.expired:
                await self._fail(lease.token, lease.item, "lease expired")
            if tick.next_due is not None:
                self._tick_by(tick.next_due)
            if backend.poll_interval is not None:
                self._tick_by(now + backend.poll_interval)
        while self._slots and not self._slots[0].wanted:
            self._slots.popleft()
        if self._slots:
            wanted = sum(1 for slot in self._slots if slot.wanted)
            leases = await backend.reserve(now, self.config.lease_seconds, wanted)
            for lease in leases:
                await self._hand_out(lease)
            if leases:
                self._tick_by(now + self.config.lease_seconds)
        return self._next_tick

    def _tick_by(self, due: float) -> None:
        self._next_tick = min(self._next_tick, due)

    def _changed(self) -> None:
        """The backend changed by itself (a store came back): look at it at once."""
        self._next_tick = -math.inf
        self._kick()

    async def _hand_out(self, lease: Lease) -> None:
        while self._slots:
            if self._slots.popleft().fill(lease):
                return
        # Every waiting worker went away while the store was reserving.
        await self._fail(lease.token, lease.item, "no worker took the lease")


def _until(due: float, now: float) -> float:
    return max(0.0, due - now)


def memory_opener(backend: Backend) -> OpenBackend:
    """Open the same backend for every incarnation of the actor, so its state survives."""

    @asynccontextmanager
    async def open_memory(wake: Callable[[], None]) -> AsyncIterator[Backend]:
        yield backend

    return open_memory
