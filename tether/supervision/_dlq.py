"""`tether dlq`: list, inspect, replay and purge the queue's dead letters in Redis.

Dead letters live where the queue keeps its items. With `--redis-url` that is Redis,
shared by every node and reachable from this command; the memory backend's dead
letters exist only inside the running process (see `/metrics` for their count).
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
import orjson
import trio

from tether.actors.queue import DEFAULT_STARVATION_LIMIT, QueueItem
from tether.actors.queue._redis import RedisBackend, connect

T = TypeVar("T")
DEFAULT_PREFIX = "tether:queue"
# `show` looks for the item among this many dead letters, oldest first.
SHOW_SCAN_LIMIT = 100_000


def _item_json(item: QueueItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "priority": item.priority.wire,
        "attempt": item.attempt,
        "enqueued_at": item.enqueued_at,
        "last_error": item.last_error,
        "payload": item.payload,
    }


def _with_backend(url: str, prefix: str, action: Callable[[RedisBackend], Awaitable[T]]) -> T:
    async def main() -> T:
        async with connect(url) as client:
            backend = RedisBackend(
                client,
                url=url,
                prefix=prefix,
                capacity=sys.maxsize,
                starvation_limit=DEFAULT_STARVATION_LIMIT,
            )
            return await action(backend)

    try:
        return trio.run(main)
    except Exception as exc:  # connection failures come wrapped in groups by coredis
        raise click.ClickException(f"cannot reach Redis at {url}: {exc!r}") from exc


redis_option = click.option(
    "--redis-url", envvar="TETHER_REDIS_URL", show_envvar=True, required=True,
    help="The Redis the queue uses.",
)  # fmt: skip
prefix_option = click.option(
    "--prefix", default=DEFAULT_PREFIX, show_default=True, help="The queue's key prefix."
)


@click.group()
def dlq() -> None:
    """The queue's dead letters: items whose last attempt failed."""


@dlq.command("list")
@redis_option
@prefix_option
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
def list_dead(redis_url: str, prefix: str, limit: int) -> None:
    """One line per dead letter, oldest first: id, kind, attempts, the error that killed it."""
    items = _with_backend(redis_url, prefix, lambda b: b.dead_letters(limit))
    for item in items:
        click.echo(f"{item.id}\t{item.kind}\t{item.attempt}\t{item.last_error or ''}")
    click.echo(f"{len(items)} dead letter(s)", err=True)


@dlq.command()
@redis_option
@prefix_option
@click.argument("item_id")
def show(redis_url: str, prefix: str, item_id: str) -> None:
    """One dead letter in full, as JSON."""
    items = _with_backend(redis_url, prefix, lambda b: b.dead_letters(SHOW_SCAN_LIMIT))
    for item in items:
        if item.id == item_id:
            click.echo(orjson.dumps(_item_json(item), option=orjson.OPT_INDENT_2).decode())
            return
    raise click.ClickException(f"no dead letter {item_id!r}")


def _selection(item_ids: tuple[str, ...], everything: bool) -> list[str] | None:
    if everything == bool(item_ids):
        raise click.UsageError("name the items, or give --all")
    return None if everything else list(item_ids)


@dlq.command()
@redis_option
@prefix_option
@click.option("--all", "everything", is_flag=True, help="Every dead letter.")
@click.argument("item_ids", nargs=-1)
def replay(redis_url: str, prefix: str, everything: bool, item_ids: tuple[str, ...]) -> None:
    """Put dead letters back in the queue (attempts start again)."""
    ids = _selection(item_ids, everything)
    done = _with_backend(redis_url, prefix, lambda b: b.replay(ids))
    click.echo(f"replayed {len(done)}: {' '.join(done)}")


@dlq.command()
@redis_option
@prefix_option
@click.option("--all", "everything", is_flag=True, help="Every dead letter.")
@click.argument("item_ids", nargs=-1)
def purge(redis_url: str, prefix: str, everything: bool, item_ids: tuple[str, ...]) -> None:
    """Delete dead letters for good."""
    ids = _selection(item_ids, everything)
    done = _with_backend(redis_url, prefix, lambda b: b.purge(ids))
    click.echo(f"purged {len(done)}: {' '.join(done)}")
