"""Cross-node delivery of topic messages through Redis pub/sub."""

from ._actor import RedisBus
from ._messages import (
    BusState,
    BusStatistics,
    GetBusStatistics,
    Interest,
    Outgoing,
    RemoteDelivery,
)

BUS = "bus"

__all__ = [
    "BUS",
    "BusState",
    "BusStatistics",
    "GetBusStatistics",
    "Interest",
    "Outgoing",
    "RedisBus",
    "RemoteDelivery",
]
