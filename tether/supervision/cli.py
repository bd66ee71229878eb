"""The `tether` command. Every option of `serve` also reads `TETHER_<NAME>`; the flag wins."""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import structlog

from ._config import ServiceConfig
from ._dlq import dlq
from ._logging import configure_logging
from ._run import run, run_tree

F = TypeVar("F", bound=Callable[..., Any])
# Allocations between two collections of the youngest generation (Python's default: 700).
GC_YOUNG_THRESHOLD = 100_000
log = structlog.get_logger("tether")


def option(flag: str, *names: str, **kwargs: Any) -> Callable[[F], F]:
    envvar = "TETHER_" + flag.split("/")[0].lstrip("-").upper().replace("-", "_")
    kwargs.setdefault("show_default", True)
    return click.option(flag, *names, envvar=envvar, show_envvar=True, **kwargs)


def _load_app(reference: str) -> Callable[[Any], None]:
    module_name, _, function_name = reference.partition(":")
    if not module_name or not function_name:
        raise click.BadParameter(f"{reference!r} is not MODULE:FUNCTION", param_hint="--app")
    try:
        module = importlib.import_module(module_name)
        function: Callable[[Any], None] = getattr(module, function_name)
    except (ImportError, AttributeError) as exc:
        raise click.BadParameter(f"cannot load {reference!r}: {exc}", param_hint="--app") from exc
    return function


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tether")
def main() -> None:
    """Tether: a WebSocket service built as an actor system on Trio."""


