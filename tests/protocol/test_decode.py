"""`decode`: each client frame, and each way a frame can be refused."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tether.protocol import (
    MAX_DEPTH,
    AppFrame,
    Error,
    ErrorCode,
    FrameId,
    Ping,
    Priority,
    ProtocolError,
    Publish,
    Subscribe,
    Unsubscribe,
    decode,
)


def test_subscribe() -> None:
    assert decode('{"type":"subscribe","topic":"room:42"}') == Subscribe("room:42")
    assert decode(
        '{"type":"subscribe","topic":"room:42","id":"s1","since":"k3f9a-000000000000002a"}'
    ) == Subscribe("room:42", id="s1", since="k3f9a-000000000000002a")


def test_unsubscribe() -> None:
    assert decode('{"type":"unsubscribe","topic":"a/b","id":7}') == Unsubscribe("a/b", id=7)


def test_publish() -> None:
    frame = decode('{"type":"publish","topic":"t","data":{"x":[1,2.5,"y"]},"id":"p"}')
    assert frame == Publish("t", {"x": [1, 2.5, "y"]}, Priority.NORMAL, id="p")


def test_publish_priority_and_null_data() -> None:
    frame = decode('{"type":"publish","topic":"t","data":null,"priority":"critical"}')
    assert frame == Publish("t", None, Priority.CRITICAL)


def test_ping() -> None:
    assert decode('{"type":"ping"}') == Ping()
    assert decode('{"type":"ping","id":-1}') == Ping(id=-1)


def test_any_other_type_is_an_app_frame_with_the_whole_object_as_body() -> None:
    frame = decode('{"type":"echo","id":3,"data":"hi"}')
    assert frame == AppFrame("echo", 3, {"type": "echo", "id": 3, "data": "hi"})
    assert decode('{"type":"chat.v2-send_x"}') == AppFrame(
        "chat.v2-send_x", None, {"type": "chat.v2-send_x"}
    )


def test_bytes_are_decoded_as_utf8() -> None:
    assert decode('{"type":"publish","topic":"t","data":"ünï"}'.encode()) == Publish("t", "ünï")


def test_unknown_fields_on_control_frames_are_ignored() -> None:
    assert decode('{"type":"ping","v":2,"flags":[1]}') == Ping()
    assert decode('{"type":"unsubscribe","topic":"t","since":5}') == Unsubscribe("t")


def test_null_optional_fields_are_absent() -> None:
    assert decode('{"type":"subscribe","topic":"t","id":null,"since":null}') == Subscribe("t")
    assert decode('{"type":"publish","topic":"t","data":1,"priority":null}') == Publish("t", 1)


def test_id_limits_are_inclusive() -> None:
    valid: list[FrameId] = ["x", "x" * 128, -(2**63), 2**63 - 1, 0]
    for frame_id in valid:
        assert decode(orjson.dumps({"type": "ping", "id": frame_id})) == Ping(id=frame_id)


def test_topic_limits_and_characters() -> None:
    topic = "Aa0_-.:/@" + "z" * 191
    assert decode(orjson.dumps({"type": "subscribe", "topic": topic})) == Subscribe(topic)


def test_since_may_be_any_short_string() -> None:
    # Whether `since` names a position in the stream is the service's question.
    for since in ["", "not-an-id", "s" * 128]:
        frame = decode(orjson.dumps({"type": "subscribe", "topic": "t", "since": since}))
        assert frame == Subscribe("t", since=since)


@pytest.mark.parametrize("padding", [0, 100], ids=["few brackets", "many brackets"])
def test_data_nested_up_to_the_depth_limit_is_accepted(padding: int) -> None:
    data: Any = []
    for _ in range(MAX_DEPTH - 2):
        data = [data]
    # Padding pushes the bracket count over the limit, so the depth is really measured.
    obj = {"type": "publish", "topic": "t", "data": data, "padding": [[]] * padding}
    assert decode(orjson.dumps(obj)) == Publish("t", data)


def test_many_shallow_containers_are_not_mistaken_for_depth() -> None:
    data: list[dict[str, list[Any]]] = [{"a": []} for _ in range(200)]
    assert decode(orjson.dumps({"type": "publish", "topic": "t", "data": data})) == Publish(
        "t", data
    )


def test_memoryview_input_is_measured_not_counted() -> None:
    assert decode(memoryview(b'{"type":"ping"}')) == Ping()  # type: ignore[arg-type]


# --- refusals ------------------------------------------------------------------------

_TOO_DEEP = '{"type":"publish","topic":"t","id":9,"data":' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}"

REFUSALS: list[tuple[str | bytes, ErrorCode, str, Any]] = [
    # (input, code, words the message must contain, expected ref)
    ("", ErrorCode.INVALID_JSON, "JSON", None),
    ("{", ErrorCode.INVALID_JSON, "JSON", None),
    ("{'type': 'ping'}", ErrorCode.INVALID_JSON, "JSON", None),
    ('{"type":"ping"} x', ErrorCode.INVALID_JSON, "JSON", None),
    ("NaN", ErrorCode.INVALID_JSON, "JSON", None),
    ('{"type":"publish","topic":"t","data":1e400}', ErrorCode.INVALID_JSON, "JSON", None),
    (b'{"type":"ping","x":"\xff"}', ErrorCode.INVALID_JSON, "UTF-8", None),
    (b'\xef\xbb\xbf{"type":"ping"}', ErrorCode.INVALID_JSON, "JSON", None),
    ('{"type":"ping","x":"\ud800"}', ErrorCode.INVALID_JSON, "UTF-8", None),
    ('{"type":"ping","x":"\\ud800"}', ErrorCode.INVALID_JSON, "JSON", None),
    ("[" * 2000 + "]" * 2000, ErrorCode.INVALID_JSON, "JSON", None),
    ("[]", ErrorCode.INVALID_FRAME, "JSON object, not an array", None),
    ('"ping"', ErrorCode.INVALID_FRAME, "JSON object, not a string", None),
    ("1", ErrorCode.INVALID_FRAME, "JSON object, not a number", None),
    ("true", ErrorCode.INVALID_FRAME, "JSON object, not a boolean", None),
    ("null", ErrorCode.INVALID_FRAME, "JSON object, not null", None),
    ("{}", ErrorCode.INVALID_FRAME, "missing field 'type'", None),
    ('{"id":"c1"}', ErrorCode.INVALID_FRAME, "missing field 'type'", "c1"),
    ('{"type":null,"id":1}', ErrorCode.INVALID_FRAME, "field 'type'", 1),
    ('{"type":3}', ErrorCode.INVALID_FRAME, "field 'type'", None),
    ('{"type":""}', ErrorCode.INVALID_FRAME, "field 'type'", None),
    ('{"type":"Ping"}', ErrorCode.INVALID_FRAME, "field 'type'", None),
    ('{"type":"1x"}', ErrorCode.INVALID_FRAME, "field 'type'", None),
    ('{"type":"ping\\n"}', ErrorCode.INVALID_FRAME, "field 'type'", None),
    ('{"type":"a b"}', ErrorCode.INVALID_FRAME, "field 'type'", None),
    ('{"type":"x' + "y" * 64 + '"}', ErrorCode.INVALID_FRAME, "field 'type'", None),
    ('{"type":"ping","id":true}', ErrorCode.INVALID_FRAME, "field 'id'", None),
    ('{"type":"ping","id":1.0}', ErrorCode.INVALID_FRAME, "field 'id'", None),
    ('{"type":"ping","id":""}', ErrorCode.INVALID_FRAME, "field 'id'", None),
    ('{"type":"ping","id":"' + "i" * 129 + '"}', ErrorCode.INVALID_FRAME, "field 'id'", None),
    ('{"type":"ping","id":9223372036854775808}', ErrorCode.INVALID_FRAME, "field 'id'", None),
    # orjson reads an integer beyond 64 bits as a float.
    ('{"type":"ping","id":99999999999999999999}', ErrorCode.INVALID_FRAME, "field 'id'", None),
    ('{"type":"ping","id":[1]}', ErrorCode.INVALID_FRAME, "field 'id'", None),
    ('{"type":"echo","id":{}}', ErrorCode.INVALID_FRAME, "field 'id'", None),
    ('{"type":"subscribe","id":1}', ErrorCode.INVALID_FRAME, "missing field 'topic'", 1),
    ('{"type":"unsubscribe"}', ErrorCode.INVALID_FRAME, "missing field 'topic'", None),
    ('{"type":"subscribe","topic":null,"id":2}', ErrorCode.INVALID_FRAME, "field 'topic'", 2),
    ('{"type":"subscribe","topic":""}', ErrorCode.INVALID_FRAME, "field 'topic'", None),
    ('{"type":"subscribe","topic":"a b"}', ErrorCode.INVALID_FRAME, "field 'topic'", None),
    ('{"type":"subscribe","topic":"caf\u00e9"}', ErrorCode.INVALID_FRAME, "field 'topic'", None),
    ('{"type":"subscribe","topic":"t\\n"}', ErrorCode.INVALID_FRAME, "field 'topic'", None),
    ('{"type":"unsubscribe","topic":7}', ErrorCode.INVALID_FRAME, "field 'topic'", None),
    ('{"type":"publish","topic":"' + "t" * 201 + '","data":1}', ErrorCode.INVALID_FRAME,
     "field 'topic'", None),
    ('{"type":"subscribe","topic":"t","since":42,"id":"s"}', ErrorCode.INVALID_FRAME,
     "field 'since'", "s"),
    ('{"type":"subscribe","topic":"t","since":"' + "s" * 129 + '"}', ErrorCode.INVALID_FRAME,
     "field 'since'", None),
    ('{"type":"publish","topic":"t","id":"p"}', ErrorCode.INVALID_FRAME, "missing field 'data'",
     "p"),
    ('{"type":"publish","topic":"t","data":1,"priority":"urgent"}', ErrorCode.INVALID_FRAME,
     "field 'priority'", None),
    ('{"type":"publish","topic":"t","data":1,"priority":"HIGH"}', ErrorCode.INVALID_FRAME,
     "field 'priority'", None),
    ('{"type":"publish","topic":"t","data":1,"priority":1,"id":3}', ErrorCode.INVALID_FRAME,
     "field 'priority'", 3),
    (_TOO_DEEP, ErrorCode.INVALID_FRAME, f"more than {MAX_DEPTH} levels", 9),
    ('{"type":"echo","id":"e","x":' + '{"k":' * 70 + "0" + "}" * 70 + "}", ErrorCode.INVALID_FRAME,
     "levels", "e"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "code", "words", "ref"), REFUSALS)
def test_refusal(text: str | bytes, code: ErrorCode, words: str, ref: Any) -> None:
    result = decode(text)
    assert isinstance(result, ProtocolError)
    assert result.code is code
    assert words in result.message
    assert result.ref == ref
    assert type(result.ref) is type(ref)


def test_every_code_decode_can_produce_has_an_example() -> None:
    assert {code for _, code, _, _ in REFUSALS} == {
        ErrorCode.INVALID_JSON,
        ErrorCode.INVALID_FRAME,
    }


def test_refusal_becomes_the_error_frame_the_client_is_sent() -> None:
    result = decode('{"type":"subscribe","id":"s1"}')
    assert isinstance(result, ProtocolError)
    assert result.as_frame() == Error(ErrorCode.INVALID_FRAME, "missing field 'topic'", "s1")


def test_refusal_messages_do_not_echo_client_input() -> None:
    # A message is sent back verbatim; repeating the client's 64 KiB string would not help.
    secret = "s" * 5000
    for text in [
        orjson.dumps({"type": "subscribe", "topic": secret}),
        orjson.dumps({"type": "ping", "id": secret}),
        orjson.dumps({"type": "publish", "topic": "t", "data": 1, "priority": secret}),
        orjson.dumps({"type": secret}),
    ]:
        result = decode(text)
        assert isinstance(result, ProtocolError)
        assert len(result.message) < 200
