"""Every queue test that takes `backend` runs once in memory and once against a real Redis."""

from __future__ import annotations

import pytest
import trio.testing

from tests.support.redis import RedisServer


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory"
    server: RedisServer = request.getfixturevalue("redis_server")
    if not server.running:
        server.start()
    return server.url


@pytest.fixture
def clock(backend: str) -> trio.testing.MockClock:
    """Fake time. With Redis the clock jumps only after 50 ms of real idleness, so that it does
    not leap ahead while a reply is on its way."""
    return trio.testing.MockClock(autojump_threshold=0.0 if backend == "memory" else 0.05)


@pytest.fixture
def redis_clock() -> trio.testing.MockClock:
    """For tests that talk to Redis without the `backend` parameter."""
    return trio.testing.MockClock(autojump_threshold=0.05)
