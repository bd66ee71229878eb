"""The outbound queue of one connection: priority lanes, a byte budget, one waiter.

Everything for a connection is pushed here (never awaited by the pusher) and
the connection's writer takes it all whenever it wakes:

    while True:
        await outbox.wait()
        frames = outbox.take_all()
        if frames:
            await socket.send_many(frames)
        elif outbox.closed:
            break

Control frames (pong, ack, error, shutdown) have a lane of their own that is
never refused and always goes first: PROTOCOL-v1 says they are never queued
behind data. Data frames go to one lane per `Priority`; a push that would take
the queued total past `max_bytes` is refused, and the caller closes the
connection with 4001 (slow consumer). Control bytes count towards the total
but never cause a refusal themselves.

Sizes are `len(text)`: characters, which is exact for ASCII JSON and a lower
bound of the UTF-8 size otherwise. It costs nothing, where encoding would copy
every frame once more just to measure it.

Memory matters at 10,000 connections. Lanes are plain lists (56 bytes empty,
a deque is 760) because the writer takes everything at once and nothing is
ever popped from the front; each is created on first use and handed over by
`take_all`, so a drained outbox holds no list at all. The one waiter (the writer)
parks itself, with no object made per wait.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import trio

from tether.protocol import Priority

_CONTROL = 0  # lane index; data lanes follow in priority order
_LANES = 1 + len(Priority)


@attrs.frozen
class OutboxStatistics:
    control: int  # control frames queued
    by_priority: Mapping[Priority, int]  # data frames queued, per priority
    bytes_queued: int
    max_bytes: int
    frames_pushed: int  # accepted since creation, control frames included
    overflows: int  # pushes refused for want of room
    closed: bool


class Outbox:
    """The bounded, priority-ordered outbox of one connection. Never blocks a pusher."""

    __slots__ = (
        "_closed",
        "_frames",
        "_frames_pushed",
        "_lanes",
        "_max_bytes",
        "_overflows",
        "_poked",
        "_queued_bytes",
        "_waiter",
    )

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, not {max_bytes}")
        self._max_bytes = max_bytes
        self._queued_bytes = 0
        self._lanes: list[list[str] | None] = [None] * _LANES
        self._frames = 0
        self._frames_pushed = 0
        self._overflows = 0
        self._closed = False
        self._poked = False
        self._waiter: trio.lowlevel.Task | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def bytes_queued(self) -> int:
        return self._queued_bytes

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    def __len__(self) -> int:
        return self._frames

    def _append(self, lane: int, text: str) -> None:
        queue = self._lanes[lane]
        if queue is None:
            self._lanes[lane] = [text]
        else:
            queue.append(text)
        self._frames += 1
        self._frames_pushed += 1
        self._queued_bytes += len(text)
        if self._waiter is not None:
            self._wake()

    def push_control(self, text: str) -> None:
        """Queue a control frame: never refused, sent before any data frame."""
        self._append(_CONTROL, text)

    def push(self, text: str, priority: Priority) -> bool:
        """Queue a data frame behind others of its priority, ahead of lower ones.

        Returns False, queuing nothing, if the frame would take the outbox past
        `max_bytes`: the caller then closes the connection with 4001.
        """
        if self._queued_bytes + len(text) > self._max_bytes:
            self._overflows += 1
            return False
        self._append(_CONTROL + 1 + priority, text)
        return True

    def take_all(self) -> list[str]:
        """Everything queued, control frames first, then by priority; FIFO within each.

        Empties the outbox.
        """
        taken: list[str] | None = None
        lanes = self._lanes
        for index in range(_LANES):
            queue = lanes[index]
            if queue is None:
                continue
            lanes[index] = None
            if taken is None:
                taken = queue  # the common case, one busy lane: no copy at all
            else:
                taken.extend(queue)
        self._frames = 0
        self._queued_bytes = 0
        return taken if taken is not None else []

    def take(self, max_bytes: int) -> list[str]:
        """Like `take_all`, but at most about `max_bytes` (at least one frame): what stays
        queued can still be overtaken by a more urgent frame pushed before the next take,
        which a backlog handed to the socket in one piece could not be."""
        if self._queued_bytes <= max_bytes:
            return self.take_all()
        taken: list[str] = []
        size = 0
        lanes = self._lanes
        for index in range(_LANES):
            queue = lanes[index]
            if queue is None:
                continue
            count = 0
            for text in queue:
                if taken and size + len(text) > max_bytes:
                    break
                size += len(text)
                count += 1
                taken.append(text)
            if count == len(queue):
                lanes[index] = None
                continue
            lanes[index] = queue[count:]
            break
        self._frames -= len(taken)
        self._queued_bytes -= size
        return taken

    async def wait(self) -> None:
        """Return once something is queued or the outbox is closed.

        Returns at once (after a checkpoint) if that is already so. One task waits: the
        connection's writer. (Parking the task itself, rather than on an Event made for
        each wait, matters when one publish wakes 10,000 writers.)
        """
        if self._frames or self._closed or self._poked:
            self._poked = False
            await trio.lowlevel.checkpoint()
            return
        if self._waiter is not None:
            raise RuntimeError("another task is already waiting on this outbox")
        self._waiter = trio.lowlevel.current_task()

        def abort(_: object) -> trio.lowlevel.Abort:
            self._waiter = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)
        self._poked = False

    def _wake(self) -> None:
        task, self._waiter = self._waiter, None
        if task is not None:
            trio.lowlevel.reschedule(task)

    def wake(self) -> None:
        """Make the writer's next (or current) `wait` return without a frame queued: it has
        other work, a ping to send."""
        self._poked = True
        self._wake()

    def close(self) -> None:
        """Tell the writer to finish: wake the waiters, and make `wait` return at once.

        Pushes are still accepted afterwards, so that a frame queued while the
        writer flushes (an ack, the shutdown frame) goes out with the rest;
        whatever the writer has not taken when it stops is dropped with the outbox.
        """
        self._closed = True
        self._wake()

    def statistics(self) -> OutboxStatistics:
        lanes = self._lanes
        return OutboxStatistics(
            control=len(lanes[_CONTROL] or ()),
            by_priority={p: len(lanes[_CONTROL + 1 + p] or ()) for p in Priority},
            bytes_queued=self._queued_bytes,
            max_bytes=self._max_bytes,
            frames_pushed=self._frames_pushed,
            overflows=self._overflows,
            closed=self._closed,
        )
