"""The actor runtime (Actor, ActorRef, handlers, mailboxes) and the service's actors."""

from ._actor import (
    Actor,
    ActorCell,
    ActorState,
    ActorStatistics,
    StopKind,
    StopReason,
    handler,
)
from ._errors import (
    ActorCrashed,
    ActorError,
    ActorStopped,
    AskTimeout,
    MailboxFull,
    NoSuchActor,
    UnknownMessage,
)
from ._mailbox import ActorRef, Mailbox
from ._registry import Registry

__all__ = [
    "Actor",
    "ActorCell",
    "ActorCrashed",
    "ActorError",
    "ActorRef",
    "ActorState",
    "ActorStatistics",
    "ActorStopped",
    "AskTimeout",
    "Mailbox",
    "MailboxFull",
    "NoSuchActor",
    "Registry",
    "StopKind",
    "StopReason",
    "UnknownMessage",
    "handler",
]
