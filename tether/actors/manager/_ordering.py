"""Putting one publisher's messages back in order after a pool of workers delivered them.

Each connection numbers its publishes (1, 2, 3, …) before they go through the queue;
the queue's workers run concurrently, so the manager may get 2 before 1. It holds 2
until 1 arrives, or until `hold_seconds` passed (1 is being retried, or waits in another
store during a Redis outage: do not block the rest behind it). A number skipped that way is
remembered and delivered whenever it comes, late rather than never; a number already
delivered is a redelivery: dropped.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


# Skipped numbers remembered per publisher; beyond that the oldest are given up on.
MAX_SKIPPED = 10_000


class _Origin(Generic[T]):
    __slots__ = ("held", "last_seen", "next_seq", "skipped")

    def __init__(self, now: float) -> None:
        self.next_seq = 1
        self.held: dict[int, tuple[float, T]] = {}
        self.skipped: set[int] = set()
        self.last_seen = now


class OriginOrder(Generic[T]):
    def __init__(self, *, hold_seconds: float = 1.0, forget_after: float = 300.0) -> None:
        self.hold_seconds = hold_seconds
        self.forget_after = forget_after
        self._origins: dict[str, _Origin[T]] = {}
        self.duplicates = 0

    def __len__(self) -> int:
        return len(self._origins)

    def offer(self, origin: str, seq: int, item: T, now: float) -> list[T]:
        """The items now deliverable, in order (possibly none, possibly several)."""
        state = self._origins.get(origin)
        if state is None:
            state = self._origins[origin] = _Origin(now)
        state.last_seen = now
        if seq in state.skipped:
            state.skipped.discard(seq)
            return [item]
        if seq < state.next_seq or seq in state.held:
            self.duplicates += 1
            return []
        if seq > state.next_seq:
            state.held[seq] = (now, item)
            return []
        ready = [item]
        state.next_seq += 1
        while state.next_seq in state.held:
            ready.append(state.held.pop(state.next_seq)[1])
            state.next_seq += 1
        return ready

    def expire(self, now: float) -> list[T]:
        """Held items whose predecessor is overdue (delivered, skipping the gap), and
        origins quiet for `forget_after` forgotten."""
        ready: list[T] = []
        for origin, state in list(self._origins.items()):
            if state.held and min(t for t, _ in state.held.values()) <= now - self.hold_seconds:
                for seq in sorted(state.held):
                    state.skipped.update(range(state.next_seq, seq))
                    ready.append(state.held.pop(seq)[1])
                    state.next_seq = seq + 1
                while len(state.skipped) > MAX_SKIPPED:
                    state.skipped.discard(min(state.skipped))
            elif not state.held and state.last_seen <= now - self.forget_after:
                # Quiet for minutes. A straggler after this is held briefly and delivered
                # like a newcomer's (at least once: a redelivery may then come through).
                del self._origins[origin]
        return ready
