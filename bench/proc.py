"""Processes: starting a server, reading its RSS and CPU time, driving client processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson

from bench.servers import ServerSpec

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ScenarioTimeout(Exception):
    """A scenario went over its time limit: reported as "timeout", never waited out."""


def free_port() -> int:
    # `tether serve --port 0` logs the port it picked only at --log-level info,
    # and the benchmark runs it at warning; so the harness picks the port.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    # Fields after the command name (which may contain spaces): utime is the
    # 14th field of the line and stime the 15th.
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class Server:
    def __init__(self, spec: ServerSpec, process: asyncio.subprocess.Process, port: int, log: Path):
        self.spec = spec
        self.process = process
        self.pid = process.pid
        self.url = f"ws://127.0.0.1:{port}{spec.path}"
        self.log = log

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


async def _wait_listening(port: int, process: asyncio.subprocess.Process, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return
    raise ScenarioTimeout(f"server not listening on {port} after {timeout} s")


@contextlib.asynccontextmanager
async def running_server(spec: ServerSpec, heartbeat: float | None = None) -> AsyncIterator[Server]:
    """A fresh server process for one measurement, stopped afterwards whatever happens.

    A fresh process each time keeps memory figures and caches from leaking from
    one measurement into the next.
    """
    port = free_port()
    log = Path(tempfile.gettempdir()) / f"bench-{spec.name}-{port}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *spec.command(port, heartbeat),
            cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    server = Server(spec, process, port, log)
    try:
        await _wait_listening(port, process, 20)
        # The listener accepts before the rest of a supervision tree may be up;
        # a short settle keeps start-up work out of the first measurement.
        await asyncio.sleep(0.3)
        yield server
    finally:
        await _stop(process)
        with contextlib.suppress(OSError):
            log.unlink()


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 5)
    except TimeoutError:
        process.kill()
        await process.wait()


class Client:
    """One client process, spoken to in JSON lines (see bench/clients)."""

    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process

    @classmethod
    async def start(cls, module: str, *args: str) -> Client:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            f"bench.clients.{module}",
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            # Lines of thousands of floats exceed asyncio's default 64 KiB limit.
            limit=16 << 20,
        )
        return cls(process)

    async def read(self, deadline: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        remaining = deadline - time.monotonic()
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), max(remaining, 0.01))
        except TimeoutError:
            raise ScenarioTimeout("client did not answer in time") from None
        if not line:
            err = b""
            if self.process.stderr is not None:
                with contextlib.suppress(TimeoutError):
                    err = await asyncio.wait_for(self.process.stderr.read(), 1)
            raise RuntimeError(f"client exited: {err.decode(errors='replace')[-500:]}")
        message: dict[str, Any] = orjson.loads(line)
        if "error" in message:
            if "Timeout" in message["error"]:
                raise ScenarioTimeout(message["error"])
            raise RuntimeError(f"client failed: {message['error']}")
        return message

    async def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(OSError, RuntimeError):
                await self.send("stop")
                assert self.process.stdin is not None
                self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@contextlib.asynccontextmanager
async def clients(module: str, argsets: list[list[str]]) -> AsyncIterator[list[Client]]:
    """Start one client process per argument list; always reap them."""
    started = [await Client.start(module, *args) for args in argsets]
    try:
        yield started
    finally:
        await asyncio.gather(*(c.stop() for c in started))


def split(total: int, parts: int) -> list[int]:
    """`total` connections over at most `parts` processes, as evenly as possible."""
    parts = max(1, min(parts, total))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]
