"""How a queue is configured, and the table of handlers its workers run."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import attrs

from ._core import DEFAULT_STARVATION_LIMIT, QueueItem, RetryPolicy

Handler = Callable[[QueueItem], Awaitable[None]]


@attrs.frozen
class QueueConfig:
    """`backend` is "memory" or a `redis://` URL. `clock` gives the queue's time (retry and
    lease deadlines); processes sharing a Redis must all use the wall clock, the default."""

    backend: str = "memory"
    workers: int = 4
    capacity: int = 10_000
    lease_seconds: float = 30.0
    starvation_limit: int = DEFAULT_STARVATION_LIMIT
    prefix: str = "tether:queue"
    # With Redis: how often the queue looks for items that other processes enqueued.
    poll_seconds: float = 1.0
    clock: Callable[[], float] = time.time
    # Seeds the jitter of retry delays; None draws from the OS.
    seed: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")
        if self.capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {self.capacity}")
        if not self.lease_seconds > 0:
            raise ValueError(f"lease_seconds must be positive, not {self.lease_seconds}")
        if self.backend != "memory" and not self.backend.startswith(("redis://", "rediss://")):
            raise ValueError(f"backend must be 'memory' or a redis:// URL, not {self.backend!r}")


@attrs.frozen
class Registration:
    handler: Handler
    retry: RetryPolicy


# Items of a kind nobody registered here (another process may enqueue them into a shared
# Redis) fail without a handler; this policy sends them to the dead letters at once.
UNHANDLED = RetryPolicy(max_attempts=1)


@attrs.define
class Handlers:
    """Kind → handler and retry policy. Fill it before the queue starts."""

    _table: dict[str, Registration] = attrs.field(factory=dict, init=False)

    def register(self, kind: str, handler: Handler, retry: RetryPolicy | None = None) -> None:
        if kind in self._table:
            raise ValueError(f"a handler for kind {kind!r} is already registered")
        self._table[kind] = Registration(handler, retry or RetryPolicy())

    def get(self, kind: str) -> Registration | None:
        return self._table.get(kind)

    def policy(self, kind: str) -> RetryPolicy:
        registration = self._table.get(kind)
        return registration.retry if registration is not None else UNHANDLED

    def __contains__(self, kind: object) -> bool:
        return kind in self._table
