"""Queue throughput: items per second from enqueue to a worker's done, for the memory
backend and the Redis backend, next to `redis-benchmark` (LPUSH and LPOP) on the same
redis-server as the ceiling of what one Redis can do here.

Each measurement runs `bench.clients.queue` in a process of its own: 8 producers
enqueue in batches of 50 and 16 workers run a no-op handler. Redis is a fresh
`redis-server` on a free port of 127.0.0.1, without persistence.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator

from bench.proc import free_port
from bench.scenarios import Case, Figure, Measurement
from bench.servers import TETHER, ServerSpec

MEMORY = "throughput, memory backend"
REDIS = "throughput, Redis backend"
LPUSH = "redis-benchmark LPUSH (ceiling)"
LPOP = "redis-benchmark LPOP (ceiling)"


@contextlib.asynccontextmanager
async def redis_server() -> AsyncIterator[int]:
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("redis-server is not installed")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as directory:
        process = await asyncio.create_subprocess_exec(
            executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", directory,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for _ in range(200):
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.02)
                    continue
                writer.close()
                break
            yield port
        finally:
            process.terminate()
            await process.wait()


async def _queue_client(backend: str, items: int, timeout: float) -> float:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.clients.queue", "--backend", backend,
        "--items", str(items), "--timeout", str(timeout),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout + 10)
    if process.returncode != 0:
        raise RuntimeError(f"queue client failed: {stderr.decode()[-500:]}")
    result: float = json.loads(stdout.decode().strip().splitlines()[-1])["items_per_s"]
    return result


async def _redis_benchmark(port: int, requests: int) -> dict[str, float]:
    executable = shutil.which("redis-benchmark")
    if executable is None:
        return {}
    process = await asyncio.create_subprocess_exec(
        executable, "-h", "127.0.0.1", "-p", str(port), "-t", "lpush,lpop",
        "-n", str(requests), "-q",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    stdout, _ = await asyncio.wait_for(process.communicate(), 60)
    rates = dict(re.findall(r"(LPUSH|LPOP): ([0-9.]+) requests per second", stdout.decode()))
    return {LPUSH: float(rates["LPUSH"]), LPOP: float(rates["LPOP"])} if len(rates) == 2 else {}


def _case(items: int, requests: int) -> Case:
    time_limit = 240.0

    async def run(spec: ServerSpec) -> Measurement:
        values = {MEMORY: await _queue_client("memory", items, time_limit / 3)}
        async with redis_server() as port:
            values[REDIS] = await _queue_client(
                f"redis://127.0.0.1:{port}/0", items // 2, time_limit / 3
            )
            values.update(await _redis_benchmark(port, requests))
        notes = [] if LPUSH in values else ["redis-benchmark not found: no ceiling"]
        return Measurement(values=values, notes=notes)

    return Case(
        scenario="queue",
        label=f"{items:,} items (memory), {items // 2:,} (Redis); 8 producers, 16 workers",
        figures=[
            Figure(MEMORY, "items/s", "higher"),
            Figure(REDIS, "items/s", "higher"),
            Figure(LPUSH, "ops/s", "higher"),
            Figure(LPOP, "ops/s", "higher"),
        ],
        servers=[TETHER],
        run=run,
        time_limit=time_limit,
    )


def cases(quick: bool) -> list[Case]:
    return [_case(5_000, 20_000)] if quick else [_case(20_000, 100_000)]
