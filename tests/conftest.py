"""Fixtures shared by several test packages."""

from tests.support.redis import redis_server

__all__ = ["redis_server"]
