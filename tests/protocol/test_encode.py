"""`encode` and `encode_message`: each server frame's exact JSON, and the caller's bugs."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest

from tether.protocol import (
    NO_RESULT,
    Ack,
    AppReply,
    Error,
    ErrorCode,
    Message,
    Pong,
    Priority,
    ServerFrame,
    Shutdown,
    Welcome,
    encode,
    encode_message,
)


@pytest.mark.parametrize(
    ("frame", "text"),
    [
        (
            Welcome("c-1", "alice", 30.0, 65536, "tether/0.1.0"),
            '{"type":"welcome","connection_id":"c-1","user_id":"alice","heartbeat_interval":30.0,'
            '"max_message_size":65536,"protocol":"tether.v1","server":"tether/0.1.0"}',
        ),
        (
            Message("room:1", "k3f9a-000000000000002a", Priority.HIGH, {"n": 1}, 1700000000.25),
            '{"type":"message","topic":"room:1","id":"k3f9a-000000000000002a",'
            '"priority":"high","data":{"n":1},"ts":1700000000.25}',
        ),
        (Ack("p1"), '{"type":"ack","ref":"p1"}'),
        (Ack(7, None), '{"type":"ack","ref":7,"result":null}'),
        (Ack(7, {"recovered": True}), '{"type":"ack","ref":7,"result":{"recovered":true}}'),
        (
            Error(ErrorCode.FORBIDDEN, "not allowed"),
            '{"type":"error","code":"forbidden","message":"not allowed"}',
        ),
        (
            Error(ErrorCode.RATE_LIMITED, "slow down", 3),
            '{"type":"error","code":"rate_limited","message":"slow down","ref":3}',
        ),
        (Pong(12.5), '{"type":"pong","ts":12.5}'),
        (Pong(12.5, "x"), '{"type":"pong","ts":12.5,"ref":"x"}'),
        (
            Shutdown("server draining", 2500),
            '{"type":"shutdown","reason":"server draining","reconnect_after_ms":2500}',
        ),
        (AppReply("echo", {"data": [1], "ref": 4}), '{"type":"echo","data":[1],"ref":4}'),
    ],
)
def test_frame_text(frame: ServerFrame, text: str) -> None:
    assert encode(frame) == text


def test_app_reply_type_wins_over_a_type_in_the_body() -> None:
    assert orjson.loads(encode(AppReply("echo", {"type": "forged", "x": 1}))) == {
        "type": "echo",
        "x": 1,
    }


def test_ack_result_sentinel_is_not_none() -> None:
    assert Ack(1).result is NO_RESULT
    assert repr(NO_RESULT) == "NO_RESULT"
    assert Ack(1) != Ack(1, None)


def test_encode_message_is_encode_of_a_message() -> None:
    args: tuple[str, str, Priority, Any, float] = (
        "t",
        "e-0000000000000001",
        Priority.LOW,
        "x",
        1.0,
    )
    assert encode_message(*args) == encode(Message(*args))


@pytest.mark.parametrize(
    "frame",
    [
        Message("t", "e-0000000000000001", Priority.NORMAL, object(), 1.0),
        AppReply("x", {"k": {1: "non-string key"}}),
        Ack(1, 2**64),
        Ack(1, "\ud800"),
        AppReply("x", {"bytes": b"raw"}),
    ],
)
def test_unwritable_values_raise_type_error(frame: ServerFrame) -> None:
    with pytest.raises(TypeError):
        encode(frame)


def test_nesting_orjson_cannot_write_raises_type_error() -> None:
    data: Any = 0
    for _ in range(300):
        data = [data]
    with pytest.raises(TypeError):
        encode_message("t", "e-0000000000000001", Priority.NORMAL, data, 1.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_top_level_floats_raise_value_error(bad: float) -> None:
    with pytest.raises(ValueError, match="ts must be finite"):
        encode(Pong(bad))
    with pytest.raises(ValueError, match="ts must be finite"):
        encode_message("t", "e-0000000000000001", Priority.NORMAL, None, bad)
    with pytest.raises(ValueError, match="heartbeat_interval must be finite"):
        encode(Welcome("c", "u", bad, 65536, "s"))


def test_something_that_is_not_a_server_frame_raises_type_error() -> None:
    with pytest.raises(TypeError, match="not a server frame"):
        encode({"type": "ack", "ref": 1})  # type: ignore[arg-type]
