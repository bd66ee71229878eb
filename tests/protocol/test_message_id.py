"""Message ids: epoch and offset in, the same out; string order is offset order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tether.protocol import format_message_id, parse_message_id

from ._strategies import FAST, epochs, offsets


def test_format_is_epoch_dash_sixteen_hex_digits() -> None:
    assert format_message_id("k3f9a", 42) == "k3f9a-000000000000002a"
    assert format_message_id("E", 0) == "E-0000000000000000"
    assert format_message_id("a" * 32, 2**64 - 1) == "a" * 32 + "-ffffffffffffffff"


@pytest.mark.parametrize(
    ("epoch", "offset"),
    [("", 1), ("a" * 33, 1), ("k-3", 1), ("é", 1), ("k3\n", 1), ("k3", -1), ("k3", 2**64)],
)
def test_format_refuses_a_bad_epoch_or_offset(epoch: str, offset: int) -> None:
    with pytest.raises(ValueError):
        format_message_id(epoch, offset)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "k3f9a",
        "k3f9a-",
        "-000000000000002a",
        "k3f9a-2a",
        "k3f9a-000000000000002A",
        "k3f9a-0000000000000002a",
        "k3f9a-000000000000002a\n",
        "k3-f9a-000000000000002a",
        "k3f9a-00000000000000-1",
        "a" * 33 + "-000000000000002a",
        "k3f9a_000000000000002a",
    ],
)
def test_parse_returns_none_for_anything_malformed(text: str) -> None:
    assert parse_message_id(text) is None


@FAST
@given(epochs, offsets)
def test_format_then_parse_round_trips(epoch: str, offset: int) -> None:
    assert parse_message_id(format_message_id(epoch, offset)) == (epoch, offset)


@FAST
@given(epochs, offsets, offsets)
def test_string_order_is_offset_order_within_an_epoch(epoch: str, a: int, b: int) -> None:
    assert (format_message_id(epoch, a) < format_message_id(epoch, b)) == (a < b)


@FAST
@given(st.text())
def test_parse_never_raises_and_only_accepts_canonical_ids(text: str) -> None:
    parsed = parse_message_id(text)
    if parsed is not None:
        assert format_message_id(*parsed) == text
