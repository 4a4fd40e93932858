"""Fixtures of the robustness suite: the CLI in-process, NIJA directories, mock exchanges
served from a background thread, and a configuration pointing connections at them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
import tomli_w
from typer.testing import CliRunner

from mockex import MOCKS, MockExchange
from mockex.harness import account_for, new_credentials
from nija_balances.domain.secrets import Credentials

T = TypeVar("T")

NIJA = [sys.executable, "-m", "nija_balances"]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@dataclass(frozen=True)
class Run:
    """One `nija` invocation: exit code, stdout, stderr."""

    code: int
    out: str
    err: str


def nija(*args: str | Path) -> Run:
    """`nija ARGS` in-process (typer's CliRunner); a traceback fails the test."""
    result = CliRunner().invoke(app(), [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def app() -> Any:
    from nija_balances.cli.root import app as cli_app

    return cli_app


def nija_process(*args: str | Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """`python -m nija_balances ARGS` as its own process (stdout and stderr piped)."""
    return subprocess.Popen(
        [*NIJA, *(str(a) for a in args)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def write_json(directory: Path, name: str, data: object) -> Path:
    """A NIJA user file: `data` as indented JSON, or written as is when it is str/bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2), "utf-8")
    return path


@pytest.fixture
def users_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "users"
    directory.mkdir()
    return directory


# ------------------------------------------------------------------ mocks in a thread


class MockThread:
    """Mock exchanges on an event loop of their own, in a daemon thread.

    The test stays synchronous, so `nija` can run in-process (CliRunner starts its own
    loop through `asyncio.run`) or as subprocesses while the mocks keep answering.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.mocks: list[MockExchange] = []

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, exchange: str, **kwargs: Any) -> MockExchange:
        mock = MOCKS[exchange](**kwargs)
        self.call(mock.__aenter__())
        self.mocks.append(mock)
        return mock

    def close(self) -> None:
        for mock in self.mocks:
            self.call(mock.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def mocks() -> Iterator[MockThread]:
    thread = MockThread()
    try:
        yield thread
    finally:
        thread.close()


@dataclass
class Setup:
    """A TOML config whose connections point at mock exchanges, and their credentials.

    Each connection reads its key from `{ID}_{CONN}_KEY`-style variables named in the file
    (`api_key_env`), so the variables a process gets decide which mock account it reads.
    """

    path: Path
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    expected: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    prefixes: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(
        self,
        account: str,
        mock: MockExchange,
        balances: Mapping[str, tuple[str, str]],
        expected: str,
        name: str | None = None,
    ) -> Credentials:
        """A mock account with `balances`, connected as `account`/`name`; `expected` equity."""
        name = name or mock.exchange_id
        creds = self.credentials(mock, balances)
        prefix = f"T_{account}_{name}".upper().replace("-", "_")
        table: dict[str, Any] = {
            "exchange": mock.exchange_id,
            "api_key_env": f"{prefix}_KEY",
            "api_secret_env": f"{prefix}_SECRET",
            "ccxt": mock.ccxt_overrides(),
        }
        self.env[f"{prefix}_KEY"] = creds.api_key or ""
        self.env[f"{prefix}_SECRET"] = creds.api_secret or ""
        if creds.api_passphrase:
            table["api_passphrase_env"] = f"{prefix}_PASS"
            self.env[f"{prefix}_PASS"] = creds.api_passphrase
        self.accounts.setdefault(account, {})[name] = table
        self.expected[(account, name)] = Decimal(expected)
        self.prefixes[(account, name)] = prefix
        return creds

    def another_key(
        self, account: str, name: str, mock: MockExchange, balances: Mapping[str, tuple[str, str]]
    ) -> dict[str, str]:
        """The variables that point `account`/`name` at a new mock account (its own API key,
        e.g. one per process: Kraken nonces of one key must grow across processes)."""
        creds = self.credentials(mock, balances)
        prefix = self.prefixes[(account, name)]
        return {f"{prefix}_KEY": creds.api_key or "", f"{prefix}_SECRET": creds.api_secret or ""}

    def apply(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Put the credentials in this process's environment (for in-process runs)."""
        for name, value in self.env.items():
            monkeypatch.setenv(name, value)

    @staticmethod
    def credentials(mock: MockExchange, balances: Mapping[str, tuple[str, str]]) -> Credentials:
        """A new account with `balances` on `mock`; returns its credentials."""
        creds = new_credentials(mock.exchange_id)
        assert creds.api_key is not None
        mock.add_account(creds.api_key, account_for(creds, balances))
        return creds

    def write(self) -> Path:
        doc: dict[str, Any] = {"settings": {"timeout": 20}, "users": {}}
        for account, conns in self.accounts.items():
            if account == "platform":
                doc["platform"] = conns
            else:
                doc["users"][account] = conns
        self.path.write_text(tomli_w.dumps(doc), "utf-8")
        return self.path

    @property
    def namespace(self) -> str:
        return str(self.path.resolve())

    @property
    def keys(self) -> list[str]:
        return [f"{account}/{name}" for account, name in self.expected]


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path / "config.toml")
