"""Failures a supervisor reports to whoever runs it."""

from __future__ import annotations


class SupervisionError(Exception):
    """Base class of the supervision errors."""


class StartFailed(SupervisionError):
    """A child failed while starting, so the supervisor's start failed; `error` is why."""

    def __init__(self, supervisor: str, child: str, error: BaseException) -> None:
        super().__init__(f"supervisor {supervisor!r}: child {child!r} failed to start: {error!r}")
        self.supervisor = supervisor
        self.child = child
        self.error = error


class SupervisorGaveUp(SupervisionError):
    """Restarts exceeded the intensity; the supervisor stopped its children and failed."""

    def __init__(self, supervisor: str, child: str, error: BaseException | None) -> None:
        super().__init__(
            f"supervisor {supervisor!r} gave up: too many restarts (last: child {child!r}"
            f"{': ' + repr(error) if error is not None else ''})"
        )
        self.supervisor = supervisor
        self.child = child
        self.error = error


class TooManyChildren(SupervisionError):
    """A dynamic supervisor is at its `max_children`."""

    def __init__(self, supervisor: str, limit: int) -> None:
        super().__init__(f"supervisor {supervisor!r} is at its limit of {limit} children")
        self.limit = limit


class SupervisorNotRunning(SupervisionError):
    """A child was offered to a supervisor that is not running (or is stopping)."""

    def __init__(self, supervisor: str) -> None:
        super().__init__(f"supervisor {supervisor!r} is not running")
