"""Hypothesis strategies for protocol tests: JSON values, client frames with their JSON,
server frames, and the settings every property test here uses."""

from __future__ import annotations

import string
from typing import Any

import attrs
import orjson
from hypothesis import settings
from hypothesis import strategies as st

from tether.protocol import (
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
    Publish,
    ServerFrame,
    Shutdown,
    Subscribe,
    Unsubscribe,
    Welcome,
    format_message_id,
)

# No example database: it would write .hypothesis/ into the shared working tree, and
# derandomize keeps runs reproducible without one.
FAST = settings(max_examples=150, deadline=None, database=None, derandomize=True)

CONTROL_TYPES = ("subscribe", "unsubscribe", "publish", "ping")
TOPIC_ALPHABET = string.ascii_letters + string.digits + "_-.:/@"
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def depth(value: Any) -> int:
    """JSON nesting depth, counting the outermost container as 1."""
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


# Every value orjson can both write and read back equal: ints span signed and
# unsigned 64 bits, floats are finite, strings have no lone surrogates.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
).filter(lambda value: depth(value) <= 16)

frame_ids = st.text(min_size=1, max_size=MAX_ID_LENGTH) | INT64
topics = st.text(alphabet=TOPIC_ALPHABET, min_size=1, max_size=MAX_TOPIC_LENGTH)
epochs = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=32)
offsets = st.integers(min_value=0, max_value=2**64 - 1)
message_ids = st.builds(format_message_id, epochs, offsets)
sinces = message_ids | st.text(max_size=MAX_ID_LENGTH)
priorities = st.sampled_from(Priority)
app_types = st.from_regex(r"[a-z][a-z0-9_.\-]{0,63}", fullmatch=True).filter(
    lambda name: name not in CONTROL_TYPES
)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
ts_values = st.floats(min_value=0, max_value=4e9)


@st.composite
def client_frames_with_json(draw: st.DrawFn) -> tuple[ClientFrame, bytes]:
    """A valid client frame and a JSON encoding of it, as a client might write one.

    Optional fields are sometimes omitted and sometimes sent as null, the default
    priority is sometimes left implicit, and control frames get unknown extra keys.
    """
    frame: ClientFrame = draw(
        st.builds(Subscribe, topics, st.none() | frame_ids, st.none() | sinces)
        | st.builds(Unsubscribe, topics, st.none() | frame_ids)
        | st.builds(Publish, topics, json_values, priorities, st.none() | frame_ids)
        | st.builds(Ping, st.none() | frame_ids)
    )
    obj: dict[str, Any] = draw(
        st.dictionaries(st.text(max_size=8).filter(_is_unknown_key), json_values, max_size=3)
    )
    obj["type"] = type(frame).__name__.lower()
    for field in attrs.fields(type(frame)):
        value = getattr(frame, field.name)
        if field.name == "priority":
            if value != Priority.NORMAL or draw(st.booleans()):
                obj["priority"] = value.wire
        elif value is not None or field.name == "data":
            obj[field.name] = value
        elif draw(st.booleans()):
            obj[field.name] = None
    return frame, orjson.dumps(obj)


def _is_unknown_key(key: str) -> bool:
    return key not in {"type", "id", "topic", "since", "data", "priority"}


@st.composite
def app_frames_with_json(draw: st.DrawFn) -> tuple[AppFrame, bytes]:
    """A valid application frame and its JSON; any keys besides type and id are kept."""
    body: dict[str, Any] = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=4))
    body["type"] = draw(app_types)
    frame_id = draw(st.none() | frame_ids)
    if frame_id is None:
        body.pop("id", None)
    else:
        body["id"] = frame_id
    return AppFrame(body["type"], frame_id, body), orjson.dumps(body)


server_frames: st.SearchStrategy[ServerFrame] = (
    st.builds(Welcome, st.text(), st.text(), finite_floats, st.integers(0, 2**31), st.text())
    | st.builds(Message, topics, message_ids, priorities, json_values, ts_values)
    | st.builds(Ack, frame_ids, st.just(NO_RESULT) | json_values)
    | st.builds(Error, st.sampled_from(ErrorCode), st.text(), st.none() | frame_ids)
    | st.builds(Pong, ts_values, st.none() | frame_ids)
    | st.builds(Shutdown, st.text(), st.integers(0, 2**31))
    | st.builds(AppReply, app_types, st.dictionaries(st.text(max_size=8), json_values, max_size=4))
)
