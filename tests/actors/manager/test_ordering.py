"""Putting one publisher's messages back in order after concurrent workers."""

from __future__ import annotations

from tether.actors.manager._ordering import OriginOrder


def test_in_order_passes_straight_through() -> None:
    order: OriginOrder[str] = OriginOrder()
    assert [order.offer("c", n, f"m{n}", 0.0) for n in (1, 2, 3)] == [["m1"], ["m2"], ["m3"]]


def test_an_early_message_waits_for_its_predecessor() -> None:
    order: OriginOrder[str] = OriginOrder()
    assert order.offer("c", 2, "m2", 0.0) == []
    assert order.offer("c", 3, "m3", 0.0) == []
    assert order.offer("c", 1, "m1", 0.1) == ["m1", "m2", "m3"]


def test_a_redelivery_is_dropped() -> None:
    order: OriginOrder[str] = OriginOrder()
    order.offer("c", 1, "m1", 0.0)
    assert order.offer("c", 1, "m1 again", 0.1) == []
    assert order.duplicates == 1


def test_an_overdue_gap_is_skipped_and_the_latecomer_still_delivered() -> None:
    order: OriginOrder[str] = OriginOrder(hold_seconds=1.0)
    assert order.offer("c", 2, "m2", 0.0) == []
    assert order.expire(0.5) == []
    assert order.expire(1.5) == ["m2"]
    # The regression: 1 came late (it waited in Redis during an outage) and was dropped.
    assert order.offer("c", 1, "m1", 3.0) == ["m1"]
    assert order.offer("c", 1, "m1 again", 3.1) == []
    assert order.offer("c", 3, "m3", 3.2) == ["m3"]


def test_origins_are_independent_and_quiet_ones_forgotten() -> None:
    order: OriginOrder[str] = OriginOrder(forget_after=10.0)
    assert order.offer("a", 2, "a2", 0.0) == []
    assert order.offer("b", 1, "b1", 0.0) == ["b1"]
    order.offer("a", 1, "a1", 0.0)
    order.expire(20.0)
    assert len(order) == 0
