"""Child specifications and the restart policy knobs (pure values, no I/O)."""

from __future__ import annotations

import enum
import math
import random
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from tether.actors import Actor

if TYPE_CHECKING:
    from ._base import BaseSupervisor

DEFAULT_ACTOR_SHUTDOWN_TIMEOUT = 5.0


class Restart(enum.Enum):
    """When a child that ended is started again (OTP's restart types)."""

    PERMANENT = "permanent"  # always
    TRANSIENT = "transient"  # only after a crash or a kill, not after a normal stop
    TEMPORARY = "temporary"  # never


class Strategy(enum.Enum):
    """Which children are restarted when one of them has to be."""

    ONE_FOR_ONE = "one_for_one"  # just that child
    ONE_FOR_ALL = "one_for_all"  # every child: stop the others in reverse order, start all
    REST_FOR_ONE = "rest_for_one"  # that child and those started after it


@attrs.frozen
class ChildSpec:
    """How a supervisor runs one child.

    `start` is either a factory that returns a fresh `Actor` for each
    incarnation (an Actor subclass itself is such a factory), or a supervisor,
    which is run again on a restart and keeps its names. `shutdown_timeout`
    is how long a graceful stop may take before the child is cancelled:
    by default 5 s for an actor, unlimited for a supervisor (its own children's
    timeouts bound it). `mailbox_size` defaults to the actor class's.
    """

    id: str
    start: Callable[[], Actor] | BaseSupervisor
    restart: Restart = Restart.PERMANENT
    shutdown_timeout: float | None = None
    mailbox_size: int | None = None

    @property
    def is_supervisor(self) -> bool:
        return not callable(self.start)

    @property
    def effective_shutdown_timeout(self) -> float:
        if self.shutdown_timeout is not None:
            return self.shutdown_timeout
        return math.inf if self.is_supervisor else DEFAULT_ACTOR_SHUTDOWN_TIMEOUT

    @property
    def actor_class(self) -> type[Actor] | None:
        start = self.start
        if isinstance(start, type) and issubclass(start, Actor):
            return start
        return None

    @property
    def effective_mailbox_size(self) -> int:
        if self.mailbox_size is not None:
            return self.mailbox_size
        actor_class = self.actor_class
        return actor_class.mailbox_size if actor_class is not None else Actor.mailbox_size


@attrs.frozen
class RestartIntensity:
    """At most `max_restarts` restarts within `period` seconds; one more and the supervisor
    gives up and fails to its parent."""

    max_restarts: int = 3
    period: float = 5.0


@attrs.frozen
class Backoff:
    """Delay before the n-th restart in a row: exponential, capped, with jitter so that
    many supervisors restarting at once do not do so in lock step. Never zero: a crash
    loop cannot spin a core."""

    initial: float = 0.05
    factor: float = 2.0
    cap: float = 5.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.cap, self.initial * self.factor ** max(0, attempt - 1))
        # "Equal jitter": half fixed, half random, so the delay keeps growing.
        return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


class RestartHistory:
    """The timestamps of recent restarts, to enforce a `RestartIntensity`."""

    __slots__ = ("_intensity", "_times")

    def __init__(self, intensity: RestartIntensity) -> None:
        self._intensity = intensity
        self._times: deque[float] = deque()

    def _forget_before(self, now: float) -> None:
        horizon = now - self._intensity.period
        while self._times and self._times[0] <= horizon:
            self._times.popleft()

    def allow(self, now: float) -> bool:
        """Record a restart at `now`; False when it would exceed the intensity."""
        self._forget_before(now)
        self._times.append(now)
        return len(self._times) <= self._intensity.max_restarts

    def recent(self, now: float) -> int:
        self._forget_before(now)
        return len(self._times)
