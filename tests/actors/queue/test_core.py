"""The pure queue core: selection order, the starvation guard, leases, retries, dead letters."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tether.actors.queue import QueueCore, QueueFull, QueueItem, RetryPolicy, choose
from tether.protocol import Priority

_ids = itertools.count()


def item(priority: Priority = Priority.NORMAL, kind: str = "k") -> QueueItem:
    return QueueItem(f"i{next(_ids)}", kind, {}, priority, 1, 0.0)


def tokens(n: int = 1) -> list[str]:
    return [f"t{next(_ids)}" for _ in range(n)]


def take(core: QueueCore, n: int = 1, now: float = 0.0) -> list[QueueItem]:
    return [lease.item for lease in core.reserve(now, 10.0, tokens(n))]


priorities = st.sampled_from(list(Priority))


# Selection -------------------------------------------------------------------------


@settings(max_examples=200)
@given(st.lists(st.tuples(priorities, st.integers(0, 3)), max_size=60), st.integers(1, 5))
def test_fifo_within_a_priority(ops: list[tuple[Priority, int]], limit: int) -> None:
    core = QueueCore(1000, starvation_limit=limit)
    enqueued: dict[Priority, list[str]] = {p: [] for p in Priority}
    taken: dict[Priority, list[str]] = {p: [] for p in Priority}
    for priority, reserve in ops:
        new = item(priority)
        core.enqueue(new)
        enqueued[priority].append(new.id)
        for got in take(core, reserve):
            taken[got.priority].append(got.id)
    for got in take(core, 1000):
        taken[got.priority].append(got.id)
    assert taken == enqueued


@settings(max_examples=200)
@given(st.lists(priorities, max_size=60))
def test_without_the_guard_in_play_the_highest_priority_goes_first(
    batch: list[Priority],
) -> None:
    core = QueueCore(1000, starvation_limit=10_000)
    for priority in batch:
        core.enqueue(item(priority))
    order = [got.priority for got in take(core, len(batch))]
    assert order == sorted(batch)


@settings(max_examples=200)
@given(
    st.lists(st.tuples(st.lists(priorities, max_size=4), st.integers(0, 3)), max_size=40),
    st.integers(1, 6),
)
def test_starvation_guard_bounds_the_run_from_the_top(
    rounds: list[tuple[list[Priority], int]], limit: int
) -> None:
    core = QueueCore(1000, starvation_limit=limit)
    waiting: list[QueueItem] = []  # in enqueue order
    run = 0
    for new, reserve in rounds:
        for priority in new:
            entry = item(priority)
            core.enqueue(entry)
            waiting.append(entry)
        for got in take(core, reserve):
            top = min(w.priority for w in waiting)
            lower = [w for w in waiting if w.priority > top]
            if got.priority == top and lower:
                run += 1
                assert run <= limit
            elif lower or got.priority != top:
                # A guard pick: the oldest item below the top.
                assert got.id == lower[0].id
                run = 0
            else:
                run = 0
            waiting.remove(got)


def test_the_guard_takes_the_oldest_lower_item_after_k_picks() -> None:
    core = QueueCore(100, starvation_limit=2)
    low, normal = item(Priority.LOW), item(Priority.NORMAL)
    core.enqueue(low)
    core.enqueue(normal)
    highs = [item(Priority.CRITICAL) for _ in range(5)]
    for entry in highs:
        core.enqueue(entry)
    order = [got.id for got in take(core, 7)]
    assert order == [highs[0].id, highs[1].id, low.id, highs[2].id, highs[3].id, normal.id,
                     highs[4].id]  # fmt: skip


def test_choose_resets_the_streak_when_nothing_waits_below() -> None:
    assert choose({}, 3, 2) is None
    assert choose({Priority.HIGH: 5}, 7, 2) == (Priority.HIGH, 0)
    assert choose({Priority.HIGH: 5, Priority.LOW: 1}, 1, 2) == (Priority.HIGH, 2)
    assert choose({Priority.HIGH: 5, Priority.LOW: 1}, 2, 2) == (Priority.LOW, 0)


# Leases ----------------------------------------------------------------------------


def test_a_stale_token_cannot_settle_a_reclaimed_item() -> None:
    core = QueueCore(10)
    core.enqueue(item())
    [first] = core.reserve(0.0, 5.0, ["late"])
    assert core.expired(4.9) == []
    assert core.expired(5.0) == [first]
    assert core.nack("late", "lease expired", retry_at=5.0)
    core.promote(5.0)
    [second] = core.reserve(5.0, 5.0, ["fresh"])
    assert second.item.id == first.item.id
    assert second.item.attempt == 2
    assert second.item.last_error == "lease expired"
    assert not core.ack("late")
    assert not core.renew("late", 100.0)
    assert core.ack("fresh")
    assert len(core) == 0


def test_renew_moves_the_deadline() -> None:
    core = QueueCore(10)
    core.enqueue(item())
    core.reserve(0.0, 5.0, ["t"])
    assert core.renew("t", 20.0)
    assert core.expired(10.0) == []
    assert core.next_due() == 20.0


def test_retries_wait_for_their_time_and_go_to_the_tail() -> None:
    core = QueueCore(10)
    first, second = item(), item()
    core.enqueue(first)
    core.reserve(0.0, 5.0, ["t"])
    core.nack("t", "boom", retry_at=3.0)
    core.enqueue(second)
    assert core.next_due() == 3.0
    assert core.promote(2.9) == 0
    assert core.promote(3.0) == 1
    assert [i.id for i in take(core, 2)] == [second.id, first.id]


def test_capacity_counts_every_item_held_including_dead_letters() -> None:
    core = QueueCore(2)
    core.enqueue(item())
    core.enqueue(item())
    with pytest.raises(QueueFull):
        core.enqueue(item())
    core.reserve(0.0, 5.0, ["a"])
    core.nack("a", "fatal", retry_at=None)
    with pytest.raises(QueueFull):
        core.enqueue(item())
    assert core.purge() != []
    core.enqueue(item())


def test_dead_letters_keep_their_error_and_replay_with_a_fresh_budget() -> None:
    core = QueueCore(10)
    entry = item()
    core.enqueue(entry)
    core.reserve(0.0, 5.0, ["a"])
    core.nack("a", "ValueError: bad", retry_at=None)
    [dead] = core.dead_letters()
    assert (dead.id, dead.last_error) == (entry.id, "ValueError: bad")
    assert core.replay(["nope", entry.id]) == [entry.id]
    [again] = take(core)
    assert (again.id, again.attempt) == (entry.id, 1)


# Retry policy ----------------------------------------------------------------------


@given(st.integers(1, 200), st.integers(0, 2**32))
def test_backoff_is_full_jitter_under_an_exponential_capped_ceiling(
    attempt: int, seed: int
) -> None:
    policy = RetryPolicy(base=0.5, factor=2.0, cap=60.0)
    ceiling = min(60.0, 0.5 * 2.0 ** (attempt - 1)) if attempt < 1000 else 60.0
    assert policy.ceiling(attempt) == pytest.approx(ceiling)
    assert 0.0 <= policy.delay(attempt, random.Random(seed)) <= ceiling


def test_the_last_attempt_goes_to_the_dead_letters() -> None:
    policy = RetryPolicy(max_attempts=3)
    rng = random.Random(1)
    assert policy.retry_at(item(), 10.0, rng) is not None
    last = QueueItem("x", "k", {}, Priority.NORMAL, 3, 0.0)
    assert policy.retry_at(last, 10.0, rng) is None


# Conservation ----------------------------------------------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("enqueue"), priorities),
        st.tuples(st.just("reserve"), st.integers(1, 4)),
        st.tuples(st.just("ack"), st.integers(0, 10)),
        st.tuples(st.just("nack"), st.integers(0, 10)),
        st.tuples(st.just("kill"), st.integers(0, 10)),
        st.tuples(st.just("stale"), st.integers(0, 10)),
        st.tuples(st.just("advance"), st.floats(0, 20)),
        st.tuples(st.just("replay"), st.booleans()),
        st.tuples(st.just("purge"), st.booleans()),
    ),
    max_size=80,
)


@settings(max_examples=300)
@given(operations)
def test_items_are_never_lost_or_duplicated(ops: list[tuple[str, object]]) -> None:
    core = QueueCore(12, starvation_limit=2)
    policy = RetryPolicy(base=1.0, max_attempts=3)
    rng = random.Random(0)
    now = 0.0
    live: set[str] = set()  # enqueued, neither acked nor purged
    done: set[str] = set()
    held: list[str] = []  # current tokens, as workers see them
    old: list[str] = []  # tokens whose lease was settled
    lease_items = {}
    for op, arg in ops:
        if op == "enqueue":
            entry = item(arg)  # type: ignore[arg-type]
            try:
                core.enqueue(entry)
            except QueueFull:
                assert len(core) == 12
            else:
                live.add(entry.id)
        elif op == "reserve":
            for lease in core.reserve(now, 5.0, tokens(arg)):  # type: ignore[arg-type]
                assert lease.item.id in live
                held.append(lease.token)
                lease_items[lease.token] = lease.item
        elif op in ("ack", "nack") and held:
            token = held.pop(arg % len(held))  # type: ignore[operator]
            old.append(token)
            if op == "ack":
                if core.ack(token):
                    live.discard(lease_items[token].id)
                    done.add(lease_items[token].id)
            else:
                core.nack(token, "e", policy.retry_at(lease_items[token], now, rng))
        elif op == "kill":
            # A worker dies: its lease is left to expire.
            if held:
                held.pop(arg % len(held))  # type: ignore[operator]
        elif op == "stale" and old:
            token = old[arg % len(old)]  # type: ignore[operator]
            assert not core.ack(token)
            assert not core.nack(token, "late", now)
        elif op == "advance":
            now += arg  # type: ignore[operator]
            for lease in core.expired(now):
                if lease.token in held:
                    held.remove(lease.token)
                old.append(lease.token)
                core.nack(lease.token, "lease expired", policy.retry_at(lease.item, now, rng))
            core.promote(now)
        elif op == "replay":
            dead = [d.id for d in core.dead_letters()]
            assert core.replay(None if arg else dead[:1]) == (dead if arg else dead[:1])
        elif op == "purge":
            dead = [d.id for d in core.dead_letters()]
            purged = core.purge(None if arg else dead[:1])
            live.difference_update(purged)
        counts = core.counts()
        held_now = sum(counts.ready.values()) + counts.in_progress + counts.delayed + counts.dead
        assert held_now == len(core) == len(live)
        assert counts.in_progress == len(held) + sum(
            1 for t in set(lease_items) - set(held) - set(old)
        )
    # Everything still live comes out exactly once more, and nothing else does.
    now += 10_000
    for lease in core.expired(now):
        core.nack(lease.token, "lease expired", now)
    core.promote(now)
    core.replay()
    rest = [entry.id for entry in take(core, 100, now)]
    assert sorted(rest) == sorted(live)
    assert not set(rest) & done
