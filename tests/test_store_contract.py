"""The store contract (`engine.ports.Store` + `FlightStore`), run against every store: the
embedded SQLite store and the Redis store (a real `redis-server` on a random port).

What a store-specific file tests besides (tests/test_cache.py: SQLite's files, locks,
damage; tests/test_redis_store.py: Redis down, passwords, keys and TTLs) is not repeated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from nija_balances.domain.budget import Bucket
from nija_balances.domain.history import snapshots_to_keep
from nija_balances.domain.models import Status, StoredResult
from nija_balances.engine.ports import FlightStore, SnapshotStore, Store
from nija_balances.store.redis_store import RedisStore
from nija_balances.store.sqlite import SqliteStore
from redisserver import RedisServer, redis_server
from test_cache import T0, Clock, result
from test_snapshot_store import snap

NS = "ns"
SNAP_T0 = datetime.fromtimestamp(T0, UTC)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as running:
        yield running


@pytest.fixture(params=["sqlite", "redis"])
def make(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[Any]:
    """A function making a store of the parametrised kind (a second call: "another
    process" on the same data), for namespace NS."""
    made: list[Store] = []
    path = tmp_path / "cache" / "balances.sqlite3"

    def sqlite() -> Store:
        store = SqliteStore(path, clock=clock)
        made.append(store)
        return store

    def redis() -> Store:
        server = request.getfixturevalue("server")
        local = SqliteStore(path, clock=clock)
        store = RedisStore(server.url, namespace=NS, fallback=local, clock=clock)
        made.append(store)
        return store

    if request.param == "redis":
        request.getfixturevalue("server").client().flushall()
    yield sqlite if request.param == "sqlite" else redis
    for store in made:
        store.close()
        assert store.warnings == [], store.warnings  # nothing went wrong, nothing fell back


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_is_a_whole_store(make: Any) -> None:
    store = make()
    assert isinstance(store, SnapshotStore) and isinstance(store, FlightStore)
    assert store.available


def test_misses(make: Any) -> None:
    store = make()
    assert store.get(NS, "platform/kraken") is None
    assert store.get_many(NS, ["a/b", "c/d"]) == {}
    assert store.get_snapshots(NS, ["a/b"]) == {}
    assert store.load_markets("kraken", 3600) is None
    info = store.info()
    assert (info.entries, info.oldest, info.newest, info.markets) == (0, None, None, ())


def test_put_then_get_per_namespace_and_seen_by_another_process(make: Any) -> None:
    store = make()
    store.put(NS, "platform/kraken", result())
    assert store.get(NS, "platform/kraken") == result()
    assert store.get(NS, "platform/coinbase") is None
    assert store.get("other", "platform/kraken") is None
    assert make().get(NS, "platform/kraken") == result()


def test_the_newest_result_is_kept(make: Any, clock: Clock) -> None:
    store = make()
    clock.now = T0 + 30
    store.put(NS, "a/b", result("2.00", fetched_at=T0 + 10))
    store.put(NS, "a/b", result("1.00", fetched_at=T0))  # a slower process, older fetch
    assert store.get(NS, "a/b") == result("2.00", fetched_at=T0 + 10)
    store.put(NS, "a/b", result("3.00", fetched_at=T0 + 20))
    assert store.get(NS, "a/b") == result("3.00", fetched_at=T0 + 20)


def test_a_value_dated_in_the_future_or_of_another_account_gives_way(
    make: Any, clock: Clock
) -> None:
    store = make()
    store.put(NS, "a/b", result("9.00", fetched_at=T0 + 86400))  # the clock was ahead
    store.put(NS, "a/b", result("1.00", fetched_at=T0))
    assert store.get(NS, "a/b") == result("1.00", fetched_at=T0)
    mine = replace(result("5.00", fetched_at=T0), account="acct-1")
    store.put(NS, "a/b", mine)
    other = replace(result("4.00", fetched_at=T0 - 60), account="acct-2")  # key changed
    store.put(NS, "a/b", other)
    assert store.get(NS, "a/b") == other


def test_round_trip_is_exact_and_failures_are_remembered(make: Any) -> None:
    store = make()
    odd = replace(result("1E+2", fetched_at=T0 - 0.125), account="h")
    never = StoredResult(
        "kraken", None, None, 0.5, failure="key rejected", failed_at=T0,
        failure_status=Status.AUTH_FAILED, account="h2",
    )  # fmt: skip
    stale = replace(odd, failure="timeout", failed_at=T0, failure_status=Status.TIMEOUT)
    store.put_many(NS, {"a/1": odd, "a/2": never, "a/3": stale})
    got = make().get_many(NS, ["a/1", "a/2", "a/3", "a/4"])
    assert got == {"a/1": odd, "a/2": never, "a/3": stale}
    assert str(got["a/1"].valuation.cash) == "1E+2"  # type: ignore[union-attr]


def test_many_keys_at_once(make: Any) -> None:
    store = make()
    items = {f"u{i}/kraken": result(str(i), fetched_at=T0 - i) for i in range(1200)}
    store.put_many(NS, items)
    assert store.get_many(NS, list(items)) == items


def test_markets_expire_after_max_age(make: Any, clock: Clock) -> None:
    store = make()
    markets = {"BTC/USD": {"id": "XXBTZUSD", "precision": {"amount": 1e-8}, "active": True}}
    store.save_markets("kraken", markets)
    clock.now += 3600
    assert store.load_markets("kraken", 3600) == markets
    clock.now += 1
    assert store.load_markets("kraken", 3600) is None
    assert store.load_markets("binance", 3600) is None
    store.save_markets("kraken", {"ETH/USD": {}})
    assert store.load_markets("kraken", 0) == {"ETH/USD": {}}


def test_info_describes_entries_and_markets(make: Any) -> None:
    store = make()
    store.put_many(NS, {"x/1": result(fetched_at=T0 - 300), "x/2": result(fetched_at=T0 - 5)})
    store.put(NS, "x/3", StoredResult("kraken", None, None, None, "no", T0, Status.ERROR))
    store.save_markets("kraken", {"BTC/USD": {}, "ETH/USD": {}})
    info = store.info()
    assert (info.entries, info.oldest, info.newest) == (2, T0 - 300, T0 - 5)
    assert [(m.exchange, m.saved_at, m.count) for m in info.markets] == [("kraken", T0, 2)]
    assert info.size_bytes > 0


def test_clear_removes_the_entries_keeps_history_and_the_store_stays_usable(make: Any) -> None:
    store = make()
    store.put_many(NS, {"x/1": result(), "x/2": result()})
    store.put_snapshots(NS, [("x/1", "h", snap(SNAP_T0))])
    assert store.clear() >= 2
    assert store.get_many(NS, ["x/1", "x/2"]) == {}
    assert store.get_snapshots(NS, ["x/1"]) == {"x/1": [snap(SNAP_T0)]}  # history, not cache
    assert store.info().entries == 0
    store.put(NS, "x/1", result())
    assert store.get(NS, "x/1") == result()


def test_close_then_use_again(make: Any) -> None:
    store = make()
    store.put(NS, "x/1", result())
    store.close()
    assert store.get(NS, "x/1") == result()


# ---------------------------------------------------------------------------- snapshots


def test_snapshots_round_trip_exactly_per_key_oldest_first(make: Any) -> None:
    store = make()
    later, earlier = snap(SNAP_T0, "2.50"), snap(SNAP_T0 - timedelta(minutes=5), "1E+2")
    store.put_snapshots(NS, [("u/k", "acct", later), ("u/k", "acct", earlier)])
    store.put_snapshots("other", [("u/k", "acct", snap(SNAP_T0, "9"))])
    got = make().get_snapshots(NS, ["u/k", "u/none"])
    assert got == {"u/k": [earlier, later]}
    assert str(got["u/k"][0].equity) == "1E+2"
    assert got["u/k"][1].assets[0].amount == Decimal("0.123456789012345678")
    since = store.get_snapshots(NS, ["u/k"], since=SNAP_T0 - timedelta(minutes=1))
    assert since == {"u/k": [later]}


def test_one_snapshot_per_key_and_time_and_filtered_by_account(make: Any) -> None:
    store = make()
    store.put_snapshots(NS, [("u/k", "old", snap(SNAP_T0 - timedelta(hours=1)))])
    store.put_snapshots(NS, [("u/k", "new", snap(SNAP_T0, "1"))])
    store.put_snapshots(NS, [("u/k", "new", snap(SNAP_T0, "2"))])  # the same time again
    assert store.get_snapshots(NS, ["u/k"], accounts={"u/k": "new"}) == {
        "u/k": [snap(SNAP_T0, "2")]
    }
    assert len(store.get_snapshots(NS, ["u/k"])["u/k"]) == 2


def test_results_and_snapshots_in_one_write(make: Any) -> None:
    store = make()
    store.put_many(NS, {"a/k": result()}, snapshots=[("a/k", "h", snap(SNAP_T0))])
    assert store.get(NS, "a/k") == result()
    assert store.get_snapshots(NS, ["a/k"]) == {"a/k": [snap(SNAP_T0)]}


def test_retention_is_applied_on_write_for_the_keys_written(make: Any, clock: Clock) -> None:
    store = make()
    times = [SNAP_T0 + timedelta(minutes=10 * i) for i in range(6 * 24 * 4)]  # 4 days
    for moment in times:
        clock.now = moment.timestamp()
        store.put_snapshots(NS, [("a/k", "h", snap(moment))])
    store.put_snapshots(NS, [("b/k", "h", snap(SNAP_T0))])  # another key: left alone
    kept = [s.time for s in store.get_snapshots(NS, ["a/k"])["a/k"]]
    assert kept == sorted(snapshots_to_keep(times, times[-1]))
    assert len(kept) < len(times)
    assert store.get_snapshots(NS, ["b/k"])["b/k"] == [snap(SNAP_T0)]


# ---------------------------------------------------------------------------- single-flight


def test_a_lock_is_held_by_one_until_released(make: Any) -> None:
    one, two = make().flights(), make().flights()
    held = one.try_acquire("acct", 30.0)
    assert held is not None
    assert two.try_acquire("acct", 30.0) is None
    assert two.try_acquire("other-acct", 30.0) is not None
    assert one.extend(held, 30.0)
    one.release(held)
    again = two.try_acquire("acct", 30.0)
    assert again is not None
    two.release(again)


def test_the_rate_budget_is_shared(make: Any) -> None:
    bucket = (Bucket("test-exchange", rate=1.0, burst=3.0),)
    one, two = make().flights(), make().flights()
    assert [one.take(bucket), two.take(bucket), one.take(bucket)] == [0.0, 0.0, 0.0]
    wait = two.take(bucket)
    assert 0.0 < wait <= 1.0  # the fourth waits for a token, whoever asks


def test_locks_and_budget_many_at_once(make: Any) -> None:
    one, two = make().flights(), make().flights()
    single = one.try_acquire("b", 30.0)
    held = two.try_acquire_many(["a", "b", "c"], 30.0)
    assert [h is not None for h in held] == [True, False, True]  # "b" is taken
    assert one.try_acquire_many(["a", "c"], 30.0) == [None, None]
    two.release_many([h for h in held if h is not None])
    one.release(single)
    assert all(h is not None for h in one.try_acquire_many(["a", "b", "c"], 30.0))
    shared = Bucket("test-many", rate=1.0, burst=2.0)
    own = Bucket("test-many:key", rate=1.0, burst=10.0)
    waits = two.take_many([(shared, own), (shared,), (shared, own)])
    assert waits[:2] == [0.0, 0.0] and waits[2] > 0.0  # in turn: the third finds it empty
    assert one.take((own,)) == 0.0  # the third took nothing from `own` either
