"""Run a command as a subprocess and wait for lines of its output, with deadlines."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import trio

PYTHON = sys.executable


class Process:
    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.output: list[str] = []
        self._buffer = b""

    async def wait_for_line(self, needle: str, timeout: float = 20.0, *, count: int = 1) -> str:
        """The `count`-th line of output containing `needle` (all lines are kept in `output`)."""
        seen = 0
        for line in self.output:
            if needle in line:
                seen += 1
                if seen == count:
                    return line
        assert self.process.stdout is not None
        with trio.fail_after(timeout):
            while True:
                chunk = await self.process.stdout.receive_some(65536)
                if not chunk:
                    raise AssertionError(
                        f"process ended before {needle!r}:\n" + "".join(self.output)
                    )
                self._buffer += chunk
                *lines, self._buffer = self._buffer.split(b"\n")
                for raw in lines:
                    line = raw.decode(errors="replace") + "\n"
                    self.output.append(line)
                    if needle in line:
                        seen += 1
                        if seen == count:
                            return line

    async def read_rest(self, timeout: float = 20.0) -> str:
        assert self.process.stdout is not None
        with trio.fail_after(timeout):
            while chunk := await self.process.stdout.receive_some(65536):
                self._buffer += chunk
        self.output.extend(
            line + "\n" for line in self._buffer.decode(errors="replace").split("\n")
        )
        self._buffer = b""
        return "".join(self.output)

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    async def wait(self, timeout: float = 20.0) -> int:
        with trio.fail_after(timeout):
            await self.read_rest(timeout)
            return await self.process.wait()


@asynccontextmanager
async def running(args: Sequence[str], env: dict[str, str] | None = None) -> AsyncIterator[Process]:
    """Start `args` with stdout and stderr merged into one pipe; kill it on the way out."""
    process = await trio.lowlevel.open_process(
        list(args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    try:
        yield Process(process)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
            with trio.CancelScope(shield=True):
                await process.wait()
        if process.stdout is not None:
            await process.stdout.aclose()


@asynccontextmanager
async def serving(*args: str) -> AsyncIterator[tuple[Process, int]]:
    """`tether serve --port 0 ARGS…` as a subprocess; yields it and the port it listens on."""
    command = [PYTHON, "-m", "tether", "serve", "--host", "127.0.0.1", "--port", "0", *args]
    async with running(command) as proc:
        line = await proc.wait_for_line("listening on ws://")
        port = int(line.split("listening on ws://127.0.0.1:", 1)[1].split("/", 1)[0])
        yield proc, port


def free_port() -> int:
    """A port free right now on 127.0.0.1 (for servers that need it before they start)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
