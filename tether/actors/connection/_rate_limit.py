"""A per-connection token bucket for client frames. Pure: the caller passes the time.

The bucket holds up to `burst` tokens, starts full and refills at `rate` per
second. A frame that finds a token is allowed; one that does not is refused
(the client gets an `error` frame `rate_limited` and the frame is dropped).
A client that keeps sending anyway, more than `abuse_limit` refusals within
`abuse_window` seconds, is abusive: the verdict becomes CLOSE (1008) and stays so.
"""

from __future__ import annotations

import enum
from collections import deque


class RateVerdict(enum.Enum):
    ALLOW = "allow"
    REFUSE = "refuse"  # answer `rate_limited`, drop the frame
    CLOSE = "close"  # sustained abuse: close with 1008


class RateLimiter:
    """Token bucket plus a sliding count of refusals. `rate` 0 turns it off."""

    __slots__ = (
        "_abuse_limit",
        "_abuse_window",
        "_burst",
        "_closed",
        "_last",
        "_rate",
        "_refusals",
        "_tokens",
    )

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        abuse_window: float = 10.0,
        abuse_limit: int | None = None,
    ) -> None:
        if rate < 0:
            raise ValueError(f"rate must be 0 (off) or positive, not {rate}")
        if rate > 0 and burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst}")
        if abuse_window <= 0:
            raise ValueError(f"abuse_window must be positive, not {abuse_window}")
        if abuse_limit is not None and abuse_limit < 0:
            raise ValueError(f"abuse_limit must not be negative, not {abuse_limit}")
        self._rate = float(rate)
        self._burst = burst
        self._tokens = float(burst)
        self._last: float | None = None
        self._abuse_window = abuse_window
        self._abuse_limit = max(2 * burst, 10) if abuse_limit is None else abuse_limit
        # Times of the latest refusals, created on the first one: a well-behaved
        # connection never pays for it.
        self._refusals: deque[float] | None = None
        self._closed = False

    def check(self, now: float) -> RateVerdict:
        """The verdict for one frame arriving at `now` (seconds, any monotonic clock)."""
        if self._rate == 0:
            return RateVerdict.ALLOW
        if self._closed:
            return RateVerdict.CLOSE
        last = self._last
        if last is None or now > last:
            # A clock that goes backwards refills nothing.
            elapsed = 0.0 if last is None else now - last
            self._tokens = min(float(self._burst), self._tokens + elapsed * self._rate)
            self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return RateVerdict.ALLOW
        refusals = self._refusals
        if refusals is None:
            refusals = self._refusals = deque(maxlen=self._abuse_limit + 1)
        refusals.append(now)
        if len(refusals) > self._abuse_limit and now - refusals[0] < self._abuse_window:
            self._closed = True
            return RateVerdict.CLOSE
        return RateVerdict.REFUSE
