"""The exceptions an actor's callers can see, each naming the actor involved."""

from __future__ import annotations


class ActorError(Exception):
    """Base class of every error raised by the actor runtime at a caller."""

    def __init__(self, actor: str, message: str) -> None:
        super().__init__(message)
        self.actor = actor


class UnknownMessage(ActorError):
    """The actor has no handler for this message type (a sender's bug, never a silent drop)."""

    def __init__(self, actor: str, message_type: type) -> None:
        super().__init__(
            actor, f"actor {actor!r} does not handle messages of type {message_type.__qualname__}"
        )
        self.message_type = message_type


class MailboxFull(ActorError):
    """`try_tell` found no room in the mailbox; the message was not delivered."""

    def __init__(self, actor: str, capacity: int) -> None:
        super().__init__(actor, f"mailbox of actor {actor!r} is full ({capacity} messages)")
        self.capacity = capacity


class ActorStopped(ActorError):
    """The actor is not running and will not take this message."""

    def __init__(self, actor: str) -> None:
        super().__init__(actor, f"actor {actor!r} is not running")


class ActorCrashed(ActorError):
    """The actor died while handling this caller's `ask`; `__cause__` is what killed it."""

    def __init__(self, actor: str, error: BaseException) -> None:
        super().__init__(actor, f"actor {actor!r} crashed handling the request: {error!r}")
        self.error = error


class AskTimeout(ActorError):
    """No reply arrived before the `ask` deadline."""

    def __init__(self, actor: str, message_type: type, timeout: float) -> None:
        super().__init__(
            actor,
            f"actor {actor!r} did not reply to {message_type.__qualname__} within {timeout:g} s",
        )
        self.timeout = timeout


class NoSuchActor(LookupError):
    """No actor is registered under this name in the supervisor's scope or above it."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no actor named {name!r} in this supervision tree")
        self.name = name
