"""Properties of the codec over generated input: decode is total, frames round-trip,
server frames have exactly their documented keys, and decoded data can be sent back."""

from __future__ import annotations

import re
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from tether.protocol import (
    MAX_DEPTH,
    MAX_ID_LENGTH,
    MAX_TOPIC_LENGTH,
    NO_RESULT,
    Ack,
    AppFrame,
    AppReply,
    ClientFrame,
    Error,
    ErrorCode,
    Message,
    Ping,
    Pong,
    Priority,
    ProtocolError,
    Publish,
    ServerFrame,
    Shutdown,
    Subscribe,
    Unsubscribe,
    Welcome,
    decode,
    encode,
    encode_message,
)

from ._strategies import (
    CONTROL_TYPES,
    FAST,
    TOPIC_ALPHABET,
    app_frames_with_json,
    app_types,
    client_frames_with_json,
    frame_ids,
    json_values,
    priorities,
    server_frames,
    sinces,
    topics,
)

CLIENT_FRAME_TYPES = (Subscribe, Unsubscribe, Publish, Ping, AppFrame)


def _is_valid_id(value: Any) -> bool:
    if type(value) is int:
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and 1 <= len(value) <= MAX_ID_LENGTH


def _assert_decoded(result: ClientFrame | ProtocolError) -> None:
    assert isinstance(result, (ProtocolError, *CLIENT_FRAME_TYPES))
    if isinstance(result, ProtocolError):
        assert result.code in {ErrorCode.INVALID_JSON, ErrorCode.INVALID_FRAME}
        assert result.ref is None or _is_valid_id(result.ref)
        assert isinstance(result.message, str) and result.message
        encode(result.as_frame())


# --- decode is total -----------------------------------------------------------------


@FAST
@given(st.text(st.characters() | st.characters(categories=["Cs"])))
def test_decode_never_raises_on_text(text: str) -> None:
    _assert_decoded(decode(text))


@FAST
@given(st.binary())
def test_decode_never_raises_on_bytes(data: bytes) -> None:
    _assert_decoded(decode(data))


@FAST
@given(json_values, st.booleans())
def test_decode_never_raises_on_json_values(value: Any, as_bytes: bool) -> None:
    raw = orjson.dumps(value)
    _assert_decoded(decode(raw if as_bytes else raw.decode()))


# Field values that are sometimes right and often wrong, to reach every check.
_anything = json_values | frame_ids | topics | sinces | st.sampled_from(["high", "urgent"])
_frame_like = st.fixed_dictionaries(
    {"type": st.sampled_from(CONTROL_TYPES) | app_types | json_values},
    optional={
        "id": _anything,
        "topic": _anything,
        "since": _anything,
        "data": _anything,
        "priority": _anything,
    },
)


@FAST
@given(_frame_like)
def test_decode_never_raises_on_frame_like_objects(obj: dict[str, Any]) -> None:
    result = decode(orjson.dumps(obj))
    _assert_decoded(result)
    if isinstance(result, ProtocolError):
        assert result.code is ErrorCode.INVALID_FRAME
        # A refused frame with a usable id is still correlated.
        assert result.ref == (obj["id"] if _is_valid_id(obj.get("id")) else None)


_PRIORITY_NAMES = {"critical", "high", "normal", "low"}
_not_a_string = json_values.filter(lambda value: value is not None and not isinstance(value, str))
_too_long = st.text(min_size=MAX_ID_LENGTH + 1, max_size=MAX_TOPIC_LENGTH + 20).filter(
    lambda text: len(text) > MAX_TOPIC_LENGTH
)
_BAD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "type": _not_a_string
    | st.none()
    | st.text().filter(lambda text: re.fullmatch(r"[a-z][a-z0-9_.\-]*", text) is None)
    | st.from_regex(r"[a-z]{65,80}", fullmatch=True),
    "id": _not_a_string.filter(lambda value: not _is_valid_id(value))
    | st.just("")
    | _too_long
    | st.integers(2**63, 2**64 - 1),
    "topic": _not_a_string
    | st.none()
    | st.just("")
    | _too_long
    | st.text(min_size=1).filter(lambda text: not set(text) <= set(TOPIC_ALPHABET)),
    "since": _not_a_string | _too_long,
    "priority": _not_a_string | st.text().filter(lambda text: text not in _PRIORITY_NAMES),
}
_FIELDS_CHECKED = {
    Subscribe: ["type", "id", "topic", "since"],
    Unsubscribe: ["type", "id", "topic"],
    Publish: ["type", "id", "topic", "priority"],
    Ping: ["type", "id"],
    AppFrame: ["type", "id"],
}


