"""The admin HTTP listener: /healthz, /readyz, /metrics, served by hypercorn on Trio.

It is the first child of the root (started first, stopped last), so that
/healthz answers for the whole life of the tree and /readyz turns 503 as soon
as a drain begins and stays so until the process exits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import structlog
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from prometheus_client import CONTENT_TYPE_LATEST

from tether.actors import Actor, ActorError, StopReason
from tether.supervision import BaseSupervisor, SupervisorState

from ..bus import BUS, GetBusStatistics
from ..heartbeat import HEARTBEAT, GetHeartbeatStatistics
from ..manager import MANAGER, GetStatistics, ManagerStatistics
from ..queue import QUEUE_NAME, GetQueueStatistics
from ._metrics import Snapshot, render

log = structlog.get_logger("tether.admin")

ASK_TIMEOUT = 1.0

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@attrs.define
class AdminActor(Actor):
    mailbox_size = 1

    host: str
    port: int
    tree: BaseSupervisor
    address: str | None = attrs.field(default=None, init=False)
    _shutdown: trio.Event = attrs.field(factory=trio.Event, init=False)

    async def on_start(self) -> None:
        config = Config()
        config.bind = [f"{self.host}:{self.port}"]
        config.accesslog = None
        config.errorlog = None
        config.graceful_timeout = 1.0
        binds: list[str] = await self.start(self._serve, config)
        self.address = binds[0]
        log.info(f"admin listening on {self.address}", endpoints="/healthz /readyz /metrics")

    async def _serve(self, config: Config, task_status: trio.TaskStatus[list[str]]) -> None:
        app: Any = self._app  # a plain ASGI callable; hypercorn's types are narrower
        await serve(app, config, shutdown_trigger=self._shutdown.wait, task_status=task_status)

    async def on_stop(self, reason: StopReason) -> None:
        self._shutdown.set()

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        status, content_type, body = await self._respond(scope["method"], scope["path"])
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type.encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _respond(self, method: str, path: str) -> tuple[int, str, bytes]:
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"method not allowed\n"
        if path == "/healthz":
            alive = self.tree.state in (SupervisorState.RUNNING, SupervisorState.STOPPING)
            return (200, "text/plain", b"ok\n") if alive else (503, "text/plain", b"down\n")
        if path == "/readyz":
            if await self._ready():
                return 200, "text/plain", b"ready\n"
            return 503, "text/plain", b"not ready: draining or starting\n"
        if path == "/metrics":
            snapshot = Snapshot(
                tree=self.tree.statistics(),
                ready=await self._ready(),
                manager=await self._manager_statistics(),
                heartbeat=await self._ask(HEARTBEAT, GetHeartbeatStatistics()),
                queue=await self._ask(QUEUE_NAME, GetQueueStatistics()),
                bus=await self._ask(BUS, GetBusStatistics()),
            )
            return 200, CONTENT_TYPE_LATEST, render(snapshot)
        return 404, "text/plain", b"not found\n"

    async def _ready(self) -> bool:
        if self.tree.state is not SupervisorState.RUNNING:
            return False
        manager = await self._manager_statistics()
        return manager is not None and manager.admitting

    async def _manager_statistics(self) -> ManagerStatistics | None:
        try:
            stats: ManagerStatistics = await self.lookup(MANAGER).ask(
                GetStatistics(), timeout=ASK_TIMEOUT
            )
        except (ActorError, LookupError):
            return None
        return stats

    async def _ask(self, name: str, request: object) -> Any:
        """Another actor's statistics, or None if it is absent or does not answer in time."""
        try:
            return await self.lookup(name).ask(request, timeout=ASK_TIMEOUT)
        except (ActorError, LookupError):
            return None
