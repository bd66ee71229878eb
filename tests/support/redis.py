"""A real redis-server for the tests: one per session, on a free port of 127.0.0.1.

`redis_server` starts it (without persistence, in a temp dir), waits until it
says it is ready, and stops it at the end. `RedisServer.stop()` / `start()` take the
same server down and up again on the same port, for outage tests. They block:
called directly from a test under a fake clock, the outage takes no fake time.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

STARTUP_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _follow(process: subprocess.Popen[bytes], output: list[str], ready: threading.Event) -> None:
    assert process.stdout is not None
    for raw in process.stdout:
        line = raw.decode(errors="replace")
        output.append(line)
        if "Ready to accept connections" in line:
            ready.set()
    process.stdout.close()
    ready.set()  # it exited: let the waiter find out


class RedisServer:
    def __init__(self, executable: str, directory: Path) -> None:
        self.executable = executable
        self.directory = directory
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self) -> None:
        """Start on `self.port` and wait until it says it is ready; raises if it does not."""
        if self._process is not None:
            return
        self._process = subprocess.Popen(
            [
                self.executable,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        ready = threading.Event()
        output: list[str] = []
        # The reader keeps draining the pipe for the server's whole life, so that it never
        # fills and stalls the server; it reports readiness (or the server's exit) as an event.
        threading.Thread(target=_follow, args=(self._process, output, ready), daemon=True).start()
        if not ready.wait(STARTUP_TIMEOUT) or not _ping(self.port):
            self.stop()
            raise RuntimeError(f"redis-server did not start on {self.port}:\n{''.join(output)}")

    def stop(self, *, save: bool = False) -> None:
        """Stop it. Without `save` everything it held is gone (no persistence); with `save` it
        writes a snapshot first, which the next `start` loads, as a restarted server would."""
        process, self._process = self._process, None
        if process is None:
            return
        if save:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                sock.sendall(b"SHUTDOWN SAVE\r\n")
        else:
            process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self, *, save: bool = False) -> None:
        self.stop(save=save)
        self.start()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    executable = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if executable is None:
        pytest.fail("redis-server is not installed: the Redis tests need a real server")
    with tempfile.TemporaryDirectory(prefix="tether-redis-") as directory:
        server = RedisServer(executable, Path(directory))
        server.start()
        try:
            yield server
        finally:
            server.stop()
