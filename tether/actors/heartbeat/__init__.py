"""The heartbeat: one actor that keeps every connection honest."""

from ._actor import (
    GetHeartbeatStatistics,
    HeartbeatActor,
    HeartbeatStatistics,
    Unwatch,
    Watch,
)
from ._liveness import Liveness

HEARTBEAT = "heartbeat"

__all__ = [
    "HEARTBEAT",
    "GetHeartbeatStatistics",
    "HeartbeatActor",
    "HeartbeatStatistics",
    "Liveness",
    "Unwatch",
    "Watch",
]
