"""The service's statistics in the Prometheus text format, built at scrape time.

Nothing on the per-message path updates a metric: each actor keeps its own
counters as plain integers, and a scrape asks for snapshots and renders them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tether.protocol import Priority
from tether.supervision import SupervisorStatistics

from ..bus import BusStatistics
from ..heartbeat import HeartbeatStatistics
from ..manager import ManagerStatistics
from ..queue import QueueStatistics


@attrs.frozen
class Snapshot:
    tree: SupervisorStatistics
    ready: bool
    manager: ManagerStatistics | None
    heartbeat: HeartbeatStatistics | None
    queue: QueueStatistics | None = None
    bus: BusStatistics | None = None


def _supervisors(stats: SupervisorStatistics) -> Iterable[SupervisorStatistics]:
    yield stats
    for child in stats.children:
        if child.supervisor is not None:
            yield from _supervisors(child.supervisor)


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot
        yield GaugeMetricFamily(
            "tether_ready", "1 while accepting connections", value=int(snap.ready)
        )
        restarts = CounterMetricFamily(
            "tether_supervisor_restarts", "Children restarted", labels=["supervisor"]
        )
        children = GaugeMetricFamily(
            "tether_supervisor_children", "Children", labels=["supervisor"]
        )
        for sup in _supervisors(snap.tree):
            restarts.add_metric([sup.name], sup.restarts)
            children.add_metric([sup.name], len(sup.children))
        yield restarts
        yield children
        if snap.manager is not None:
            yield from self._manager(snap.manager)
        if snap.heartbeat is not None:
            yield from self._heartbeat(snap.heartbeat)
        if snap.queue is not None:
            yield from self._queue(snap.queue)
        if snap.bus is not None:
            yield from self._bus(snap.bus)

    @staticmethod
    def _queue(q: QueueStatistics) -> Iterator[Metric]:
        ready = GaugeMetricFamily("tether_queue_ready", "Items ready", labels=["priority"])
        for priority, count in sorted(q.ready.items()):
            ready.add_metric([Priority(priority).wire], count)
        yield ready
        yield GaugeMetricFamily("tether_queue_in_progress", "Items held", value=q.in_progress)
        yield GaugeMetricFamily("tether_queue_delayed", "Items waiting to retry", value=q.delayed)
        yield GaugeMetricFamily("tether_queue_dead", "Dead letters", value=q.dead)
        yield CounterMetricFamily("tether_queue_enqueued", "Items enqueued", value=q.enqueued)
        yield CounterMetricFamily("tether_queue_acked", "Items done", value=q.acked)
        yield CounterMetricFamily("tether_queue_retried", "Retries", value=q.retried)
        yield GaugeMetricFamily(
            "tether_queue_fallback_active",
            "1 while Redis is unreachable and memory stands in",
            value=int(q.fallback_active),
        )

    @staticmethod
    def _bus(b: BusStatistics) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "tether_bus_connected", "1 while Redis is reachable", value=int(b.connected)
        )
        yield GaugeMetricFamily("tether_bus_topics", "Topics subscribed in Redis", value=b.topics)
        yield CounterMetricFamily(
            "tether_bus_published", "Messages sent to Redis", value=b.published
        )
        yield CounterMetricFamily("tether_bus_received", "Messages from Redis", value=b.received)
        yield CounterMetricFamily(
            "tether_bus_fallbacks", "Switches to local delivery", value=b.fallbacks
        )

    @staticmethod
    def _manager(m: ManagerStatistics) -> Iterator[Metric]:
        yield GaugeMetricFamily("tether_connections", "Open connections", value=m.connections)
        yield GaugeMetricFamily("tether_users", "Users with a connection", value=m.users)
        yield GaugeMetricFamily("tether_topics", "Topics with subscribers", value=m.topics)
        yield CounterMetricFamily(
            "tether_connections_accepted", "Connections admitted", value=m.connections_total
        )
        yield CounterMetricFamily("tether_published", "Messages published", value=m.published)
        yield CounterMetricFamily(
            "tether_delivered", "Messages queued to subscribers", value=m.delivered
        )
        refused = CounterMetricFamily(
            "tether_handshakes_refused", "Handshakes refused", labels=["status"]
        )
        for status, count in sorted(m.refused.items()):
            refused.add_metric([str(status)], count)
        yield refused
        closed = CounterMetricFamily("tether_connections_closed", "Closes", labels=["code"])
        for code, count in sorted(m.closed.items()):
            closed.add_metric([str(code)], count)
        yield closed

    @staticmethod
    def _heartbeat(h: HeartbeatStatistics) -> Iterator[Metric]:
        yield CounterMetricFamily("tether_heartbeat_pings", "Pings sent", value=h.pings_sent)
        yield CounterMetricFamily(
            "tether_heartbeat_pongs", "Pongs received", value=h.pongs_received
        )
        yield CounterMetricFamily("tether_heartbeat_misses", "Intervals missed", value=h.misses)
        yield CounterMetricFamily(
            "tether_heartbeat_closed", "Closed by the heartbeat", value=h.closed_silent
        )
        yield CounterMetricFamily("tether_zombies_closed", "Zombies closed", value=h.closed_zombie)
        rtt = GaugeMetricFamily(
            "tether_heartbeat_rtt_seconds", "Ping round trip", labels=["quantile"]
        )
        for quantile, value in (("0.5", h.rtt_p50), ("0.9", h.rtt_p90), ("0.99", h.rtt_p99)):
            if value is not None:
                rtt.add_metric([quantile], value)
        yield rtt


def render(snapshot: Snapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snapshot))
    return generate_latest(registry)
