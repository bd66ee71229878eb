"""The connection manager: the single owner of connections, users and topics."""

from ._actor import ConnectionManager
from ._client import ManagerClient
from ._messages import (
    Admit,
    Broadcast,
    Disconnected,
    GetStatistics,
    Kick,
    ManagerStatistics,
    Refused,
    SendToConnection,
    SendToUser,
    StopAdmitting,
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
    "Broadcast",
    "ConnectionManager",
    "Disconnected",
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
    "StopAdmitting",
    "TopicPolicy",
    "TopicPublish",
    "TopicSubscribe",
    "TopicUnsubscribe",
    "Topics",
]