@FAST
@given(client_frames_with_json() | app_frames_with_json(), st.data())
def test_one_bad_field_is_refused_by_name(
    case: tuple[ClientFrame, bytes], data: st.DataObject
) -> None:
    frame, raw = case
    obj = orjson.loads(raw)
    field = data.draw(st.sampled_from(_FIELDS_CHECKED[type(frame)]), label="field")
    obj[field] = data.draw(_BAD_VALUES[field], label="value")
    result = decode(orjson.dumps(obj))
    assert isinstance(result, ProtocolError)
    assert result.code is ErrorCode.INVALID_FRAME
    assert f"field '{field}'" in result.message
    assert result.ref == (None if field == "id" else frame.id)


# --- round trips ---------------------------------------------------------------------


@FAST
@given(client_frames_with_json())
def test_control_frames_round_trip(case: tuple[ClientFrame, bytes]) -> None:
    frame, raw = case
    assert decode(raw) == frame
    assert decode(raw.decode()) == frame


@FAST
@given(app_frames_with_json())
def test_app_frames_round_trip(case: tuple[AppFrame, bytes]) -> None:
    frame, raw = case
    assert decode(raw) == frame


@FAST
@given(client_frames_with_json() | app_frames_with_json(), priorities, st.floats(0, 4e9))
def test_decoded_data_can_always_be_sent_back(
    case: tuple[ClientFrame, bytes], priority: Priority, ts: float
) -> None:
    frame = decode(case[1])
    if isinstance(frame, Publish):
        text = encode_message(frame.topic, "e-0000000000000000", priority, frame.data, ts)
        assert orjson.loads(text)["data"] == frame.data
    elif isinstance(frame, AppFrame):
        reply = {key: value for key, value in frame.body.items() if key != "type"}
        assert orjson.loads(encode(AppReply(frame.type, reply))) == frame.body


# --- server frames -------------------------------------------------------------------


def _documented(frame: ServerFrame) -> dict[str, Any]:
    """What the protocol documentation says each frame looks like on the wire."""
    match frame:
        case Welcome():
            return {
                "type": "welcome",
                "connection_id": frame.connection_id,
                "user_id": frame.user_id,
                "heartbeat_interval": frame.heartbeat_interval,
                "max_message_size": frame.max_message_size,
                "protocol": "tether.v1",
                "server": frame.server,
            }
        case Message():
            return {
                "type": "message",
                "topic": frame.topic,
                "id": frame.id,
                "priority": frame.priority.wire,
                "data": frame.data,
                "ts": frame.ts,
            }
        case Ack():
            optional = {} if frame.result is NO_RESULT else {"result": frame.result}
            return {"type": "ack", "ref": frame.ref, **optional}
        case Error():
            optional = {} if frame.ref is None else {"ref": frame.ref}
            return {"type": "error", "code": str(frame.code), "message": frame.message, **optional}
        case Pong():
            optional = {} if frame.ref is None else {"ref": frame.ref}
            return {"type": "pong", "ts": frame.ts, **optional}
        case Shutdown():
            return {
                "type": "shutdown",
                "reason": frame.reason,
                "reconnect_after_ms": frame.reconnect_after_ms,
            }
        case AppReply():
            return {**frame.body, "type": frame.type}
    raise AssertionError(frame)


@FAST
@given(server_frames)
def test_server_frames_have_exactly_their_documented_keys(frame: ServerFrame) -> None:
    text = encode(frame)
    assert isinstance(text, str)
    assert orjson.loads(text) == _documented(frame)
    assert next(iter(orjson.loads(text))) == "type"


@FAST
@given(st.integers(1, 250), st.lists(st.booleans(), min_size=1, max_size=8))
def test_any_depth_is_either_refused_or_sendable(levels: int, shape: list[bool]) -> None:
    # orjson reads 1024 levels but writes 254 (so 250 is as deep as this test can build):
    # decode must not let the gap through.
    data: Any = "leaf"
    for level in range(levels):
        data = {"k": data} if shape[level % len(shape)] else [data]
    padding: list[list[Any]] = [[]] * MAX_DEPTH  # so that counting brackets alone cannot decide
    obj = {"type": "publish", "topic": "t", "data": data, "padding": padding}
    result = decode(orjson.dumps(obj))
    if isinstance(result, ProtocolError):
        assert levels + 1 > MAX_DEPTH
        assert "levels" in result.message
    else:
        assert levels + 1 <= MAX_DEPTH
        assert isinstance(result, Publish)
        encode(Ack(1, {"wrapped": {"twice": result.data}}))
