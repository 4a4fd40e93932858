"""Every good fetch of a cacheable connection records one snapshot, in the same write as its
balance; a cached read and a failed fetch record nothing. Through ccxt to the Kraken mock."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from nija_balances.config.loader import load_toml
from nija_balances.domain.history import Snapshot
from nija_balances.store.sqlite import SqliteStore
from reliability.harness import MockThread, Setup, nija, nija_process

pytestmark = pytest.mark.network_mock


def stored(setup: Setup, key: str) -> list[Snapshot]:
    with SqliteStore() as store:
        return store.get_snapshots(load_toml(setup.path).namespace, [key]).get(key, [])


def test_good_fetches_record_snapshots_cached_reads_and_failures_do_not(
    setup: Setup, mocks: MockThread
) -> None:
    conn = setup.add("alice", mocks.start("kraken"), {"USD": ("100.25", "0")})
    config = str(setup.write())

    for _ in range(2):
        run = nija("show", "--json", "--refresh", "--config", config)
        assert run.code == 0, run
    first = stored(setup, conn.key)
    assert len(first) == 2
    assert all(s.equity == Decimal("100.25") and s.cash == Decimal("100.25") for s in first)
    usd = first[-1].position("USD")
    assert usd is not None and usd.amount == Decimal("100.25") and usd.price == Decimal(1)
    shown = nija("show", "--json", "--config", config).json()
    fetched_at = [c["fetched_at"] for c in shown["connections"] if c["account"] == "alice"]
    assert fetched_at == [first[-1].time.isoformat(timespec="seconds")]

    cached = nija("show", "--json", "--config", config)  # within the TTL: served from the store
    assert [c["status"] for c in cached.json()["connections"]] == ["cached"]
    assert len(stored(setup, conn.key)) == 2

    conn.inject("auth")
    failed = nija("status", "--json", "--refresh", "--config", config)
    assert "auth_failed" in failed.stdout or "stale" in failed.stdout, failed
    assert stored(setup, conn.key) == first


def test_the_paper_adapter_records_no_snapshot() -> None:
    run = nija("show", "--demo", "--refresh", "--json")
    assert run.code in (0, 1), run
    with SqliteStore() as store:
        if store.path.exists():
            conn = store._connection(create=False)
            assert conn is not None
            assert conn.execute("SELECT count(*) FROM snapshots").fetchone()[0] == 0


def test_history_shows_what_the_fetches_recorded_and_falls_back_to_ascii(
    setup: Setup, mocks: MockThread
) -> None:
    mock = mocks.start("kraken")
    setup.add("alice", mock, {"USD": ("100.25", "0")})
    setup.add("bob", mock, {"USD": ("7", "0")})
    config = str(setup.write())
    assert nija("show", "--refresh", "--json", "--config", config).code == 0
    doc = nija("history", "--json", "--since", "24h", "--config", config).json()
    assert [(p["equity"], p["complete"]) for p in doc["users"]["alice"]] == [(100.25, True)]
    assert [(p["equity"], p["complete"]) for p in doc["users"]["bob"]] == [(7.0, True)]

    env = {**os.environ, "PYTHONIOENCODING": "ascii", "PYTHONUTF8": "0", "LC_ALL": "C"}
    run = nija_process("history", "--config", config, env=env)
    assert run.code == 0, run
    assert run.stdout.isascii() and "alice" in run.stdout and "$100.25" in run.stdout
