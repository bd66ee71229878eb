"""The queue subtree: the queue actor first, then the workers, one_for_one."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import attrs

from tether.actors import Actor, ActorRef
from tether.supervision import ChildSpec, Strategy, Supervisor

from ._actor import QueueActor, memory_opener
from ._backend import OpenBackend
from ._config import Handler, Handlers, QueueConfig
from ._core import RetryPolicy
from ._memory import MemoryBackend
from ._messages import DeliverySlot
from ._worker import QUEUE_NAME, QueueWorker


def worker_name(number: int) -> str:
    return f"{QUEUE_NAME}.worker.{number}"


@attrs.define(eq=False)
class QueueSupervisor(Supervisor):
    """Supervises the queue actor ("queue") and `config.workers` workers
    ("queue.worker.1", ...). Register handlers before running it."""

    name: str = QUEUE_NAME
    config: QueueConfig = attrs.field(factory=QueueConfig)
    handlers: Handlers = attrs.field(factory=Handlers)
    strategy: Strategy = Strategy.ONE_FOR_ONE

    _slots: deque[DeliverySlot] = attrs.field(factory=deque, init=False)

    def __attrs_post_init__(self) -> None:
        self.children = [
            ChildSpec(QUEUE_NAME, self._queue_factory(_opener(self.config))),
            *(
                ChildSpec(worker_name(n), self._worker_factory())
                for n in range(1, self.config.workers + 1)
            ),
        ]
        super().__attrs_post_init__()

    def register(self, kind: str, handler: Handler, retry: RetryPolicy | None = None) -> None:
        """Run `handler` for items of `kind`; a raise is retried by `retry` (default
        `RetryPolicy()`). Raises ValueError if `kind` already has a handler."""
        self.handlers.register(kind, handler, retry)

    @property
    def queue(self) -> ActorRef:
        """The queue actor: ask it `Enqueue`, `GetQueueStatistics` and the dead-letter messages."""
        return self.registry.lookup(QUEUE_NAME)

    def _queue_factory(self, opener: OpenBackend) -> Callable[[], Actor]:
        return lambda: QueueActor(self.config, self.handlers, opener, self._slots)

    def _worker_factory(self) -> Callable[[], Actor]:
        return lambda: QueueWorker(self.handlers, self.config.lease_seconds)


def _opener(config: QueueConfig) -> OpenBackend:
    # Held here, not by the actor, so that what it holds survives a restart of the actor.
    memory = MemoryBackend(config.capacity, starvation_limit=config.starvation_limit)
    if config.backend == "memory":
        return memory_opener(memory)
    # Imported only when asked for: a memory-only service does not need coredis.
    from ._fallback import fallback_opener

    return fallback_opener(config, memory)


def queue_supervisor(
    backend: str = "memory", *, workers: int = 4, capacity: int = 10_000, **options: object
) -> QueueSupervisor:
    """The queue subtree for `backend` ("memory" or a redis:// URL); `options` are the other
    `QueueConfig` fields."""
    config = QueueConfig(backend, workers, capacity, **options)  # type: ignore[arg-type]
    return QueueSupervisor(config=config)
