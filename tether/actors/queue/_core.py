"""The queue's rules as a pure state machine: no trio, no redis, time passed in.

Theory of operation
-------------------
An item is in exactly one place at a time: *ready* (one FIFO per priority),
*leased* (handed to a worker until a deadline, under a token), *delayed*
(waiting for its retry time) or *dead* (out of attempts, with the error that
killed it). Acknowledging a lease removes the item for good.

Every delivery gets a fresh lease token. Only the holder of the current token
may ack, nack or renew; a worker that comes back after its lease expired and
the item was reclaimed holds a stale token and is refused, so one item never
counts as done twice. A lease that expires is settled like a failure ("lease
expired"), which counts an attempt: an item that keeps killing its workers
ends in the dead letters instead of looping forever.

Selection (`pick`) is by priority, CRITICAL first, FIFO within a priority,
with a starvation guard: after `starvation_limit` consecutive picks from the
highest non-empty priority while items of lower priorities wait, the next pick
takes the oldest waiting lower item (smallest enqueue sequence), and the count
starts again. So while anything waits below the top, at least one pick in
every `starvation_limit + 1` goes below it, and among the lower items the
oldest goes first. The Redis backend runs the same rule in Lua.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from tether.protocol import Priority

PRIORITIES: tuple[Priority, ...] = tuple(sorted(Priority))
DEFAULT_STARVATION_LIMIT = 8


class QueueFull(Exception):
    """The queue holds `capacity` items (dead letters included); the item was not accepted."""

    def __init__(self, capacity: int) -> None:
        super().__init__(f"queue full ({capacity} items)")
        self.capacity = capacity


@attrs.frozen
class QueueItem:
    """One unit of work. `id` stays the same across redeliveries; `attempt` is 1-based."""

    id: str
    kind: str
    payload: dict[str, Any]
    priority: Priority
    attempt: int
    enqueued_at: float
    last_error: str | None = None


@attrs.frozen
class Lease:
    """An item handed to a worker until `deadline`; only `token` may settle it."""

    item: QueueItem
    token: str
    deadline: float


@attrs.frozen
class Parked:
    """An item that no worker holds, as it moves between stores: ready (`due` None),
    waiting for its retry time `due`, or dead."""

    item: QueueItem
    due: float | None
    dead: bool = False


@attrs.frozen
class RetryPolicy:
    """Exponential backoff with full jitter; after `max_attempts` deliveries, dead letter."""

    base: float = 0.5
    factor: float = 2.0
    cap: float = 60.0
    max_attempts: int = 5

    def __attrs_post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if not (self.base >= 0 and self.factor >= 1 and self.cap >= 0):
            raise ValueError("base and cap must be >= 0 and factor >= 1")

    def ceiling(self, attempt: int) -> float:
        """The largest delay after the failure of delivery number `attempt`."""
        exponent = max(0, attempt - 1)
        # Past this the power only overflows; the cap has long been reached.
        if exponent > 1024:
            return self.cap
        return min(self.cap, self.base * self.factor**exponent)

    def delay(self, attempt: int, rng: random.Random) -> float:
        # Full jitter: retries of items that failed together spread over the whole window.
        return rng.uniform(0, self.ceiling(attempt))

    def retry_at(self, item: QueueItem, now: float, rng: random.Random) -> float | None:
        """When a failed delivery of `item` runs again, or None if it goes to the dead letters."""
        if item.attempt >= self.max_attempts:
            return None
        return now + self.delay(item.attempt, rng)


@attrs.frozen
class Counts:
    """What a backend holds right now and what it did since it started."""

    ready: Mapping[Priority, int]
    in_progress: int
    delayed: int
    dead: int
    enqueued: int
    acked: int
    retried: int
    dead_lettered: int


def choose(
    heads: Mapping[Priority, int], streak: int, starvation_limit: int
) -> tuple[Priority, int] | None:
    """The starvation rule over the enqueue sequence of each non-empty priority's head.

    Returns the priority to take from and the new streak, or None when nothing is ready.
    """
    waiting = [p for p in PRIORITIES if p in heads]
    if not waiting:
        return None
    top, below = waiting[0], waiting[1:]
    if not below:
        return top, 0
    if streak >= starvation_limit:
        return min(below, key=lambda p: heads[p]), 0
    return top, streak + 1


class QueueCore:
    """The state of one queue. Not thread-safe, never awaits; every method takes `now`."""

    def __init__(self, capacity: int, *, starvation_limit: int = DEFAULT_STARVATION_LIMIT) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        if starvation_limit < 1:
            raise ValueError(f"starvation_limit must be at least 1, not {starvation_limit}")
        self.capacity = capacity
        self.starvation_limit = starvation_limit
        self._seq = 0
        self._streak = 0
        self._ready: dict[Priority, deque[tuple[int, QueueItem]]] = {p: deque() for p in PRIORITIES}
        self._leases: dict[str, Lease] = {}  # by token
        self._lease_of: dict[str, str] = {}  # item id -> token
        self._delayed: list[tuple[float, int, QueueItem]] = []  # a heap by due time
        self._dead: dict[str, QueueItem] = {}  # insertion order = order of death
        self._enqueued = self._acked = self._retried = self._dead_lettered = 0

    def __len__(self) -> int:
        """Items held, dead letters included: what `capacity` bounds."""
        ready = sum(len(q) for q in self._ready.values())
        return ready + len(self._leases) + len(self._delayed) + len(self._dead)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _make_ready(self, item: QueueItem) -> None:
        self._ready[item.priority].append((self._next_seq(), item))

    # Producing and consuming -----------------------------------------------------

    def enqueue(self, item: QueueItem) -> None:
        """Accept a new item at the tail of its priority; raises `QueueFull`."""
        if len(self) >= self.capacity:
            raise QueueFull(self.capacity)
        self._make_ready(item)
        self._enqueued += 1

    def pick(self) -> QueueItem | None:
        """Remove and return the next ready item by the selection rule, without leasing it."""
        heads = {p: q[0][0] for p, q in self._ready.items() if q}
        choice = choose(heads, self._streak, self.starvation_limit)
        if choice is None:
            return None
        priority, self._streak = choice
        return self._ready[priority].popleft()[1]

    def reserve(self, now: float, lease_seconds: float, tokens: Iterable[str]) -> list[Lease]:
        """Lease up to one ready item per token, in selection order, until now + lease_seconds."""
        leases = []
        for token in tokens:
            if token in self._leases:
                raise ValueError(f"lease token {token!r} is already in use")
            item = self.pick()
            if item is None:
                break
            lease = Lease(item, token, now + lease_seconds)
            self._leases[token] = lease
            self._lease_of[item.id] = token
            leases.append(lease)
        return leases

    def _release(self, token: str) -> Lease | None:
        lease = self._leases.pop(token, None)
        if lease is not None:
            del self._lease_of[lease.item.id]
        return lease

    def ack(self, token: str) -> bool:
        """The work is done; False (and nothing changes) if the token is stale."""
        if self._release(token) is None:
            return False
        self._acked += 1
        return True

    def nack(self, token: str, error: str, retry_at: float | None) -> bool:
        """The delivery failed with `error`: retry at `retry_at` with attempt + 1, or, if it is
        None, move the item to the dead letters. False if the token is stale."""
        lease = self._release(token)
        if lease is None:
            return False
        item = attrs.evolve(lease.item, last_error=error)
        if retry_at is None:
            self._dead[item.id] = item
            self._dead_lettered += 1
        else:
            item = attrs.evolve(item, attempt=item.attempt + 1)
            heapq.heappush(self._delayed, (retry_at, self._next_seq(), item))
            self._retried += 1
        return True

    def renew(self, token: str, deadline: float) -> bool:
        """Extend a lease that is still held; False if the token is stale."""
        lease = self._leases.get(token)
        if lease is None:
            return False
        self._leases[token] = attrs.evolve(lease, deadline=deadline)
        return True

    # Time ------------------------------------------------------------------------

    def expired(self, now: float) -> list[Lease]:
        """Leases whose deadline has passed; the caller settles each with `nack`."""
        return [lease for lease in self._leases.values() if lease.deadline <= now]

    def promote(self, now: float) -> int:
        """Move the retries that are due to the tail of their priority; returns how many."""
        moved = 0
        while self._delayed and self._delayed[0][0] <= now:
            self._make_ready(heapq.heappop(self._delayed)[2])
            moved += 1
        return moved

    def next_due(self) -> float | None:
        """The earliest retry time or lease deadline, when something changes by itself."""
        due = [lease.deadline for lease in self._leases.values()]
        if self._delayed:
            due.append(self._delayed[0][0])
        return min(due, default=None)

    # Dead letters ----------------------------------------------------------------

    def dead_letters(self, limit: int | None = None) -> list[QueueItem]:
        """The dead letters, oldest first; `last_error` says what killed each."""
        items = list(self._dead.values())
        return items if limit is None else items[: max(0, limit)]

    def replay(self, ids: Iterable[str] | None = None) -> list[str]:
        """Make dead letters ready again with a fresh attempt budget; None means all."""
        chosen = list(self._dead) if ids is None else [i for i in ids if i in self._dead]
        for item_id in chosen:
            self._make_ready(attrs.evolve(self._dead.pop(item_id), attempt=1))
        return chosen

    def purge(self, ids: Iterable[str] | None = None) -> list[str]:
        """Delete dead letters for good; None means all."""
        chosen = list(self._dead) if ids is None else [i for i in ids if i in self._dead]
        for item_id in chosen:
            del self._dead[item_id]
        return chosen

    # Handing over -----------------------------------------------------------------

    def export(self) -> list[Parked]:
        """Remove and return every item that no worker holds (ready, delayed, dead), for a
        hand-over to another store; leases stay until their holders settle them."""
        parked = [Parked(entry[1], None) for p in PRIORITIES for entry in self._ready[p]]
        parked += [Parked(entry[2], entry[0]) for entry in sorted(self._delayed)]
        parked += [Parked(item, None, dead=True) for item in self._dead.values()]
        for q in self._ready.values():
            q.clear()
        self._delayed.clear()
        self._dead.clear()
        return parked

    def adopt(self, parked: Iterable[Parked]) -> None:
        """Take items back as `export` gave them (after a failed hand-over), over capacity if
        need be: they were accepted once and must not be lost."""
        for entry in parked:
            if entry.dead:
                self._dead[entry.item.id] = entry.item
            elif entry.due is None:
                self._make_ready(entry.item)
            else:
                heapq.heappush(self._delayed, (entry.due, self._next_seq(), entry.item))

    def counts(self) -> Counts:
        return Counts(
            ready={p: len(q) for p, q in self._ready.items()},
            in_progress=len(self._leases),
            delayed=len(self._delayed),
            dead=len(self._dead),
            enqueued=self._enqueued,
            acked=self._acked,
            retried=self._retried,
            dead_lettered=self._dead_lettered,
        )
