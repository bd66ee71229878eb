"""The admin HTTP endpoints: health, readiness, metrics."""

from ._actor import AdminActor

__all__ = ["AdminActor"]
