"""The heartbeat actor with a fake clock: spread pings, misses, 4000 on time, zombies, RTT."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tether.actors.connection._outbox import Outbox
from tether.actors.connection._peer import Peer
from tether.actors.heartbeat import (
    GetHeartbeatStatistics,
    HeartbeatActor,
    HeartbeatStatistics,
    Liveness,
    Unwatch,
    Watch,
)
from tether.protocol import CloseCode
from tether.supervision import ChildSpec, Supervisor

INTERVAL = 10.0


class FakeConnection:
    """Records ping requests; answers them (a pong) unless told to be silent."""

    def __init__(self, name: str, *, answers: bool = True) -> None:
        self.peer = Peer(name, "user", Outbox(1024))
        self.pings: list[float] = []
        self.answers = answers
        self.liveness = Liveness(self.peer, trio.current_time(), self.ping)

    def ping(self) -> None:
        now = trio.current_time()
        self.pings.append(now)
        if self.answers:
            self.liveness.last_seen = now + 0.001  # the pong comes back a millisecond later


def tree(**kwargs: object) -> Supervisor:
    return Supervisor(
        "test",
        children=[ChildSpec("heartbeat", lambda: HeartbeatActor(interval=INTERVAL, **kwargs))],  # type: ignore[arg-type]
    )


async def statistics(sup: Supervisor) -> HeartbeatStatistics:
    stats: HeartbeatStatistics = await sup.ref("heartbeat").ask(GetHeartbeatStatistics())
    return stats


async def test_pings_are_spread_over_the_interval_then_one_interval_apart(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sup = tree()
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        connections = [FakeConnection(f"c{i}") for i in range(200)]
        for conn in connections:
            await sup.ref("heartbeat").tell(Watch(conn.peer.id, conn.liveness))
        await trio.sleep(INTERVAL * 5 + 0.01)
        first = sorted(conn.pings[0] for conn in connections)
        assert first[0] >= INTERVAL / 2 and first[-1] <= INTERVAL
        assert len(set(first)) > 150  # not one burst
        for conn in connections:
            gaps = [b - a for a, b in zip(conn.pings, conn.pings[1:], strict=False)]
            assert gaps == pytest.approx([INTERVAL] * len(gaps))
            assert conn.peer.close_code is None
        stats = await statistics(sup)
        assert stats.watched == 200 and stats.misses == 0 and stats.closed_silent == 0
        sup.stop()


@pytest.mark.parametrize("max_missed", [1, 3])
async def test_a_silent_connection_is_closed_4000_within_one_more_interval_never_earlier(
    autojump_clock: trio.testing.MockClock, max_missed: int
) -> None:
    sup = tree(max_missed=max_missed)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        silent = FakeConnection("silent", answers=False)
        alive = FakeConnection("alive")
        for conn in (silent, alive):
            await sup.ref("heartbeat").tell(Watch(conn.peer.id, conn.liveness))
        last_sign_of_life = silent.liveness.last_seen
        while silent.peer.close_code is None:  # noqa: ASYNC110 - polling a fake's state
            await trio.sleep(0.1)
        closed_after = trio.current_time() - last_sign_of_life
        assert max_missed * INTERVAL <= closed_after <= (max_missed + 1) * INTERVAL + 0.1
        assert silent.peer.close_code == CloseCode.HEARTBEAT_TIMEOUT
        assert not silent.peer.flush_before_close
        await trio.sleep(INTERVAL * 10)
        assert alive.peer.close_code is None
        stats = await statistics(sup)
        assert stats.closed_silent == 1
        # Each visit after the first interval of silence counts a miss, until the close.
        assert stats.misses == max_missed - 1
        sup.stop()


async def test_any_frame_counts_as_a_sign_of_life(autojump_clock: trio.testing.MockClock) -> None:
    sup = tree(max_missed=2)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        chatty = FakeConnection("chatty", answers=False)  # never pongs, but sends frames
        await sup.ref("heartbeat").tell(Watch(chatty.peer.id, chatty.liveness))
        for _ in range(20):
            await trio.sleep(INTERVAL / 2)
            chatty.liveness.last_seen = trio.current_time()
        assert chatty.peer.close_code is None
        sup.stop()


async def test_a_connection_whose_writer_is_stuck_is_closed_as_a_zombie(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sup = tree(zombie_timeout=2 * INTERVAL)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        zombie = FakeConnection("zombie")  # answers pings (its reader works)...
        await sup.ref("heartbeat").tell(Watch(zombie.peer.id, zombie.liveness))
        await trio.sleep(INTERVAL * 2)
        stuck_since = trio.current_time()
        zombie.liveness.send_started = stuck_since  # ...but its peer stopped reading
        while zombie.peer.close_code is None:  # noqa: ASYNC110 - polling a fake's state
            await trio.sleep(0.1)
        stuck = trio.current_time() - stuck_since
        assert 2 * INTERVAL <= stuck <= 3 * INTERVAL + 0.1
        stats = await statistics(sup)
        assert stats.closed_zombie == 1 and stats.closed_silent == 0
        sup.stop()


async def test_unwatched_connections_are_forgotten(autojump_clock: trio.testing.MockClock) -> None:
    sup = tree()
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        gone = FakeConnection("gone", answers=False)
        await sup.ref("heartbeat").tell(Watch(gone.peer.id, gone.liveness))
        await sup.ref("heartbeat").tell(Unwatch(gone.peer.id))
        await trio.sleep(INTERVAL * 10)
        assert gone.pings == [] and gone.peer.close_code is None
        assert (await statistics(sup)).watched == 0
        sup.stop()


async def test_round_trip_percentiles(autojump_clock: trio.testing.MockClock) -> None:
    sup = tree()
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        connections = [FakeConnection(f"c{ms}") for ms in range(1, 101)]
        for ms, conn in enumerate(connections, start=1):
            conn.liveness.pong(trio.current_time(), ms / 1000)
            await sup.ref("heartbeat").tell(Watch(conn.peer.id, conn.liveness))
        await trio.sleep(INTERVAL)  # every connection visited once
        stats = await statistics(sup)
        assert stats.pongs_received == 100
        assert stats.rtt_p50 == pytest.approx(0.050)
        assert stats.rtt_p90 == pytest.approx(0.090)
        assert stats.rtt_p99 == pytest.approx(0.099)
        sup.stop()
