"""Issue 15's "done when": many `nija show --refresh` processes at once, on one or two
"hosts" (each its own NIJA_BALANCES_HOME), sharing one Redis (or one host's SQLite store),
against the Kraken mock answering private requests after 500 ms.

Every process is right, each account is fetched at most twice, no nonce is refused; a
third host's plain `nija show` is then served from Redis without a single exchange
request; and Redis killed in the middle leaves every process finishing with a warning and
the right numbers.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import tomli_w

import mockex.kraken
from mockex.harness import PRIVATE_PATH
from redisserver import RedisServer, redis_server
from reliability.harness import NIJA, Run, Setup, wait_until

pytestmark = pytest.mark.slow

PROCESSES = 10
LATENCY = 0.5
BALANCES = {"platform/kraken": "1000.50", "alice/kraken": "250.25", "bob/kraken": "75.00"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    (tmp_path / "redis").mkdir()
    with redis_server(tmp_path / "redis") as running:
        yield running


@pytest.fixture
def nonce_errors(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every "EAPI:Invalid nonce" the Kraken mock answers."""
    refused: list[str] = []
    original = mockex.kraken.kraken_error

    def counting(message: str, status: int = 200) -> Any:
        if "nonce" in message.lower():
            refused.append(message)
        return original(message, status)

    monkeypatch.setattr(mockex.kraken, "kraken_error", counting)
    return refused


def _accounts(setup: Setup, store_url: str | None) -> Any:
    mock = setup.mocks.start("kraken")
    for key, usd in BALANCES.items():
        setup.add(key.split("/")[0], mock, {"USD": (usd, "0")})
    setup.settings = {"timeout": 30}  # ten processes importing ccxt on two busy cores
    if store_url is not None:
        setup.extra = {"store": {"url": store_url}}
    setup.mocks.call(lambda: mock.inject("latency", path=PRIVATE_PATH["kraken"], seconds=LATENCY))
    return mock


def _host(setup: Setup, tmp_path: Path, name: str) -> dict[str, str]:
    """A "host": its own home (cache, locks) and its own copy of the config."""
    home = tmp_path / name
    (home / "config").mkdir(parents=True)
    cfg = home / "config" / "config.toml"
    cfg.write_text(tomli_w.dumps(setup.document()), encoding="utf-8")
    cfg.chmod(0o600)
    return {**os.environ, "NIJA_BALANCES_HOME": str(home), "NIJA_CONFIG": str(cfg)}


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*NIJA, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _finish(proc: subprocess.Popen[str], args: tuple[str, ...]) -> Run:
    out, err = proc.communicate(timeout=240)
    return Run(args, proc.returncode, out, err)


def _right(run: Run, statuses: set[str]) -> None:
    """Every connection of this run has its account's balance, in one of `statuses`."""
    assert run.code == 0, run
    assert "Traceback" not in run.stdout + run.stderr, run
    conns = {f"{c['account']}/{c['connection']}": c for c in run.json()["connections"]}
    assert set(conns) == set(BALANCES), run
    for key, usd in BALANCES.items():
        assert conns[key]["status"] in statuses, run
        assert Decimal(str(conns[key]["balance"])) == Decimal(usd), run


def _refresh_at_once(envs: list[dict[str, str]]) -> list[Run]:
    args = ("show", "--refresh", "--json")
    procs = [_start(envs[i % len(envs)], *args) for i in range(PROCESSES)]
    return [_finish(p, args) for p in procs]


def _fetches(setup: Setup, mock: Any) -> dict[str, int]:
    by_key = setup.mocks.call(lambda: dict(mock.requests_by_key))
    return {c.key: by_key.get(c.api_key, 0) for c in setup.conns}


def test_ten_processes_on_two_hosts_share_one_redis(
    setup: Setup, tmp_path: Path, server: RedisServer, nonce_errors: list[str]
) -> None:
    mock = _accounts(setup, server.url)
    hosts = [_host(setup, tmp_path, "host-a"), _host(setup, tmp_path, "host-b")]
    for run in _refresh_at_once(hosts):
        _right(run, {"ok"})
    fetched = _fetches(setup, mock)
    assert all(1 <= n <= 2 for n in fetched.values()), fetched
    assert nonce_errors == []
    # a third host, right after: everything from Redis, not one request to the exchange
    before = setup.mocks.call(lambda: sum(mock.requests.values()))
    third = _host(setup, tmp_path, "host-c")
    _right(_finish(_start(third, "show", "--json"), ("show", "--json")), {"cached"})
    assert setup.mocks.call(lambda: sum(mock.requests.values())) == before


def test_ten_processes_on_one_host_share_its_sqlite_store(
    setup: Setup, tmp_path: Path, nonce_errors: list[str]
) -> None:
    mock = _accounts(setup, None)
    for run in _refresh_at_once([_host(setup, tmp_path, "host-a")]):
        _right(run, {"ok"})
    fetched = _fetches(setup, mock)
    assert all(1 <= n <= 2 for n in fetched.values()), fetched
    assert nonce_errors == []


def test_redis_killed_mid_run_every_process_finishes_right_with_a_warning(
    setup: Setup, tmp_path: Path, server: RedisServer, nonce_errors: list[str]
) -> None:
    mock = _accounts(setup, server.url)
    env = _host(setup, tmp_path, "host-a")
    args = ("show", "--refresh", "--json")
    procs = [_start(env, *args) for _ in range(PROCESSES)]
    private = PRIVATE_PATH["kraken"] + "BalanceEx"
    wait_until(lambda: setup.mocks.call(lambda: mock.requests[private]) >= 1, 120, "a fetch")
    server.stop()  # while that fetch waits out its 500 ms
    runs = [_finish(p, args) for p in procs]
    for run in runs:
        _right(run, {"ok"})
        assert f"redis at {server.url} cannot be used" in run.stderr, run
    assert nonce_errors == []
