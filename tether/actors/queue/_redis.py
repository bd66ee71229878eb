"""The Redis backend: the rules of `QueueCore` as Lua scripts over coredis.

Each method is one script call, so each step is atomic even with several
processes sharing the keys, and `reserve` leases a whole batch in one call.
Connection trouble surfaces as `BackendUnavailable`; the client is configured
to fail fast rather than retry, so that an outage is seen at once.
"""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Sequence
from typing import Any

import coredis
import coredis.exceptions
import coredis.retry
import orjson
import trio

from tether.protocol import Priority

from . import _lua
from ._backend import BackendUnavailable, Tick
from ._core import PRIORITIES, Counts, Lease, Parked, QueueItem

# How many due retries or expired leases one tick handles; the rest wait for the next.
TICK_BATCH = 500
CONNECT_TIMEOUT = 2.0
COMMAND_TIMEOUT = 5.0

_OUTAGE = (
    coredis.exceptions.ConnectionError,
    ConnectionError,
    TimeoutError,
    OSError,
)


def _item(item_id: str, flat: Sequence[Any]) -> QueueItem:
    fields = dict(zip(flat[::2], flat[1::2], strict=True))
    return QueueItem(
        id=item_id,
        kind=fields["kind"],
        payload=orjson.loads(fields["payload"]),
        priority=Priority(int(fields["priority"])),
        attempt=int(fields["attempt"]),
        enqueued_at=float(fields["enqueued_at"]),
        last_error=fields.get("last_error"),
    )


class RedisBackend:
    def __init__(
        self,
        client: coredis.Redis[str],
        *,
        url: str,
        prefix: str,
        capacity: int,
        starvation_limit: int,
        poll_interval: float = 1.0,
    ) -> None:
        self._poll_interval = poll_interval
        self._client = client
        self._url = url
        self._prefix = prefix
        self._capacity = capacity
        self._starvation_limit = starvation_limit
        self._scripts = {
            name: client.register_script(getattr(_lua, name))
            for name in (
                "ENQUEUE",
                "RESERVE",
                "ACK",
                "NACK",
                "RENEW",
                "TICK",
                "LIST_DEAD",
                "REPLAY",
                "PURGE",
                "COUNTS",
                "ADOPT",
            )
        }

    @property
    def name(self) -> str:
        return "redis"

    @property
    def fallback_active(self) -> bool:
        return False

    @property
    def poll_interval(self) -> float | None:
        # Other processes enqueue into the same keys and nothing tells us: look now and then.
        return self._poll_interval

    async def ping(self) -> None:
        # A bare TCP connect first: coredis 6.9 leaks the buffers of every connection that
        # fails to connect, which a long outage probed every few seconds would pile up.
        if not await _accepts_connections(self._url):
            raise BackendUnavailable(f"redis: nothing accepts connections at {self._url}")
        try:
            await self._client.ping()
        except _OUTAGE as exc:
            raise BackendUnavailable(f"redis: {exc!r}") from exc

    async def adopt(self, parked: Sequence[Parked]) -> int:
        """Take over items from another store, state and attempt kept; returns how many were
        taken (the first ones, until capacity)."""
        args: list[str | int | float] = [self._capacity]
        for entry in parked:
            item = entry.item
            where = "dead" if entry.dead else "ready" if entry.due is None else "delayed"
            args += [
                item.id,
                item.kind,
                orjson.dumps(item.payload).decode(),
                int(item.priority),
                item.attempt,
                repr(item.enqueued_at),
                item.last_error or "",
                where,
                repr(entry.due or 0.0),
            ]
        return int(await self._run("ADOPT", *args))

    async def _run(self, script: str, *args: str | int | float) -> Any:
        try:
            return await self._scripts[script](keys=[], args=[self._prefix, *args])
        except _OUTAGE as exc:
            raise BackendUnavailable(f"redis: {exc!r}") from exc

    async def enqueue(self, items: Sequence[QueueItem]) -> int:
        if not items:
            return 0
        args: list[str | int | float] = [self._capacity]
        for item in items:
            payload = orjson.dumps(item.payload).decode()
            args += [item.id, item.kind, payload, int(item.priority), repr(item.enqueued_at)]
        return int(await self._run("ENQUEUE", *args))

    async def reserve(self, now: float, lease_seconds: float, count: int) -> list[Lease]:
        if count < 1:
            return []
        deadline = now + lease_seconds
        tokens = [uuid.uuid4().hex for _ in range(count)]
        rows = await self._run("RESERVE", repr(deadline), self._starvation_limit, *tokens)
        return [Lease(_item(item_id, flat), token, deadline) for token, item_id, flat in rows]

    async def ack(self, tokens: Sequence[str]) -> list[str]:
        if not tokens:
            return []
        return list(await self._run("ACK", *tokens))

    async def nack(self, token: str, error: str, retry_at: float | None) -> bool:
        when = "" if retry_at is None else repr(retry_at)
        return bool(await self._run("NACK", token, error, when))

    async def renew(self, token: str, deadline: float) -> bool:
        return bool(await self._run("RENEW", token, repr(deadline)))

    async def tick(self, now: float) -> Tick:
        next_due, rows = await self._run("TICK", repr(now), TICK_BATCH)
        expired = [
            Lease(_item(item_id, flat), token, float(deadline))
            for token, deadline, item_id, flat in rows
        ]
        return Tick(expired, float(next_due) if next_due else None)

    async def dead_letters(self, limit: int) -> list[QueueItem]:
        if limit < 1:
            return []
        rows = await self._run("LIST_DEAD", limit)
        return [_item(item_id, flat) for item_id, flat in rows]

    async def replay(self, ids: Sequence[str] | None) -> list[str]:
        return list(await self._run("REPLAY", *_selection(ids)))

    async def purge(self, ids: Sequence[str] | None) -> list[str]:
        return list(await self._run("PURGE", *_selection(ids)))

    async def counts(self) -> Counts:
        values = [int(v) for v in await self._run("COUNTS")]
        return Counts(
            ready=dict(zip(PRIORITIES, values[:4], strict=True)),
            in_progress=values[4],
            delayed=values[5],
            dead=values[6],
            enqueued=values[7],
            acked=values[8],
            retried=values[9],
            dead_lettered=values[10],
        )


async def _accepts_connections(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    with trio.move_on_after(CONNECT_TIMEOUT):
        try:
            stream = await trio.open_tcp_stream(parts.hostname or "127.0.0.1", parts.port or 6379)
        except OSError:
            return False
        await stream.aclose()
        return True
    return False


def _selection(ids: Sequence[str] | None) -> list[str]:
    return ["1"] if ids is None else ["0", *ids]


def connect(url: str) -> coredis.Redis[str]:
    """A client that fails fast: an outage must surface, not hang in retries."""
    return coredis.Redis.from_url(
        url,
        decode_responses=True,
        retry_policy=coredis.retry.NoRetryPolicy(),
        connect_timeout=CONNECT_TIMEOUT,
        stream_timeout=COMMAND_TIMEOUT,
    )
