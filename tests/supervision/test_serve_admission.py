"""`tether serve` end to end: what is refused before the upgrade, and why."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import jwt
import pytest
from websockets.exceptions import InvalidStatus

from ..support.client import open_client, recv, send, welcomed
from ..support.server import ServerProcess, tether_server

SECRET = "test-secret-with-enough-length-for-hs256"


def token(**claims: Any) -> str:
    now = time.time()
    payload = {"sub": "alice", "exp": now + 300, **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, claims.pop("key", SECRET), algorithm="HS256")


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with tether_server(
        "--jwt-secret",
        SECRET,
        "--allowed-origins",
        "https://app.example.com,http://localhost:3000",
        "--max-connections",
        "4",
        "--max-connections-per-user",
        "2",
    ) as process:
        yield process


def refused(url: str, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(InvalidStatus) as info:
        open_client(url, **kwargs)
    response = info.value.response
    return response.status_code, response.body.decode() if response.body else ""


def test_a_valid_token_in_each_carrier_is_accepted(server: ServerProcess) -> None:
    good = token(sub="alice")
    carriers: list[dict[str, Any]] = [
        {"headers": {"Authorization": f"Bearer {good}"}},
        {"subprotocols": ["tether.v1", f"bearer.{good}"]},
        {"token": good},
    ]
    for carrier in carriers:
        with open_client(server.url, **carrier) as ws:
            assert ws.subprotocol == "tether.v1"
            assert welcomed(ws)["user_id"] == "alice"
    assert good not in server.output  # a token is never written to a log


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (None, "token missing"),
        ("not-a-jwt", "token malformed"),
        (
            jwt.encode({"sub": "alice"}, "another-secret-of-enough-length-12345", "HS256"),
            "bad signature",
        ),
        (token(exp=time.time() - 3600), "token expired"),
        (token(nbf=time.time() + 3600), "token not yet valid"),
        (token(sub=None), "token has no subject"),
    ],
)
def test_bad_tokens_get_401_with_the_reason(
    server: ServerProcess, bad: str | None, reason: str
) -> None:
    status, body = refused(server.url, token=bad)
    assert (status, body) == (401, reason)
    server.wait_for(rf"refused .*reason={reason!r}|refused .*reason=\"?{reason}")
    if bad:
        assert bad not in server.output


def test_a_disallowed_origin_gets_403(server: ServerProcess) -> None:
    status, body = refused(
        server.url, token=token(), headers={"Origin": "https://evil.example.net"}
    )
    assert status == 403 and "origin" in body


def test_an_allowed_origin_and_no_origin_are_accepted(server: ServerProcess) -> None:
    with open_client(server.url, token=token(), headers={"Origin": "http://localhost:3000"}) as ws:
        welcomed(ws)
    with open_client(server.url, token=token()) as ws:
        welcomed(ws)


def test_another_path_gets_404(server: ServerProcess) -> None:
    status, _ = refused(server.url, token=token(), path="/other")
    assert status == 404


def test_the_per_user_limit_gets_503(server: ServerProcess) -> None:
    with open_client(server.url, token=token(sub="carol")) as a:
        welcomed(a)
        with open_client(server.url, token=token(sub="carol")) as b:
            welcomed(b)
            status, body = refused(server.url, token=token(sub="carol"))
            assert status == 503 and "user" in body
            with open_client(server.url, token=token(sub="dave")) as other:
                welcomed(other)


def test_the_total_limit_gets_503_and_frees_up_when_a_connection_leaves(
    server: ServerProcess,
) -> None:
    with ExitStack() as stack:
        clients = [
            stack.enter_context(open_client(server.url, token=token(sub=f"user{n}")))
            for n in range(4)
        ]
        for ws in clients:
            welcomed(ws)
        status, body = refused(server.url, token=token(sub="user9"))
        assert status == 503 and "capacity" in body
        clients.pop().close()
        # The manager forgets the connection as soon as it ends; retry until it has.
        deadline = time.monotonic() + 10
        while True:
            try:
                with open_client(server.url, token=token(sub="user9")) as ws:
                    welcomed(ws)
                    send(ws, type="ping", id=1)
                    assert recv(ws)["type"] == "pong"
                break
            except InvalidStatus:
                assert time.monotonic() < deadline, "the slot was never freed"


def test_development_mode_is_announced_and_names_users() -> None:
    with tether_server() as server:
        assert "DEVELOPMENT MODE" in server.output
        with open_client(server.url, user="zoe") as ws:
            assert welcomed(ws)["user_id"] == "zoe"
        status, body = refused(server.url, user="bad user!")
        assert status == 400 and "user" in body
