"""The store contract (`engine.ports.Store` + `FlightStore`, `AlertStore`, `EquityStore`),
run against every store: the embedded SQLite store and the Redis store (a real
`redis-server` on a random port): the same answers from both.

What a store-specific file tests besides (tests/test_cache.py: SQLite's files, locks,
damage; tests/test_redis_store.py: Redis down, passwords, keys and TTLs;
tests/test_redis_shared.py: claims raced by hosts, history and alerts with Redis down) is
not repeated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from nija_balances.domain.alerts import Alert, AlertKind
from nija_balances.domain.budget import Bucket
from nija_balances.domain.history import AssetPosition, Snapshot, SyncState, snapshots_to_keep
from nija_balances.domain.models import Status, StoredResult
from nija_balances.engine.ports import (
    AlertStore,
    EquityStore,
    FlightStore,
    HistoryStore,
    SnapshotStore,
    Store,
)
from nija_balances.store.redis_store import RedisStore
from nija_balances.store.sqlite import SqliteStore
from redisserver import RedisServer, redis_server
from test_cache import T0, Clock, result
from test_history_store import fill, flow
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


# ---------------------------------------------------------------------------- history

LOW = Alert(AlertKind.BALANCE_LOW, "alice", None, "firing", SNAP_T0, SNAP_T0, 1, Decimal(5),
            Decimal(100), "alice: low")  # fmt: skip


def test_is_a_history_alert_and_equity_store(make: Any) -> None:
    store = make()
    assert isinstance(store, HistoryStore)
    assert isinstance(store, AlertStore) and isinstance(store, EquityStore)


# ---------------------------------------------------------------------------- fills, flows


def test_fills_and_flows_round_trip_exactly_oldest_first(make: Any) -> None:
    store = make()
    fills = [fill(3, fee_currency="BNB"), fill(1), fill(2, order="shared")]
    flows = [flow(2, "withdrawal"), flow(1)]
    assert store.put_history_page(NS, "a/k", "h", "trades", fills=fills, cursor="c1") == (3, 0)
    assert store.put_history_page(NS, "a/k", "h", "flows", flows=flows, cursor="x") == (0, 2)
    got = make().get_fills(NS, ["a/k", "a/none"])  # another process reads them
    assert got == {"a/k": [fill(1), fill(2, order="shared"), fill(3, fee_currency="BNB")]}
    assert got["a/k"][0].amount == Decimal("0.000123456789012345")
    assert store.get_flows(NS, ["a/k"]) == {"a/k": [flow(1), flow(2, "withdrawal")]}
    since = fill(2).time
    assert [f.id for f in store.get_fills(NS, ["a/k"], since=since)["a/k"]] == ["f2", "f3"]
    assert store.get_flows(NS, ["a/k"], since=flow(2).time) == {"a/k": [flow(2, "withdrawal")]}
    assert store.get_fills("other", ["a/k"]) == {} and store.get_flows(NS, ["b/k"]) == {}


def test_an_item_is_kept_once_per_exchange_id_and_account(make: Any) -> None:
    store = make()
    assert store.put_history_page(NS, "a/k", "h", "trades", fills=[fill(1), fill(2)], cursor="1")
    again = make().put_history_page(  # another process, the same page and more
        NS, "a/k", "h", "trades", fills=[fill(2), fill(3), fill(3)], cursor="2"
    )
    assert again == (1, 0)  # f2 was there; f3 twice in one page is one fill
    moved = replace(fill(1), price=Decimal(1), time=fill(9).time)  # same id, other fields
    assert store.put_history_page(NS, "a/k", "h", "trades", fills=[moved], cursor="3") == (0, 0)
    assert store.get_fills(NS, ["a/k"]) == {"a/k": [fill(1), fill(2), fill(3)]}  # first kept
    assert store.put_history_page(NS, "a/k", "other", "trades", fills=[fill(1)], cursor="1")
    assert len(store.get_fills(NS, ["a/k"])["a/k"]) == 4  # another account's f1
    assert store.get_fills(NS, ["a/k"], accounts={"a/k": "other"}) == {"a/k": [fill(1)]}
    assert len(store.get_fills(NS, ["a/k"], accounts={"a/k": "h"})["a/k"]) == 3
    assert store.get_fills(NS, ["a/k"], accounts={"a/k": "nobody"}) == {}
    assert store.get_fills(NS, ["a/k"], accounts={}) == {}  # a key without an account: none


def test_a_page_moves_the_cursor_with_its_items(make: Any) -> None:
    store = make()
    store.put_history_page(NS, "a/k", "h", "trades", fills=[fill(1)], cursor="after-1")
    reader = make()
    assert reader.get_sync_states(NS, ["a/k"]) == {"a/k": {"trades": SyncState("after-1")}}
    assert reader.get_fills(NS, ["a/k"]) == {"a/k": [fill(1)]}
    store.put_history_page(NS, "a/k", "h", "trades", fills=[], cursor=None)  # an empty page
    assert reader.get_sync_states(NS, ["a/k"])["a/k"]["trades"] == SyncState()


def test_sync_state_round_trips_per_kind_and_account(make: Any, clock: Clock) -> None:
    store = make()
    done = SyncState(cursor='{"ofs": 50}', finished_at=SNAP_T0, complete=True)
    unsupported = SyncState(unsupported=True, problem="cannot list deposits")
    assert store.set_sync_state(NS, "a/k", "h", "trades", done)
    assert store.set_sync_state(NS, "a/k", "h", "flows", unsupported)
    assert store.set_sync_state(NS, "b/k", "h2", "trades", SyncState(cursor="9"))
    assert make().get_sync_states(NS, ["a/k", "b/k", "c/k"]) == {
        "a/k": {"trades": done, "flows": unsupported},
        "b/k": {"trades": SyncState(cursor="9")},
    }
    assert store.get_sync_states(NS, ["a/k", "b/k"], accounts={"a/k": "h", "b/k": "x"}) == {
        "a/k": {"trades": done, "flows": unsupported}
    }
    clock.now += 1
    store.put_history_page(NS, "a/k", "h", "trades", fills=[fill(1)], cursor='{"ofs": 51}')
    moved = store.get_sync_states(NS, ["a/k"])["a/k"]["trades"]
    assert moved == replace(done, cursor='{"ofs": 51}')  # a page moves the cursor only
    clock.now += 1
    store.set_sync_state(NS, "a/k", "h", "trades", SyncState(problem="timeout"))
    assert store.get_sync_states(NS, ["a/k"])["a/k"]["trades"] == SyncState(problem="timeout")
    clock.now += 1
    store.set_sync_state(NS, "a/k", "new", "trades", SyncState(cursor="n"))  # key changed
    assert store.get_sync_states(NS, ["a/k"])["a/k"]["trades"] == SyncState(cursor="n")


def test_currencies_seen_come_from_snapshots_flows_and_fills(make: Any) -> None:
    store = make()
    sol = Snapshot(SNAP_T0, Decimal(1), Decimal(2), (AssetPosition("SOL", Decimal(1), None),))
    store.put_snapshots(NS, [("a/k", "h", sol)])
    store.put_history_page(NS, "a/k", "h", "flows", flows=[flow(1)], cursor=None)
    store.put_history_page(NS, "a/k", "h", "trades", fills=[fill(1)], cursor=None)
    store.put_history_page(NS, "b/k", "other", "trades", fills=[fill(1)], cursor=None)
    seen = store.currencies_seen(NS, ["a/k", "b/k"], accounts={"a/k": "h", "b/k": "h"})
    assert seen == {"a/k": frozenset({"SOL", "ETH", "BTC", "USD"})}
    assert store.currencies_seen(NS, ["b/k"]) == {"b/k": frozenset({"BTC", "USD"})}


def test_first_and_last_snapshots_per_key_and_account(make: Any) -> None:
    store = make()
    snaps = [Snapshot(SNAP_T0 + timedelta(hours=h), Decimal(h), Decimal(h)) for h in range(5)]
    store.put_snapshots(NS, [("a/k", "h", s) for s in snaps])
    old = Snapshot(SNAP_T0 - timedelta(days=1), Decimal(9), Decimal(9))
    store.put_snapshots(NS, [("a/k", "old", old)])
    store.put_snapshots(NS, [("b/k", "h", snaps[2])])
    owners = {"a/k": "h", "b/k": "h"}
    assert store.first_snapshots(NS, ["a/k", "b/k", "c/k"], owners) == {
        "a/k": snaps[0], "b/k": snaps[2]
    }  # fmt: skip
    assert store.first_snapshots(NS, ["a/k"]) == {"a/k": old}  # without the filter
    assert store.last_snapshots(NS, ["a/k", "b/k"], accounts=owners) == {
        "a/k": snaps[4], "b/k": snaps[2]
    }  # fmt: skip
    before = SNAP_T0 + timedelta(hours=2)  # strictly before
    assert store.last_snapshots(NS, ["a/k", "b/k"], before, owners) == {"a/k": snaps[1]}
    assert store.last_snapshots(NS, ["a/k"], SNAP_T0) == {"a/k": old}
    assert store.last_snapshots(NS, ["a/k"], SNAP_T0, {"a/k": "h"}) == {}
    assert store.first_snapshots(NS, ["a/k"], {"b/k": "h"}) == {}


def test_edges_of_a_long_history_of_two_accounts(make: Any, clock: Clock) -> None:
    """The account asked for is found past many snapshots of another (more than a batch)."""
    store = make()
    mine = [Snapshot(SNAP_T0 + timedelta(minutes=m), Decimal(m), Decimal(m)) for m in (0, 300)]
    others = [
        Snapshot(SNAP_T0 + timedelta(minutes=m), Decimal(7), Decimal(7)) for m in range(1, 300)
    ]
    clock.now = (SNAP_T0 + timedelta(minutes=300)).timestamp()  # all within full retention
    store.put_snapshots(NS, [("a/k", "h", mine[0]), *(("a/k", "x", s) for s in others)])
    store.put_snapshots(NS, [("a/k", "h", mine[1])])
    assert store.first_snapshots(NS, ["a/k"], {"a/k": "h"}) == {"a/k": mine[0]}
    assert store.last_snapshots(NS, ["a/k"], mine[1].time, {"a/k": "h"}) == {"a/k": mine[0]}


def test_drop_history_removes_only_the_keys_given(make: Any) -> None:
    store = make()
    sol = Snapshot(SNAP_T0, Decimal(1), Decimal(2), (AssetPosition("SOL", Decimal(1), None),))
    for key in ("a/k", "b/k"):
        store.put_snapshots(NS, [(key, "h", sol)])
        store.put_history_page(NS, key, "h", "trades", fills=[fill(1)], flows=[flow(1)],
                               cursor="1")  # fmt: skip
    store.drop_history(NS, ["a/k"])
    reader = make()
    assert list(reader.get_snapshots(NS, ["a/k", "b/k"])) == ["b/k"]
    assert list(reader.get_fills(NS, ["a/k", "b/k"])) == ["b/k"]
    assert list(reader.get_flows(NS, ["a/k", "b/k"])) == ["b/k"]
    assert list(reader.get_sync_states(NS, ["a/k", "b/k"])) == ["b/k"]
    assert list(reader.currencies_seen(NS, ["a/k", "b/k"])) == ["b/k"]
    assert reader.first_snapshots(NS, ["a/k"]) == {}


# ---------------------------------------------------------------------------- alerts


def test_an_alert_is_written_only_over_the_version_it_was_computed_from(make: Any) -> None:
    one, two = make(), make()  # two processes (hosts, for Redis) monitoring one config
    assert one.put_alert(NS, None, LOW) is True
    assert two.put_alert(NS, None, LOW) is False  # the same change, computed from nothing
    (stored,) = two.get_alerts(NS)
    assert stored == replace(LOW, version=1)
    repeat = replace(stored, sent_count=2, last_sent=SNAP_T0 + timedelta(hours=1))
    assert two.put_alert(NS, stored, repeat) is True
    assert one.put_alert(NS, stored, replace(repeat, message="x")) is False  # version 1 gone
    assert one.get_alerts(NS) == [replace(repeat, version=2)]
    assert one.get_alerts("other") == []


def test_alerts_round_trip_and_old_resolved_ones_are_dropped(make: Any, clock: Clock) -> None:
    store = make()
    failing = Alert(AlertKind.CONNECTION_FAILING, "bob", "users/bob/kraken", "pending",
                    SNAP_T0 - timedelta(days=40))  # fmt: skip
    assert store.put_alert(NS, None, failing)
    (stored,) = store.get_alerts(NS)
    assert stored == replace(failing, version=1) and stored.balance is None
    resolved = replace(stored, state="resolved", message="ok")  # since: 40 days ago
    assert store.put_alert(NS, stored, resolved)
    assert store.put_alert(NS, None, LOW)  # the next write drops the old resolved one
    assert store.get_alerts(NS) == [replace(LOW, version=1)]


def test_sink_reports(make: Any, clock: Clock) -> None:
    store = make()
    store.put_sink_report(NS, "apprise:X", "boom")
    clock.now += 1.5
    store.put_sink_report(NS, "apprise:X", "boom again")
    store.put_sink_report(NS, "log", None)
    reports = {r.sink: r for r in make().get_sink_reports(NS)}
    x = reports["apprise:X"]
    assert (x.failures, x.error, x.last_ok) == (2, "boom again", None)
    assert x.last_failed is not None and x.last_failed.timestamp() == T0 + 1.5
    assert reports["log"].last_ok is not None and reports["log"].failures == 0
    store.put_sink_report(NS, "apprise:X", None)
    again = {r.sink: r for r in store.get_sink_reports(NS)}["apprise:X"]
    assert (again.failures, again.error) == (0, "boom again")  # the last error stays shown
    assert store.get_sink_reports("other") == []


def test_a_mark_is_claimed_once_per_period(make: Any, clock: Clock) -> None:
    one, two = make(), make()
    assert one.claim_mark(NS, "report", 3600) is True
    assert two.claim_mark(NS, "report", 3600) is False
    assert one.claim_mark(NS, "other", 3600) is True
    clock.now += 3599
    assert two.claim_mark(NS, "report", 3600) is False
    clock.now += 1
    assert two.claim_mark(NS, "report", 3600) is True
    assert one.claim_mark(NS, "report", 3600) is False


def test_equity_is_read_thinned_to_the_last_of_each_step(make: Any) -> None:
    store = make()
    points = [(SNAP_T0 + timedelta(seconds=5 * i), Decimal(100 + i)) for i in range(24)]
    items = [("a/k", "h", Snapshot(t, e, e)) for t, e in points]
    items.append(("a/k", "other", Snapshot(SNAP_T0 + timedelta(seconds=1), Decimal(9), Decimal(9))))
    store.put_snapshots(NS, items)
    assert store.get_equity(NS, ["a/k"], SNAP_T0, {"a/k": "h"}) == {"a/k": points}
    thinned = store.get_equity(NS, ["a/k"], SNAP_T0, {"a/k": "h"}, step=60.0)
    assert thinned == {"a/k": [points[11], points[23]]}  # the last of each minute
    every = store.get_equity(NS, ["a/k", "b/k"], SNAP_T0 + timedelta(seconds=100))
    assert every == {"a/k": points[20:]}
    assert store.get_equity(NS, ["a/k"], SNAP_T0 + timedelta(minutes=5)) == {}
    assert store.get_equity(NS, ["a/k"], SNAP_T0, {"a/k": "nobody"}) == {}
