"""Every good fetch of a cacheable connection records one snapshot, in the same write as its
balance; a cached read and a failed fetch record nothing. Through ccxt to the Kraken mock."""

from __future__ import annotations

from decimal import Decimal

import pytest

from nija_balances.config.loader import load_toml
from nija_balances.domain.history import Snapshot
from nija_balances.store.sqlite import SqliteStore
from reliability.harness import MockThread, Setup, nija

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
