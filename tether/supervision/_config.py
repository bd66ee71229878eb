"""The operator's settings for `tether serve` (see docs/operations.md)."""

from __future__ import annotations

import attrs


@attrs.frozen
class ServiceConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    path: str = "/ws"
    admin_port: int | None = None
    redis_url: str | None = None
    jwt_secret: str | None = attrs.field(default=None, repr=False)
    jwt_public_key: str | None = attrs.field(default=None, repr=False)
    allowed_origins: frozenset[str] | None = None
    heartbeat_interval: float = 30.0
    heartbeat_max_missed: int = 3
    zombie_timeout: float | None = None  # default: two heartbeat intervals
    max_connections: int = 10_000
    max_connections_per_user: int = 10
    max_message_size: int = 65_536
    max_outbox_bytes: int = 1_048_576
    rate_limit: float = 100.0
    rate_burst: int = 200
    drain_timeout: float = 10.0
    queue_workers: int = 4
    queue_capacity: int = 100_000
    max_subscriptions: int = 100
    history_size: int = 100
    handshake_timeout: float = 10.0
    private_user_topics: bool = False
    examples: bool = True