def tune_garbage_collector() -> None:
    """A full collection walks every live object, and each connection owns dozens: at the
    default thresholds a burst (a publish to 5,000 subscribers) set off several, which
    tripled its delivery time. Collect young objects less often, and leave everything
    loaded at start-up (modules, the tree) out of the collections for good."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 50, 100)


def _origins(value: str | None) -> frozenset[str] | None:
    if not value:
        return None
    return frozenset(origin.strip() for origin in value.split(",") if origin.strip())


def _public_key(value: str | None) -> str | None:
    if not value or value.lstrip().startswith("-----BEGIN"):
        return value
    path = Path(value)
    if not path.is_file():
        raise click.BadParameter("must be a PEM public key or the path of a file holding one")
    return path.read_text()


@main.command()
@option("--host", default="127.0.0.1", help="Address to listen on.")
@option("--port", type=click.IntRange(0, 65535), default=8765, help="Port (0 picks a free one).")
@option("--path", default="/ws", help="The WebSocket path.")
@option(
    "--admin-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="HTTP port for /healthz, /readyz, /metrics (off by default).",
)
@option("--redis-url", default=None, help="Redis for a durable, shared queue (none: in memory).")
@option(
    "--jwt-secret",
    default=None,
    show_default=False,
    help="HS256 secret: require a JWT at the handshake.",
)
@option(
    "--jwt-public-key",
    default=None,
    show_default=False,
    help="RS256/ES256 public key (PEM text or a file path).",
)
@option("--allowed-origins", default=None, help="Comma-separated Origin allow-list (default: any).")
@option(
    "--heartbeat-interval",
    type=click.FloatRange(min=0.01),
    default=30.0,
    help="Seconds between server pings.",
)
@option(
    "--heartbeat-max-missed",
    type=click.IntRange(min=1),
    default=3,
    help="Silent intervals before close 4000.",
)
@option(
    "--max-connections", type=click.IntRange(min=1), default=10_000, help="Connections in total."
)
@option(
    "--max-connections-per-user",
    type=click.IntRange(min=1),
    default=10,
    help="Connections per user.",
)
@option(
    "--max-message-size",
    type=click.IntRange(min=64),
    default=65_536,
    help="Bytes; larger frames close with 1009.",
)
@option(
    "--max-outbox-bytes",
    type=click.IntRange(min=1024),
    default=1_048_576,
    help="Queued bytes per connection before close 4001.",
)
@option(
    "--rate-limit",
    type=click.FloatRange(min=0),
    default=100.0,
    help="Frames per second per connection (0: off).",
)
@option("--rate-burst", type=click.IntRange(min=1), default=200, help="Rate-limit bucket size.")
@option(
    "--drain-timeout", type=click.FloatRange(min=0), default=10.0, help="Seconds a drain may take."
)
@option(
    "--max-subscriptions", type=click.IntRange(min=1), default=100, help="Topics per connection."
)
@option(
    "--history-size",
    type=click.IntRange(min=0),
    default=100,
    help="Messages per topic kept for `since`.",
)
@option(
    "--private-user-topics/--no-private-user-topics",
    default=False,
    help="Only user X may subscribe to user:X topics.",
)
@option("--examples/--no-examples", default=True, help="Route the example actors (echo, chat.*).")
@option(
    "--app",
    "apps",
    multiple=True,
    metavar="MODULE:FUNCTION",
    help="Call FUNCTION(service) to route your actors; repeatable.",
)
@option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    help="Log lines as text or JSON.",
)
@option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    help="Least severe level logged.",
)
def serve(**options: Any) -> None:
    """Run the WebSocket service until SIGTERM/SIGINT (a second signal stops at once)."""
    from tether.actors.examples.chat import CHAT_TYPES, ChatRoom
    from tether.actors.examples.echo import echo

    from ._service import Service

    configure_logging(options.pop("log_format"), options.pop("log_level"))
    if options["jwt_secret"] and options["jwt_public_key"]:
        raise click.UsageError("give --jwt-secret or --jwt-public-key, not both")
    options["allowed_origins"] = _origins(options["allowed_origins"])
    options["jwt_public_key"] = _public_key(options["jwt_public_key"])
    if not options["path"].startswith("/"):
        raise click.BadParameter("must start with '/'", param_hint="--path")
    apps = [_load_app(reference) for reference in options.pop("apps")]
    config = ServiceConfig(**options)
    service = Service(config)
    if config.examples:
        service.handle("echo", echo)
        service.route(CHAT_TYPES, ChatRoom, name="chat")
    for app in apps:
        app(service)
    if not (config.jwt_secret or config.jwt_public_key):
        log.warning(
            "DEVELOPMENT MODE: no --jwt-secret or --jwt-public-key, so connections are anonymous "
            "and ?user= names the user. Do not run it like this in production."
        )
    tree = service.build()
    tune_garbage_collector()
    result = run_tree(tree, drain_timeout=config.drain_timeout)
    drain = service.drain_report()
    # The last line of the log: what happened, and how the drain went.
    log.info(
        "stopped",
        outcome=result.outcome.value,
        exit_status=result.exit_status,
        connections_drained=drain.connections if drain else 0,
        frames_flushed=drain.frames_flushed if drain else 0,
        seconds=round(result.duration, 3),
    )
    sys.exit(result.exit_status)


@main.command()
@option("--interval", type=click.FloatRange(min=0.01), default=1.0)
@option("--drain-timeout", type=click.FloatRange(min=0), default=10.0)
@option("--log-format", type=click.Choice(["text", "json"]), default="text")
def demo(interval: float, drain_timeout: float, log_format: str) -> None:
    """Run a small supervision tree (a counter and a clock); Ctrl-C drains and stops it."""
    from tether.actors.examples.counter import Clock, Counter

    from ._spec import ChildSpec, Strategy
    from ._supervisor import Supervisor

    configure_logging("json" if log_format == "json" else "text")
    tree = Supervisor(
        "demo",
        strategy=Strategy.REST_FOR_ONE,
        children=[
            ChildSpec("counter", Counter),
            ChildSpec("clock", lambda: Clock(interval=interval)),
        ],
    )
    sys.exit(run(tree, drain_timeout=drain_timeout))


main.add_command(dlq)
