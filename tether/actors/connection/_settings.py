"""What every connection of a service shares: limits and timing."""

from __future__ import annotations

import attrs


@attrs.frozen
class ConnectionSettings:
    max_message_size: int = 65_536
    max_outbox_bytes: int = 1_048_576
    rate_limit: float = 100.0
    rate_burst: int = 200
    heartbeat_interval: float = 30.0
    handshake_timeout: float = 10.0
    close_timeout: float = 2.0
    # Clients are told to wait a random time up to this before reconnecting after a drain.
    reconnect_spread_ms: int = 5_000
    server_name: str = "tether"
