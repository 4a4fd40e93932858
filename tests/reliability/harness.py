"""Helpers of the reliability suite: mock exchanges served from a background thread, the CLI.

The mocks run on their own event loop in a daemon thread, so the test itself stays
synchronous and can run `nija` either in-process (typer's CliRunner, which starts its own
event loop through `asyncio.run`) or as a subprocess, while the mocks keep answering.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import tomli_w
from typer.testing import CliRunner

from mockex import MOCKS, MockExchange
from mockex.harness import PRIVATE_PATH, account_for, new_credentials
from nija_balances.domain.secrets import Credentials
from nija_balances.domain.text import env_token

T = TypeVar("T")

NIJA = [sys.executable, "-m", "nija_balances"]


class MockThread:
    """An event loop in a daemon thread that serves mock exchanges for one test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.mocks: list[MockExchange] = []

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the mocks' loop (state changes never race a request being served)."""

        async def wrapped() -> T:
            return fn()

        return self.run(wrapped())

    def start(self, exchange: str, **kwargs: Any) -> MockExchange:
        mock = MOCKS[exchange](**kwargs)
        self.run(mock.__aenter__())
        self.mocks.append(mock)
        return mock

    def close(self) -> None:
        for mock in self.mocks:
            self.run(mock.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


# ---------------------------------------------------------------------------- config


def env_names(exchange: str, account: str) -> tuple[str, str, str]:
    """The conventional env var names of a connection (user id, or "platform")."""
    ex = env_token(exchange)
    who = "PLATFORM" if account == "platform" else f"USER_{env_token(account)}"
    return tuple(f"{ex}_{who}_{part}" for part in ("API_KEY", "API_SECRET", "API_PASSPHRASE"))  # type: ignore[return-value]


@dataclass
class Conn:
    """One connection of the test config, with its mock account's credentials."""

    account: str
    name: str
    exchange: str
    creds: Credentials
    ccxt: dict[str, Any]
    mock: MockExchange | None = None
    server: MockThread | None = None

    @property
    def key(self) -> str:
        return f"{self.account}/{self.name}"

    @property
    def api_key(self) -> str:
        assert self.creds.api_key is not None
        return self.creds.api_key

    @property
    def private_path(self) -> str:
        return PRIVATE_PATH[self.exchange]

    def inject(self, kind: str, **kwargs: Any) -> None:
        """A fault on this connection's own private requests only."""
        assert self.mock is not None and self.server is not None
        mock = self.mock
        kwargs.setdefault("key", self.api_key)
        kwargs.setdefault("path", self.private_path)
        self.server.call(lambda: mock.inject(kind, **kwargs))

    def clear(self) -> None:
        assert self.mock is not None and self.server is not None
        self.server.call(self.mock.clear_faults)


@dataclass
class Setup:
    """A config file with connections to mocks, its credentials in the environment."""

    path: Path
    monkeypatch: pytest.MonkeyPatch
    mocks: MockThread
    settings: dict[str, Any] = field(default_factory=lambda: {"timeout": 5})
    conns: list[Conn] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # merged into the TOML document

    def add(
        self,
        account: str,
        mock: MockExchange,
        balances: Mapping[str, tuple[str, str]],
        *,
        name: str | None = None,
        env: bool = True,
        cash: str = "0",
    ) -> Conn:
        """A new mock account and the connection to it; credentials in env by convention.

        `cash` is the Alpaca account's cash (Alpaca has no per-currency balances).
        """
        exchange = mock.exchange_id
        creds = new_credentials(exchange)
        assert creds.api_key is not None
        key = creds.api_key
        on_mock = account_for(creds, balances, cash=cash)
        self.mocks.call(lambda: mock.add_account(key, on_mock))
        conn = Conn(
            account, name or exchange, exchange, creds, fast_overrides(mock), mock, self.mocks
        )
        self.conns.append(conn)
        if env:
            self.set_env(conn)
        return conn

    def add_dead(self, account: str, exchange: str, port: int, *, name: str | None = None) -> Conn:
        """A connection pointed at a port where nothing listens (connection refused)."""
        from mockex.base import ccxt_overrides

        creds = new_credentials(exchange)
        conn = Conn(
            account,
            name or exchange,
            exchange,
            creds,
            ccxt_overrides(exchange, f"http://127.0.0.1:{port}"),
        )
        self.conns.append(conn)
        self.set_env(conn)
        return conn

    def set_env(self, conn: Conn) -> None:
        key_var, secret_var, pass_var = env_names(conn.exchange, conn.account)
        self.monkeypatch.setenv(key_var, conn.api_key)
        self.monkeypatch.setenv(secret_var, conn.creds.api_secret or "")
        if conn.creds.api_passphrase:
            self.monkeypatch.setenv(pass_var, conn.creds.api_passphrase)

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"settings": dict(self.settings), "platform": {"name": "Desk"}}
        users: dict[str, Any] = {}
        for c in self.conns:
            table: dict[str, Any] = {"exchange": c.exchange, "ccxt": c.ccxt}
            if c.account == "platform":
                doc["platform"][c.name] = table
            else:
                users.setdefault(c.account, {})[c.name] = table
        if users:
            doc["users"] = users
        for key, value in self.extra.items():
            doc[key] = value
        return doc

    def write(self) -> Path:
        self.path.write_text(tomli_w.dumps(self.document()), encoding="utf-8")
        self.path.chmod(0o600)
        return self.path


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# ---------------------------------------------------------------------------- running nija


@dataclass
class Run:
    """What one `nija` invocation did."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return (
            f"nija {' '.join(self.args)} -> {self.code}\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


_runner = CliRunner()


def nija(*args: str) -> Run:
    """`nija ARGS` in-process. An exception escaping the command fails the test."""
    from nija_balances.cli.root import app

    result = _runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        detail = "".join(traceback.format_exception(result.exception))
        raise AssertionError(f"nija {' '.join(args)} raised:\n{detail}")
    run = Run(tuple(args), result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in run.stdout + run.stderr, run
    return run


def nija_process(*args: str, timeout: float = 30.0, env: Mapping[str, str] | None = None) -> Run:
    """`python -m nija_balances ARGS` in a subprocess (the test's environment by default)."""
    proc = subprocess.run(
        [*NIJA, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ if env is None else env),
        stdin=subprocess.DEVNULL,
    )
    return Run(tuple(args), proc.returncode, proc.stdout, proc.stderr)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll `condition` until true (a deadline, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


def fast_overrides(mock: MockExchange) -> dict[str, Any]:
    """The connection's `ccxt` table for `mock`, without ccxt's request spacing.

    ccxt's throttle costs ~10 ms per request even at `rateLimit = 1`; these tests are about
    failures, and the throttle itself is exercised by tests/test_ccxt_adapter.py.
    """
    from mockex.base import ccxt_overrides

    table = ccxt_overrides(mock.exchange_id, mock.url, rate_limit_ms=1)
    return {**table, "enableRateLimit": False}
