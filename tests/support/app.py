"""An app for `tether serve --app tests.support.app:setup`: actors the e2e tests need."""

from __future__ import annotations

import attrs

from tether.actors.routing import Inbound, RoutedActor
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
