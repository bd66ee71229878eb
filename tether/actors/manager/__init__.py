"""The connection manager: the single owner of connections, users and topics."""

from ._actor import ConnectionManager
from ._client import ManagerClient
from ._messages import (
    Admit,
    Barrier,
    BeginDrain,
    Broadcast,
    Disconnected,
    DrainReport,
    GetStatistics,
    Kick,
    ManagerStatistics,
    Refused,
    SendToConnection,
    SendToUser,
    TopicPublish,
    TopicSubscribe,
    TopicUnsubscribe,
)
from ._policy import OpenPolicy, PrivateUserTopics, TopicPolicy
from ._topics import Recovery, Topics

MANAGER = "manager"

__all__ = [
    "MANAGER",
    "Admit",
    "Barrier",
    "BeginDrain",
    "Broadcast",
    "ConnectionManager",
    "Disconnected",
    "DrainReport",
    "GetStatistics",
    "Kick",
    "ManagerClient",
    "ManagerStatistics",
    "OpenPolicy",
    "PrivateUserTopics",
    "Recovery",
    "Refused",
    "SendToConnection",
    "SendToUser",
    "TopicPolicy",
    "TopicPublish",
    "TopicSubscribe",
    "TopicUnsubscribe",
    "Topics",
]
