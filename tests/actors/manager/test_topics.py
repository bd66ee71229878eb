"""Topic streams: ids, history, and what a subscribe with `since` recovers."""

from __future__ import annotations

from tether.actors.manager import Topics
from tether.protocol import format_message_id


def publish(topics: Topics[str], topic: str, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        message_id, offset = topics.next_id(topic)
        topics.remember(topic, offset, f"text-{offset}")
        ids.append(message_id)
    return ids


def test_ids_increase_within_a_topic_and_carry_the_epoch() -> None:
    topics: Topics[str] = Topics("e1")
    ids = publish(topics, "news", 3)
    assert ids == sorted(ids)
    assert ids[0] == format_message_id("e1", 1)


def test_since_replays_what_was_missed_in_order() -> None:
    topics: Topics[str] = Topics("e1", history_size=10)
    ids = publish(topics, "news", 5)
    recovery = topics.subscribe("news", "c1", "peer", since=ids[1])
    assert recovery.recovered
    assert recovery.backlog == ("text-3", "text-4", "text-5")


def test_since_the_latest_message_recovers_nothing_to_replay() -> None:
    topics: Topics[str] = Topics("e1")
    ids = publish(topics, "news", 2)
    recovery = topics.subscribe("news", "c1", "peer", since=ids[-1])
    assert recovery.recovered and recovery.backlog == ()


def test_a_gap_beyond_the_history_is_not_recovered() -> None:
    topics: Topics[str] = Topics("e1", history_size=2)
    ids = publish(topics, "news", 5)
    recovery = topics.subscribe("news", "c1", "peer", since=ids[0])
    assert not recovery.recovered
    assert recovery.backlog == ("text-4", "text-5")


def test_another_epoch_or_garbage_or_a_future_id_is_not_recovered() -> None:
    topics: Topics[str] = Topics("e2")
    publish(topics, "news", 2)
    for since in (format_message_id("e1", 1), "garbage", format_message_id("e2", 99)):
        assert not topics.subscribe("news", "c1", "peer", since=since).recovered


def test_subscribers_come_and_go() -> None:
    topics: Topics[str] = Topics("e1")
    topics.subscribe("news", "c1", "peer1")
    topics.subscribe("news", "c2", "peer2")
    assert list(topics.subscribers("news")) == ["peer1", "peer2"]
    assert topics.unsubscribe("news", "c1")
    assert not topics.unsubscribe("news", "c1")
    assert list(topics.subscribers("news")) == ["peer2"]
    topics.unsubscribe("news", "c2")
    assert topics.active_topics() == 0


def test_idle_topics_are_forgotten_least_recently_used_first() -> None:
    topics: Topics[str] = Topics("e1", max_idle_topics=2)
    for name in ("a", "b", "c"):
        publish(topics, name, 1)
    assert len(topics) == 2
    # "a" was forgotten: its stream starts again, so an old id no longer matches.
    assert not topics.subscribe("a", "c1", "p", since=format_message_id("e1", 1)).recovered
