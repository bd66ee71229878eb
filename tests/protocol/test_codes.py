"""The protocol's numbers and names match the v1 contract."""

from __future__ import annotations

import pytest

from tether.protocol import (
    MAX_ID_LENGTH,
    MAX_TOPIC_LENGTH,
    MAX_TYPE_LENGTH,
    SUBPROTOCOL,
    CloseCode,
    ErrorCode,
    Priority,
)


def test_close_codes_have_their_v1_numbers() -> None:
    assert {code.name: int(code) for code in CloseCode} == {
        "NORMAL": 1000,
        "GOING_AWAY": 1001,
        "POLICY_VIOLATION": 1008,
        "MESSAGE_TOO_BIG": 1009,
        "INTERNAL_ERROR": 1011,
        "TRY_AGAIN_LATER": 1013,
        "HEARTBEAT_TIMEOUT": 4000,
        "SLOW_CONSUMER": 4001,
    }


def test_error_codes_are_their_wire_strings() -> None:
    assert {str(code) for code in ErrorCode} == {
        "invalid_json",
        "invalid_frame",
        "unsupported_frame",
        "unknown_type",
        "forbidden",
        "rate_limited",
        "too_large",
        "unavailable",
        "internal",
    }
    assert ErrorCode("too_large") is ErrorCode.TOO_LARGE


def test_subprotocol_and_limits() -> None:
    assert SUBPROTOCOL == "tether.v1"
    assert (MAX_TOPIC_LENGTH, MAX_ID_LENGTH, MAX_TYPE_LENGTH) == (200, 128, 64)


def test_priorities_sort_most_urgent_first() -> None:
    shuffled = [Priority.LOW, Priority.CRITICAL, Priority.NORMAL, Priority.HIGH]
    assert sorted(shuffled) == [Priority.CRITICAL, Priority.HIGH, Priority.NORMAL, Priority.LOW]


@pytest.mark.parametrize(
    ("priority", "wire"),
    [
        (Priority.CRITICAL, "critical"),
        (Priority.HIGH, "high"),
        (Priority.NORMAL, "normal"),
        (Priority.LOW, "low"),
    ],
)
def test_priority_wire_names_round_trip(priority: Priority, wire: str) -> None:
    assert priority.wire == wire
    assert Priority.from_wire(wire) is priority


@pytest.mark.parametrize("name", ["", "NORMAL", "Normal", "urgent", " low", "2"])
def test_unknown_priority_name_is_a_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="unknown priority"):
        Priority.from_wire(name)
