"""`tether serve` end to end, through a real WebSocket client: the frames of protocol v1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed

from tether.protocol import parse_message_id

from ..support.client import open_client, recv, recv_type, send, welcomed
from ..support.server import ServerProcess, tether_server


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with tether_server(
        "--rate-limit",
        "0",
        "--app",
        "tests.support.app:setup",
        "--private-user-topics",
        "--max-subscriptions",
        "3",
        "--max-outbox-bytes",
        "8192",
        "--max-message-size",
        "16384",
        "--heartbeat-interval",
        "15",
    ) as process:
        yield process


def test_welcome_is_the_first_frame_and_tether_v1_is_selected(server: ServerProcess) -> None:
    with open_client(server.url, user="alice") as ws:
        assert ws.subprotocol == "tether.v1"
        welcome = welcomed(ws)
        assert welcome["user_id"] == "alice"
        assert welcome["protocol"] == "tether.v1"
        assert welcome["heartbeat_interval"] == 15
        assert welcome["max_message_size"] == 16384
        assert welcome["connection_id"]
        assert welcome["server"]
    assert "connected" in server.wait_for(r"connected .*user_id=alice").group(0)


def test_ping_is_answered_with_pong(server: ServerProcess) -> None:
    with open_client(server.url) as ws:
        welcomed(ws)
        send(ws, type="ping", id="p1")
        pong = recv(ws)
        assert pong["type"] == "pong" and pong["ref"] == "p1" and pong["ts"] > 0


def test_publish_reaches_every_subscriber_with_an_ack(server: ServerProcess) -> None:
    with open_client(server.url) as a, open_client(server.url) as b, open_client(server.url) as c:
        for ws in (a, b, c):
            welcomed(ws)
        for ws in (a, b):
            send(ws, type="subscribe", topic="room:1", id="s")
            assert recv(ws) == {"type": "ack", "ref": "s"}
        send(c, type="publish", topic="room:1", data={"hello": [1, 2]}, priority="high", id=7)
        ack = recv(c)
        assert ack["type"] == "ack" and ack["ref"] == 7 and ack["result"]["id"]
        for ws in (a, b):
            message = recv(ws)
            assert message["type"] == "message"
            assert message["topic"] == "room:1"
            assert message["data"] == {"hello": [1, 2]}
            assert message["priority"] == "high"
            assert parse_message_id(message["id"]) is not None
            assert message["ts"] > 0


def test_unsubscribe_stops_delivery(server: ServerProcess) -> None:
    with open_client(server.url) as sub, open_client(server.url) as pub:
        welcomed(sub)
        welcomed(pub)
        send(sub, type="subscribe", topic="room:2", id=1)
        recv(sub)
        send(sub, type="unsubscribe", topic="room:2", id=2)
        assert recv(sub) == {"type": "ack", "ref": 2}
        send(pub, type="publish", topic="room:2", data="missed", id=1)
        recv(pub)
        send(sub, type="ping", id="after")
        assert recv(sub)["type"] == "pong"  # nothing was delivered in between


def test_subscribe_since_replays_what_was_missed(server: ServerProcess) -> None:
    with open_client(server.url) as pub, open_client(server.url) as early:
        welcomed(pub)
        welcomed(early)
        send(early, type="subscribe", topic="feed", id="s")
        recv(early)
        for n in range(4):
            send(pub, type="publish", topic="feed", data=n, id=n)
            assert recv(pub)["type"] == "ack"
        ids = [recv_type(early, "message")["id"] for _ in range(4)]
    with open_client(server.url) as late:
        welcomed(late)
        send(late, type="subscribe", topic="feed", since=ids[1], id="s")
        frames = [recv(late) for _ in range(3)]
        ack = next(f for f in frames if f["type"] == "ack")
        assert ack == {"type": "ack", "ref": "s", "result": {"recovered": True}}
        replayed = [f for f in frames if f["type"] == "message"]
        assert [m["data"] for m in replayed] == [2, 3]
        assert [m["id"] for m in replayed] == ids[2:]
        send(late, type="subscribe", topic="feed", since="old-0000000000000001", id="t")
        assert recv(late) == {"type": "ack", "ref": "t", "result": {"recovered": False}}


def test_echo_actor(server: ServerProcess) -> None:
    with open_client(server.url) as ws:
        welcomed(ws)
        send(ws, type="echo", data={"x": [1, "two"]}, id="e1")
        assert recv(ws) == {"type": "echo", "data": {"x": [1, "two"]}, "ref": "e1"}


def test_chat_room(server: ServerProcess) -> None:
    with open_client(server.url, user="ann") as ann, open_client(server.url, user="bob") as bob:
        welcomed(ann)
        welcomed(bob)
        send(bob, type="chat.join", room="lobby", id="j")
        assert recv(bob) == {"type": "ack", "ref": "j"}
        send(ann, type="chat.say", room="lobby", text="hi bob", id="s")
        assert recv(ann)["type"] == "ack"
        message = recv_type(bob, "message")
        assert message["topic"] == "chat:lobby"
        assert message["data"] == {"user": "ann", "text": "hi bob"}
        send(bob, type="chat.history", room="lobby", id="h")
        history = recv(bob)
        assert history["type"] == "chat.history" and history["ref"] == "h"
        assert history["messages"][-1] == {"user": "ann", "text": "hi bob"}


# Every error code ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code", "ref"),
    [
        ("{not json", "invalid_json", None),
        ('["an", "array"]', "invalid_frame", None),
        ('{"type": "subscribe", "topic": "bad topic!", "id": "x1"}', "invalid_frame", "x1"),
        ('{"type": "publish", "topic": "t", "id": 3}', "invalid_frame", 3),
        (
            '{"type": "publish", "topic": "t", "data": 1, "priority": "urgent"}',
            "invalid_frame",
            None,
        ),
        ('{"type": "nobody.handles.this", "id": "u"}', "unknown_type", "u"),
        ('{"type": "subscribe", "topic": "user:someone-else", "id": "f"}', "forbidden", "f"),
        ('{"type": "test.fragile", "id": "boom"}', "internal", "boom"),
        ('{"type": "test.broken", "id": "bang"}', "internal", "bang"),
    ],
)
def test_bad_frames_get_an_error_and_the_connection_stays(
    server: ServerProcess, frame: str, code: str, ref: object
) -> None:
    with open_client(server.url, user="me") as ws:
        welcomed(ws)
        ws.send(frame)
        error = recv(ws)
        assert error["type"] == "error" and error["code"] == code, error
        assert error.get("ref") == ref
        assert error["message"]
        send(ws, type="ping", id="still-open")
        assert recv_type(ws, "pong")["ref"] == "still-open"


def test_a_binary_frame_is_unsupported(server: ServerProcess) -> None:
    with open_client(server.url) as ws:
        welcomed(ws)
        ws.send(b"\x00\x01binary")
        error = recv(ws)
        assert error["code"] == "unsupported_frame"


def test_subscribing_to_own_private_topic_is_allowed(server: ServerProcess) -> None:
    with open_client(server.url, user="me") as ws:
        welcomed(ws)
        send(ws, type="subscribe", topic="user:me:inbox", id=1)
        assert recv(ws) == {"type": "ack", "ref": 1}


def test_the_subscription_limit_is_forbidden(server: ServerProcess) -> None:
    with open_client(server.url) as ws:
        welcomed(ws)
        for n in range(3):
            send(ws, type="subscribe", topic=f"t{n}", id=n)
            assert recv(ws)["type"] == "ack"
        send(ws, type="subscribe", topic="t3", id=3)
        error = recv(ws)
        assert error["code"] == "forbidden" and error["ref"] == 3


def test_a_publish_too_large_for_an_outbox_is_refused(server: ServerProcess) -> None:
    with open_client(server.url) as ws:
        welcomed(ws)
        send(ws, type="publish", topic="big", data="x" * 9000, id="big")
        error = recv(ws)
        assert error["code"] == "too_large" and error["ref"] == "big"


def test_a_frame_over_max_message_size_closes_with_1009(server: ServerProcess) -> None:
    with open_client(server.url) as ws:
        welcomed(ws)
        send(ws, type="echo", data="y" * 20_000)
        with pytest.raises(ConnectionClosed) as info:
            recv(ws)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1009


def test_the_crashed_actor_was_restarted(server: ServerProcess) -> None:
    with open_client(server.url) as ws:
        welcomed(ws)
        for n in range(2):
            send(ws, type="test.fragile", id=n)
            assert recv(ws)["code"] == "internal"
    server.wait_for(r"child restarted.*test\.fragile")


def test_rate_limit_refuses_excess_then_closes_abuse() -> None:
    with (
        tether_server("--rate-limit", "1", "--rate-burst", "5") as server,
        open_client(server.url) as ws,
    ):
        welcomed(ws)
        for n in range(5):
            send(ws, type="ping", id=n)
        for n in range(5):
            assert recv(ws)["ref"] == n
        send(ws, type="ping", id="over")
        error = recv(ws)
        assert error["type"] == "error" and error["code"] == "rate_limited"
        with pytest.raises(ConnectionClosed) as info:
            for _ in range(100):
                ws.send(json.dumps({"type": "ping"}))
                recv(ws)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1008


def test_a_durable_frame_is_acknowledged_then_retried_until_done() -> None:
    with (
        tether_server("--app", "tests.support.app:setup_durable", "--rate-limit", "0") as server,
        open_client(server.url) as ws,
    ):
        welcomed(ws)
        send(ws, type="order.place", order="book", id="o1")
        ack = recv(ws)
        assert ack["type"] == "ack" and ack["ref"] == "o1" and ack["result"]["id"]
        done = recv_type(ws, "order.done")
        assert done == {"type": "order.done", "order": "book", "attempt": 2}
