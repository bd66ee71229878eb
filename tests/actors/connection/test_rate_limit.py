"""The per-connection token bucket.

Plain synchronous tests: the limiter never awaits, so `trio.fail_after` could
not interrupt it; Hypothesis bounds each example with its own deadline.
"""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from tether.actors.connection._rate_limit import RateLimiter, RateVerdict

ALLOW, REFUSE, CLOSE = RateVerdict.ALLOW, RateVerdict.REFUSE, RateVerdict.CLOSE


def test_burst_then_refuse_then_refill() -> None:
    limiter = RateLimiter(rate=2, burst=3)
    assert [limiter.check(100.0) for _ in range(4)] == [ALLOW, ALLOW, ALLOW, REFUSE]
    assert limiter.check(100.4) == REFUSE  # 0.8 of a token
    assert limiter.check(100.5) == ALLOW  # one token after 0.5 s at 2/s
    assert limiter.check(100.5) == REFUSE


def test_refill_is_capped_at_burst() -> None:
    limiter = RateLimiter(rate=10, burst=2)
    assert limiter.check(0.0) == ALLOW
    verdicts = [limiter.check(1000.0) for _ in range(3)]
    assert verdicts == [ALLOW, ALLOW, REFUSE]


def test_rate_zero_is_off() -> None:
    limiter = RateLimiter(rate=0, burst=0)
    assert all(limiter.check(0.0) == ALLOW for _ in range(10_000))


def test_sustained_abuse_closes() -> None:
    limiter = RateLimiter(rate=1, burst=2, abuse_window=10, abuse_limit=5)
    assert [limiter.check(0.0) for _ in range(2)] == [ALLOW, ALLOW]
    assert [limiter.check(0.1) for _ in range(5)] == [REFUSE] * 5
    assert limiter.check(0.2) == CLOSE  # the sixth refusal within 10 s
    assert limiter.check(500.0) == CLOSE  # and it stays closed


def test_refusals_spread_over_time_are_not_abuse() -> None:
    limiter = RateLimiter(rate=1, burst=1, abuse_window=10, abuse_limit=3)
    now = 0.0
    for _ in range(50):
        assert limiter.check(now) == ALLOW
        assert limiter.check(now) == REFUSE  # one refusal per 4 s: 3 per 10 s at most
        now += 4.0


def test_default_abuse_limit_is_twice_the_burst_and_at_least_ten() -> None:
    small = RateLimiter(rate=1, burst=2)
    assert [small.check(0.0) for _ in range(2)] == [ALLOW, ALLOW]
    assert [small.check(0.0) for _ in range(10)] == [REFUSE] * 10
    assert small.check(0.0) == CLOSE

    large = RateLimiter(rate=1, burst=20)
    assert [large.check(0.0) for _ in range(20)] == [ALLOW] * 20
    assert [large.check(0.0) for _ in range(40)] == [REFUSE] * 40
    assert large.check(0.0) == CLOSE


def test_clock_going_backwards_refills_nothing() -> None:
    limiter = RateLimiter(rate=1, burst=1)
    assert limiter.check(10.0) == ALLOW
    assert limiter.check(5.0) == REFUSE
    assert limiter.check(10.5) == REFUSE
    assert limiter.check(11.0) == ALLOW


def test_invalid_settings() -> None:
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(rate=-1, burst=1)
    with pytest.raises(ValueError, match="burst"):
        RateLimiter(rate=1, burst=0)
    with pytest.raises(ValueError, match="abuse_window"):
        RateLimiter(rate=1, burst=1, abuse_window=0)
    with pytest.raises(ValueError, match="abuse_limit"):
        RateLimiter(rate=1, burst=1, abuse_limit=-1)


@settings(max_examples=300, deadline=1000)
@given(
    rate=st.floats(min_value=0.01, max_value=1000),
    burst=st.integers(min_value=1, max_value=50),
    gaps=st.lists(st.floats(min_value=0.0001, max_value=5), min_size=1, max_size=300),
    start=st.floats(min_value=0, max_value=1e6),
)
def test_allows_never_exceed_burst_plus_refill(
    rate: float, burst: int, gaps: list[float], start: float
) -> None:
    limiter = RateLimiter(rate=rate, burst=burst, abuse_limit=10**6)
    now = start
    allowed = 0
    for gap in gaps:
        now += gap
        if limiter.check(now) is ALLOW:
            allowed += 1
        assert allowed <= burst + rate * (now - start - gaps[0]) + 1e-6
