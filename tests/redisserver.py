"""A real `redis-server` for one test: random port, its own temp dir, no persistence.

Debian's `redis-server` (scripts/system-deps installs it; the README's test command runs
that). Where the binary is missing the tests that need it are skipped, loudly.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BINARY = shutil.which("redis-server")
MISSING = (
    "redis-server is not installed: the Redis store tests cannot run "
    "(run scripts/system-deps, which installs Debian's redis-server)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class RedisServer:
    """One running server; `url` points at it, `stop()` kills it (as a crash would)."""

    def __init__(self, directory: Path, port: int, password: str | None = None) -> None:
        self.directory, self.port, self.password = directory, port, password
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        if BINARY is None:
            pytest.skip(MISSING)
        args = [BINARY, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self.directory), "--daemonize", "no"]
        args += ["--protected-mode", "no", "--loglevel", "warning"]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.directory
        )
        deadline = time.monotonic() + 10
        while True:  # a deadline, not a sleep: until it answers PING
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64):
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def client(self):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@contextmanager
def redis_server(directory: Path, password: str | None = None) -> Iterator[RedisServer]:
    server = RedisServer(directory, free_port(), password).start()
    try:
        yield server
    finally:
        server.stop()
