"""Snapshots in the SQLite store: exact round trip, `since`, retention on write, the upgrade
from schema 1 that keeps the balances, and no exception for a file problem."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from nija_balances.domain.history import AssetPosition, Snapshot, snapshots_to_keep
from nija_balances.domain.models import AssetValue, StoredResult, Valuation
from nija_balances.engine.ports import SnapshotStore, Store
from nija_balances.store.sqlite import SqliteStore

T0 = datetime(2026, 1, 20, 16, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now.timestamp()


def snap(moment: datetime, equity: str = "100.10") -> Snapshot:
    btc = AssetPosition("BTC", Decimal("0.123456789012345678"), Decimal("43210.5"))
    odd = AssetPosition("ODD", Decimal("7"), None)
    return Snapshot(moment, Decimal("50.00"), Decimal(equity), (btc, odd))


def make(tmp_path: Path, clock: Clock) -> SqliteStore:
    return SqliteStore(tmp_path / "cache" / "balances.sqlite3", clock=clock)


def test_the_store_is_a_snapshot_store(tmp_path: Path) -> None:
    store: Store = make(tmp_path, Clock())
    assert isinstance(store, SnapshotStore)


def test_snapshots_round_trip_exactly_per_key_oldest_first(tmp_path: Path) -> None:
    store = make(tmp_path, Clock())
    later, earlier = snap(T0, "2.50"), snap(T0 - timedelta(minutes=5), "1E+2")
    store.put_snapshots("ns", [("u/k", "acct", later), ("u/k", "acct", earlier)])
    store.put_snapshots("other", [("u/k", "acct", snap(T0, "9"))])
    got = store.get_snapshots("ns", ["u/k", "u/none"])
    assert list(got) == ["u/k"]
    assert got["u/k"] == [earlier, later]
    assert str(got["u/k"][0].equity) == "1E+2"  # the exponent too
    assert got["u/k"][1].assets[0].amount == Decimal("0.123456789012345678")
    assert got["u/k"][1].position("ODD") == AssetPosition("ODD", Decimal(7), None)
    since = store.get_snapshots("ns", ["u/k"], since=T0 - timedelta(minutes=1))
    assert since == {"u/k": [later]}


def test_balances_and_snapshots_go_in_one_write(tmp_path: Path) -> None:
    store = make(tmp_path, Clock())
    usd = AssetValue("USD", Decimal(5), Decimal(0), Decimal(5), Decimal(1), Decimal(5))
    result = StoredResult("kraken", Valuation(Decimal(5), Decimal(5), (usd,)), T0.timestamp())
    store.put_many("ns", {"a/k": result}, snapshots=[("a/k", "h", snap(T0))])
    assert store.get("ns", "a/k") == result
    assert store.get_snapshots("ns", ["a/k"]) == {"a/k": [snap(T0)]}


def test_retention_is_applied_on_write_for_the_keys_written(tmp_path: Path) -> None:
    clock = Clock(T0)
    store = make(tmp_path, clock)
    # every 10 minutes for 4 days, written as they come (a write per fetch)
    times = [T0 + timedelta(minutes=10 * i) for i in range(6 * 24 * 4)]
    for moment in times:
        clock.now = moment
        store.put_snapshots("ns", [("a/k", "h", snap(moment))])
    store.put_snapshots("ns", [("b/k", "h", snap(T0))])  # another key: left alone
    kept = [s.time for s in store.get_snapshots("ns", ["a/k"])["a/k"]]
    expected = sorted(snapshots_to_keep(times, clock.now))
    assert kept == expected
    assert len(kept) < len(times)  # the first two days thinned to one an hour
    assert store.get_snapshots("ns", ["b/k"])["b/k"] == [snap(T0)]


def schema_1_store(tmp_path: Path) -> StoredResult:
    """A store file as schema 1 left it, holding one balance (returned) and no snapshots."""
    store = make(tmp_path, Clock())
    usd = AssetValue("USD", Decimal(5), Decimal(0), Decimal(5), Decimal(1), Decimal(5))
    result = StoredResult("kraken", Valuation(Decimal(5), Decimal(5), (usd,)), T0.timestamp())
    store.put("ns", "a/k", result)
    store.close()
    with sqlite3.connect(store.path) as db:
        for table in (
            "snapshots",
            "fills",
            "flows",
            "sync_state",
            "alerts",
            "alert_sinks",
            "marks",
        ):  # later schemas' tables
            db.execute(f"DROP TABLE {table}")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.close()
    return result


def test_an_old_schema_1_store_is_upgraded_keeping_its_balances(tmp_path: Path) -> None:
    result = schema_1_store(tmp_path)
    again = make(tmp_path, Clock())
    assert again.get("ns", "a/k") == result
    again.put_snapshots("ns", [("a/k", "h", snap(T0))])
    assert again.get_snapshots("ns", ["a/k"]) == {"a/k": [snap(T0)]}
    assert again.warnings == []


def test_a_schema_1_store_read_without_upgrading_still_serves_its_balances(
    tmp_path: Path,
) -> None:
    """On a full disk the store reads its file read-only and cannot upgrade it: a schema-1
    file's balances are still served, and it simply has no snapshots."""
    result = schema_1_store(tmp_path)
    reader = make(tmp_path, Clock())
    reader._open_read_only(OSError(28, "No space left on device"))  # what a full disk does
    assert reader.get("ns", "a/k") == result
    assert reader.get_snapshots("ns", ["a/k"]) == {}


def test_a_store_that_cannot_open_its_file_never_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory")
    store = SqliteStore(blocker / "balances.sqlite3")
    store.put_snapshots("ns", [("a/k", "h", snap(T0))])
    assert store.get_snapshots("ns", ["a/k"]) == {}
    assert store.warnings
