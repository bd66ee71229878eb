"""Who may subscribe and publish to which topic."""

from __future__ import annotations

from typing import Protocol

import attrs


class TopicPolicy(Protocol):
    def may_subscribe(self, user_id: str, topic: str) -> bool: ...

    def may_publish(self, user_id: str, topic: str) -> bool: ...


@attrs.frozen
class OpenPolicy:
    """Anyone may subscribe and publish to any topic (the default)."""

    def may_subscribe(self, user_id: str, topic: str) -> bool:
        return True

    def may_publish(self, user_id: str, topic: str) -> bool:
        return True


@attrs.frozen
class PrivateUserTopics:
    """Topics named `user:<id>` or `user:<id>:<anything>` belong to user `<id>`: only that
    user may subscribe to them; anyone may publish to them (to reach that user).
    Every other topic is open."""

    prefix: str = "user:"

    def _owner(self, topic: str) -> str | None:
        if not topic.startswith(self.prefix):
            return None
        return topic[len(self.prefix) :].split(":", 1)[0]

    def may_subscribe(self, user_id: str, topic: str) -> bool:
        owner = self._owner(topic)
        return owner is None or owner == user_id

    def may_publish(self, user_id: str, topic: str) -> bool:
        return True
