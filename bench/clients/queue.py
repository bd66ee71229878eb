"""Queue throughput in one process: producers enqueue in batches, workers run a no-op
handler; prints JSON with the items per second from the first enqueue to the last done.

    python -m bench.clients.queue --backend memory --items 20000
    python -m bench.clients.queue --backend redis://127.0.0.1:6379/0 --items 10000
"""

from __future__ import annotations

import argparse
import json
import secrets

import trio

from tether.actors.queue import Enqueue, EnqueueBatch, QueueItem, Rejected, queue_supervisor
from tether.supervision._logging import configure_logging


async def measure(args: argparse.Namespace) -> dict[str, float]:
    queue = queue_supervisor(
        args.backend,
        workers=args.workers,
        capacity=args.items + 1_000,
        prefix=f"bench:{secrets.token_hex(4)}",
    )
    done = 0
    finished = trio.Event()

    async def handle(item: QueueItem) -> None:
        nonlocal done
        done += 1
        if done == args.items:
            finished.set()

    queue.register("bench", handle)
    rejected = 0
    with trio.fail_after(args.timeout):
        async with trio.open_nursery() as nursery:
            await nursery.start(queue.run)
            started = trio.current_time()

            async def produce(first: int, count: int) -> None:
                nonlocal rejected
                for offset in range(0, count, args.batch):
                    batch = tuple(
                        Enqueue("bench", {"n": first + offset + k})
                        for k in range(min(args.batch, count - offset))
                    )
                    replies = await queue.queue.ask(EnqueueBatch(batch), timeout=args.timeout)
                    rejected += sum(isinstance(reply, Rejected) for reply in replies)

            share = args.items // args.producers
            async with trio.open_nursery() as producers:
                for k in range(args.producers):
                    count = share if k < args.producers - 1 else args.items - share * k
                    producers.start_soon(produce, k * share, count)
            if rejected:
                raise RuntimeError(f"{rejected} items were rejected")
            await finished.wait()
            elapsed = trio.current_time() - started
            queue.stop()
    return {"items_per_s": args.items / elapsed, "seconds": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="memory")
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--producers", type=int, default=8)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=120.0)
    configure_logging("text", "warning")
    result = trio.run(measure, parser.parse_args())
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
