"""Supervisor-scoped names: a lookup searches its own scope, then each parent's."""

from __future__ import annotations

from ._errors import NoSuchActor
from ._mailbox import ActorRef, Mailbox


class Registry:
    """The names of one supervisor's actors, chained to the parent supervisor's registry."""

    __slots__ = ("_names", "parent")

    def __init__(self, parent: Registry | None = None) -> None:
        self.parent = parent
        self._names: dict[str, Mailbox] = {}

    def register(self, mailbox: Mailbox) -> None:
        if mailbox.name in self._names:
            raise ValueError(f"an actor named {mailbox.name!r} is already registered here")
        self._names[mailbox.name] = mailbox

    def unregister(self, name: str) -> None:
        self._names.pop(name, None)

    def lookup(self, name: str) -> ActorRef:
        """The ref registered under `name` here or in an enclosing scope; raises `NoSuchActor`."""
        registry: Registry | None = self
        while registry is not None:
            mailbox = registry._names.get(name)
            if mailbox is not None:
                return ActorRef(mailbox)
            registry = registry.parent
        raise NoSuchActor(name)

    def expose(self, name: str, inner: Registry) -> None:
        """Make the actor `name` of a child supervisor's registry visible from this scope (and
        so from every scope below it), e.g. the queue actor inside the queue subtree."""
        mailbox = inner._names.get(name)
        if mailbox is None:
            raise NoSuchActor(name)
        self.register(mailbox)

    def names(self) -> list[str]:
        return list(self._names)
