"""A worker: takes one lease at a time from the queue actor and runs its handler.

A handler that raises an `Exception` is a failed delivery (nack, then retry or
dead letter); anything else kills the worker. Whatever a worker holds when it
stops (crash, kill or shutdown) is nacked from `on_stop`, which counts an
attempt; if even that message cannot be sent, the lease expires and the queue
reclaims the item. Either way the item is delivered again with the same id.
"""

from __future__ import annotations

import attrs
import structlog
import trio

from tether.actors import Actor, ActorRef, ActorStopped, MailboxFull, StopReason

from ._config import Handlers
from ._core import Lease
from ._messages import Ack, DeliverySlot, Nack, Renew, Reserve

log = structlog.get_logger("tether.queue")

QUEUE_NAME = "queue"


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


@attrs.define
class QueueWorker(Actor):
    mailbox_size = 4

    handler_table: Handlers
    lease_seconds: float
    queue: str = QUEUE_NAME
    _slot: DeliverySlot | None = attrs.field(default=None, init=False)
    _held: Lease | None = attrs.field(default=None, init=False)

    async def on_start(self) -> None:
        self.start_soon(self._work)
        # One renewer for the worker's life rather than a task per item: spawning a task
        # per item was the largest cost of a short handler.
        self.start_soon(self._renew_held)

    async def on_stop(self, reason: StopReason) -> None:
        unclaimed = self._slot.abandon() if self._slot is not None else None
        for lease in (self._held, unclaimed):
            if lease is not None:
                cause = f" ({describe(reason.error)})" if reason.error is not None else ""
                self._give_back(lease, f"worker stopped: {reason.kind.value}{cause}")

    def _give_back(self, lease: Lease, error: str) -> None:
        try:
            self.lookup(self.queue).try_tell(Nack(lease.token, lease.item, error))
        except (MailboxFull, ActorStopped):
            log.warning("lease left to expire", worker=self.name, item=lease.item.id)

    async def _work(self) -> None:
        queue = self.lookup(self.queue)
        while True:
            self._slot = DeliverySlot()
            await queue.tell(Reserve(self._slot))
            self._held = await self._slot.wait()
            self._slot = None
            lease = self._held
            error = await self._run(queue, lease)
            if error is None:
                await queue.tell(Ack(lease.token))
            else:
                await queue.tell(Nack(lease.token, lease.item, error))
            self._held = None

    async def _run(self, queue: ActorRef, lease: Lease) -> str | None:
        registration = self.handler_table.get(lease.item.kind)
        if registration is None:
            return f"no handler for kind {lease.item.kind!r} on this node"
        try:
            await registration.handler(lease.item)
        except Exception as exc:
            return describe(exc)
        return None

    async def _renew_held(self) -> None:
        """Renewal runs beside the handler, so a handler that blocks cannot lose its lease.
        Every third of the lease, the item held for at least that long is renewed."""
        queue = self.lookup(self.queue)
        previous: Lease | None = None
        while True:
            await trio.sleep(self.lease_seconds / 3)
            held = self._held
            if held is not None and held is previous:
                try:
                    queue.try_tell(Renew(held.token))
                except MailboxFull:
                    log.warning("lease renewal skipped: queue mailbox full", worker=self.name)
            previous = held
