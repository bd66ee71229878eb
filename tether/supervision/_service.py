"""The service as a supervision tree, and the one-line way to route frames to actors.

    RootSupervisor "tether" (rest_for_one)
    ├── admin          AdminActor: /healthz /readyz /metrics (with --admin-port); stops last
    ├── queue          QueueSupervisor: the queue actor and its workers (memory or Redis)
    ├── bus            RedisBus: cross-node delivery of topic messages (with --redis-url)
    ├── heartbeat      HeartbeatActor: pings, misses, zombies, for every connection
    ├── manager        ConnectionManager: connections, users, topics
    ├── connections    DynamicSupervisor: one ConnectionActor per socket
    ├── actors         Supervisor: the actors frames are routed to (echo, chat, yours)
    └── listener       Listener: accepts and admits; started last, stopped first

rest_for_one: if the manager dies, its maps are gone, so everything after it
(connections included) restarts with it; if the listener dies, only it restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import structlog

from tether.actors import Actor, ActorRef
from tether.actors.admin import AdminActor
from tether.actors.bus import BUS, RedisBus
from tether.actors.connection._settings import ConnectionSettings
from tether.actors.heartbeat import HEARTBEAT, HeartbeatActor
from tether.actors.listener._actor import Listener
from tether.actors.listener._admission import AdmissionPolicy, TokenVerifier
from tether.actors.manager import (
    MANAGER,
    ConnectionManager,
    DrainReport,
    ManagerClient,
    OpenPolicy,
    PrivateUserTopics,
    TopicPolicy,
)
from tether.actors.manager._messages import TopicPublish
from tether.actors.queue import (
    PUBLISH_KIND,
    QUEUE_NAME,
    Handler,
    QueueItem,
    QueueSupervisor,
    RetryPolicy,
    queue_supervisor,
)
from tether.actors.routing import Durable, FrameHandler, Routes

from ._config import ServiceConfig
from ._dynamic import DynamicSupervisor
from ._spec import ChildSpec, Restart, Strategy
from ._supervisor import Supervisor

log = structlog.get_logger("tether.service")

# Room for sockets that are still in their handshake beyond the admitted connections.
HANDSHAKE_SLACK = 1_000
# On a drain, connections are asked to close in batches this far apart, so that clients
# (told to come back after a jittered delay anyway) do not all see 1001 in one instant.
DRAIN_BATCH_SIZE = 200
DRAIN_BATCH_INTERVAL = 0.01


class Service:
    """Builds the tree for a `ServiceConfig`; `route` adds a developer's actor in one line."""

    def __init__(self, config: ServiceConfig, *, policy: TopicPolicy | None = None) -> None:
        self.config = config
        self.policy = policy or (
            PrivateUserTopics() if config.private_user_topics else OpenPolicy()
        )
        self._actor_specs: list[ChildSpec] = []
        self._routes: dict[str, str] = {}
        self._handlers: dict[str, FrameHandler] = {}
        self._durable: dict[str, Durable] = {}
        self.tree: Supervisor | None = None
        self._manager: ConnectionManager | None = None
        self._jobs: list[tuple[str, Handler, RetryPolicy | None]] = []
        self.queue: QueueSupervisor | None = None

    def route(
        self,
        types: str | Iterable[str],
        actor: Callable[[], Actor],
        *,
        name: str | None = None,
        restart: Restart = Restart.PERMANENT,
    ) -> None:
        """Frames whose `type` is in `types` go to a new child `actor` (named `name`, by
        default the first type)."""
        claimed = self._claim(types)
        name = name or claimed[0]
        for frame_type in claimed:
            self._routes[frame_type] = name
        self._actor_specs.append(ChildSpec(name, actor, restart=restart))

    def handle(self, types: str | Iterable[str], handler: FrameHandler) -> None:
        """Frames whose `type` is in `types` are handled by `handler(message)` in the reader of
        the connection they arrive on: for stateless work that needs no actor of its own.
        It must not block (it is a plain function) and should not raise; if it does, the
        client gets `error` `internal` for that frame."""
        for frame_type in self._claim(types):
            self._handlers[frame_type] = handler

    def admission(self) -> AdmissionPolicy:
        config = self.config
        verifier = None
        if config.jwt_secret:
            verifier = TokenVerifier.from_secret(config.jwt_secret)
        elif config.jwt_public_key:
            verifier = TokenVerifier.from_public_key(config.jwt_public_key)
        return AdmissionPolicy(
            path=config.path, allowed_origins=config.allowed_origins, verifier=verifier
        )

    def connection_settings(self) -> ConnectionSettings:
        config = self.config
        return ConnectionSettings(
            max_message_size=config.max_message_size,
            max_outbox_bytes=config.max_outbox_bytes,
            rate_limit=config.rate_limit,
            rate_burst=config.rate_burst,
            heartbeat_interval=config.heartbeat_interval,
            handshake_timeout=config.handshake_timeout,
        )

    def _new_manager(self) -> ConnectionManager:
        config = self.config
        self._manager = ConnectionManager(
            max_connections=config.max_connections,
            max_connections_per_user=config.max_connections_per_user,
            max_subscriptions=config.max_subscriptions,
            history_size=config.history_size,
            max_message_bytes=config.max_outbox_bytes,
            policy=self.policy,
        )
        return self._manager

    @property
    def manager(self) -> ManagerClient:
        """The outbound API (publish, send to a connection or a user, broadcast) for code
        that is not an actor, such as queue handlers; available once the tree is built."""
        if self.tree is None:
            raise RuntimeError("build the service first")
        return ManagerClient(self.tree.ref(MANAGER), self.tree.ref(QUEUE_NAME))

    def drain_report(self) -> DrainReport | None:
        """How the last drain went, read from the connection manager once the tree stopped."""
        return self._manager.snapshot().drain if self._manager is not None else None

    def _queue_subtree(self) -> QueueSupervisor:
        config = self.config
        self.queue = queue_supervisor(
            config.redis_url or "memory",
            workers=config.queue_workers,
            capacity=config.queue_capacity,
        )
        for kind, handler, retry in self._jobs:
            self.queue.register(kind, handler, retry)
        return self.queue

    def durable(
        self, types: str | Iterable[str], handler: Handler, retry: RetryPolicy | None = None
    ) -> None:
        """Frames whose `type` is in `types` go through the queue: the client gets its `ack`
        (with the item id) once the frame is enqueued, durably with Redis, and `handler`
        runs on a worker with retries, then dead letters. The item's payload is
        `{"frame": the client's JSON object, "connection_id": ..., "user_id": ...}`; reply
        with `ManagerClient.send_to_connection`. The kind is `frame:<type>`."""
        for frame_type in self._claim(types):
            self._durable[frame_type] = Durable(f"frame:{frame_type}")
            self.job(f"frame:{frame_type}", handler, retry)

    def _claim(self, types: str | Iterable[str]) -> tuple[str, ...]:
        claimed = (types,) if isinstance(types, str) else tuple(types)
        if not claimed:
            raise ValueError("route at least one frame type")
        for frame_type in claimed:
            if frame_type in self._routes or frame_type in self._handlers | self._durable:
                raise ValueError(f"frame type {frame_type!r} is already routed")
        return claimed

    def job(self, kind: str, handler: Handler, retry: RetryPolicy | None = None) -> None:
        """Durable work: items of `kind` enqueued by any actor (`Enqueue(kind, payload)` to the
        actor named "queue") run `handler` on a worker, retried by `retry` and dead-lettered
        after its last attempt."""
        self._jobs.append((kind, handler, retry))

    def build(self) -> Supervisor:
        config = self.config
        actors = Supervisor("actors", children=self._actor_specs)
        connections = DynamicSupervisor(
            "connections",
            max_children=config.max_connections + HANDSHAKE_SLACK,
            stop_batch_size=DRAIN_BATCH_SIZE,
            stop_batch_interval=DRAIN_BATCH_INTERVAL,
        )
        table: dict[str, ActorRef | FrameHandler | Durable] = {**self._handlers, **self._durable}
        table.update({t: actors.registry.lookup(n) for t, n in self._routes.items()})
        routes = Routes(table)
        admission = self.admission()
        settings = self.connection_settings()
        children: list[ChildSpec] = []
        if config.admin_port is not None:
            # The admin reports on the whole tree: `tree` is bound below, before any start.
            children.append(
                ChildSpec("admin", lambda: AdminActor(config.host, config.admin_port or 0, tree))
            )
        queue = self._queue_subtree()
        children.append(ChildSpec(QUEUE_NAME, queue))
        if config.redis_url is not None:
            redis_url = config.redis_url
            children.append(ChildSpec(BUS, lambda: RedisBus(redis_url)))
        children += [
            ChildSpec(
                HEARTBEAT,
                lambda: HeartbeatActor(
                    interval=config.heartbeat_interval,
                    max_missed=config.heartbeat_max_missed,
                    zombie_timeout=config.zombie_timeout,
                ),
            ),
            ChildSpec(MANAGER, self._new_manager),
            ChildSpec("connections", connections),
            ChildSpec("actors", actors),
            ChildSpec(
                "listener",
                lambda: Listener(
                    config.host,
                    config.port,
                    admission,
                    settings,
                    connections,
                    routes,
                    connection_shutdown_timeout=config.drain_timeout,
                    policy=self.policy,
                ),
            ),
        ]
        tree = Supervisor("tether", strategy=Strategy.REST_FOR_ONE, children=children)
        # Every actor of the tree (connections, developers' actors) may enqueue.
        tree.registry.expose(QUEUE_NAME, queue.registry)
        manager = tree.ref(MANAGER)

        async def deliver(item: QueueItem) -> None:
            payload = item.payload
            await manager.tell(
                TopicPublish(
                    payload["topic"],
                    payload["data"],
                    item.priority,
                    origin=payload.get("origin"),
                    seq=payload.get("seq"),
                )
            )

        queue.register(PUBLISH_KIND, deliver)
        self.tree = tree
        return tree
