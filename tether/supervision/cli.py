"""The `tether` command."""

from __future__ import annotations

import sys

import click

from ._logging import configure_logging
from ._run import run


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "TETHER"}
)
@click.version_option(package_name="tether")
def main() -> None:
    """Tether: a WebSocket service built as an actor system on Trio."""


@main.command()
@click.option("--interval", type=click.FloatRange(min=0.01), default=1.0, show_default=True)
@click.option("--drain-timeout", type=click.FloatRange(min=0), default=10.0, show_default=True)
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def demo(interval: float, drain_timeout: float, log_format: str) -> None:
    """Run a small supervision tree (a counter and a clock); Ctrl-C drains and stops it."""
    from tether.actors.examples.counter import Clock, Counter
    from tether.supervision import ChildSpec, Strategy, Supervisor

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
