"""An app for `tether serve --app tests.support.app:setup`: actors the e2e tests need."""

from __future__ import annotations

import attrs

from tether.actors.queue import QueueItem, RetryPolicy
from tether.actors.routing import Inbound, RoutedActor
from tether.protocol import AppReply
from tether.supervision._service import Service


@attrs.define
class Fragile(RoutedActor):
    """Crashes on every frame: the client must get `internal`, the actor a restart."""

    async def on_frame(self, message: Inbound) -> None:
        raise RuntimeError("fragile actor broke")


def broken_handler(message: Inbound) -> None:
    raise RuntimeError("a connection-local handler broke")


def setup(service: Service) -> None:
    service.route("test.fragile", Fragile)
    service.handle("test.broken", broken_handler)


def setup_durable(service: Service) -> None:
    async def place_order(item: QueueItem) -> None:
        """Fails on its first attempt (the queue retries it), then answers the connection."""
        if item.attempt == 1:
            raise RuntimeError("the warehouse is not answering yet")
        reply = AppReply(
            "order.done", {"order": item.payload["frame"].get("order"), "attempt": item.attempt}
        )
        await service.manager.send_to_connection(item.payload["connection_id"], reply)

    service.durable("order.place", place_order, RetryPolicy(base=0.05, cap=0.1, max_attempts=3))
