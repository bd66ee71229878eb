"""Topic streams: subscribers, message ids, and the short history that `since` replays.

Pure bookkeeping, owned by the connection manager. Every message published to
a topic gets the next offset of the topic's stream; the id sent to clients is
`epoch-offset`, where the epoch names this stream's lifetime (it changes when
the process restarts, so an old `since` can never silently match a new stream).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from typing import Generic, TypeVar

import attrs

from tether.protocol import format_message_id, parse_message_id

S = TypeVar("S")


@attrs.frozen
class Recovery:
    """What a subscribe with `since` gets: the messages to replay, and whether they close the
    gap completely (False: the client must reload its state)."""

    recovered: bool
    backlog: tuple[str, ...] = ()


class TopicStream(Generic[S]):
    __slots__ = ("history", "next_offset", "subscribers")

    def __init__(self, history_size: int) -> None:
        self.next_offset = 1
        self.subscribers: dict[str, S] = {}
        self.history: deque[tuple[int, str]] = deque(maxlen=history_size)


class Topics(Generic[S]):
    """Every topic that has subscribers, plus the history of up to `max_idle_topics` topics
    that currently have none (least recently used ones are forgotten first)."""

    def __init__(
        self, epoch: str, *, history_size: int = 100, max_idle_topics: int = 10_000
    ) -> None:
        self.epoch = epoch
        self.history_size = history_size
        self.max_idle_topics = max_idle_topics
        self._streams: dict[str, TopicStream[S]] = {}
        self._idle: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._streams)

    def reset(self, epoch: str) -> None:
        """Start every stream again under a new epoch (the history no longer matches)."""
        self.epoch = epoch
        for stream in self._streams.values():
            stream.history.clear()
            stream.next_offset = 1

    def subscribers(self, topic: str) -> Iterable[S]:
        stream = self._streams.get(topic)
        return stream.subscribers.values() if stream is not None else ()

    def subscriber_count(self, topic: str) -> int:
        stream = self._streams.get(topic)
        return len(stream.subscribers) if stream is not None else 0

    def active_topics(self) -> int:
        return len(self._streams) - len(self._idle)

    def _stream(self, topic: str) -> TopicStream[S]:
        stream = self._streams.get(topic)
        if stream is None:
            stream = self._streams[topic] = TopicStream(self.history_size)
        return stream

    def subscribe(self, topic: str, key: str, subscriber: S, since: str | None = None) -> Recovery:
        stream = self._stream(topic)
        stream.subscribers[key] = subscriber
        self._idle.pop(topic, None)
        if since is None:
            return Recovery(recovered=True)
        return self._recover(stream, since)

    def _recover(self, stream: TopicStream[S], since: str) -> Recovery:
        parsed = parse_message_id(since)
        if parsed is None or parsed[0] != self.epoch:
            return Recovery(recovered=False)
        offset = parsed[1]
        if offset >= stream.next_offset:
            return Recovery(recovered=False)  # an id this stream never issued
        oldest_held = stream.history[0][0] if stream.history else stream.next_offset
        backlog = tuple(text for held, text in stream.history if held > offset)
        return Recovery(recovered=offset + 1 >= oldest_held, backlog=backlog)

    def unsubscribe(self, topic: str, key: str) -> bool:
        stream = self._streams.get(topic)
        if stream is None or stream.subscribers.pop(key, None) is None:
            return False
        if not stream.subscribers:
            self._park(topic)
        return True

    def _park(self, topic: str) -> None:
        self._idle[topic] = None
        self._idle.move_to_end(topic)
        while len(self._idle) > self.max_idle_topics:
            forgotten, _ = self._idle.popitem(last=False)
            del self._streams[forgotten]

    def next_id(self, topic: str) -> tuple[str, int]:
        """Reserve the id of the next message of `topic` (the stream is created if needed)."""
        stream = self._stream(topic)
        offset = stream.next_offset
        stream.next_offset += 1
        if not stream.subscribers and topic not in self._idle:
            self._park(topic)
        return format_message_id(self.epoch, offset), offset

    def remember(self, topic: str, offset: int, text: str) -> None:
        stream = self._streams.get(topic)
        if stream is None:
            return
        # Offsets numbered elsewhere (by the bus) move this stream forward too.
        stream.next_offset = max(stream.next_offset, offset + 1)
        if self.history_size > 0:
            stream.history.append((offset, text))
