"""Trades, flows and sync state in the SQLite store (schema 3): exact round trip,
de-duplication by exchange id, a page and its cursor in one transaction, the account
filter, the upgrade from schema 2 that keeps balances and snapshots, and no exception for a
file problem. A property: splitting the same history into pages of any sizes stores the
same set."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from nija_balances.domain.history import AssetPosition, Fill, Flow, Snapshot, SyncState
from nija_balances.domain.models import AssetValue, StoredResult, Valuation
from nija_balances.engine.ports import HistoryStore, Store
from nija_balances.store.sqlite import SqliteStore
from nija_balances.store.sqlite_schema import SCHEMA_VERSION

T0 = datetime(2026, 1, 20, 16, 0, tzinfo=UTC)


def fill(n: int, *, order: str = "", fee_currency: str | None = None) -> Fill:
    price = Decimal("43210.123456789")
    amount = Decimal("0.000123456789012345")
    return Fill(
        id=f"f{n}",
        order=order or f"o{n}",
        time=T0 + timedelta(minutes=n),
        symbol="BTC/USD",
        side="buy" if n % 2 else "sell",
        amount=amount,
        price=price,
        cost=amount * price,
        fee=Decimal("0.0123"),
        fee_currency=fee_currency,
    )


def flow(n: int, kind: str = "deposit") -> Flow:
    return Flow(
        id=f"d{n}",
        kind=kind,  # type: ignore[arg-type]
        time=T0 + timedelta(hours=n),
        currency="ETH",
        amount=Decimal("1.5"),
        fee=Decimal("0.001"),
        value=Decimal("4500.10") if n % 2 else None,
        estimated=bool(n % 2),
    )


def make(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "cache" / "balances.sqlite3", clock=lambda: T0.timestamp())


def test_the_store_is_a_history_store(tmp_path: Path) -> None:
    store: Store = make(tmp_path)
    assert isinstance(store, HistoryStore)


def test_fills_and_flows_round_trip_exactly_oldest_first(tmp_path: Path) -> None:
    store = make(tmp_path)
    fills = [fill(3, fee_currency="BNB"), fill(1), fill(2, order="shared")]
    flows = [flow(2, "withdrawal"), flow(1)]
    assert store.put_history_page("ns", "a/k", "h", "trades", fills=fills, cursor="c1") == (3, 0)
    assert store.put_history_page("ns", "a/k", "h", "flows", flows=flows, cursor="x") == (0, 2)
    got = store.get_fills("ns", ["a/k", "a/none"])
    assert list(got) == ["a/k"]
    assert got["a/k"] == [fill(1), fill(2, order="shared"), fill(3, fee_currency="BNB")]
    assert got["a/k"][0].amount == Decimal("0.000123456789012345")  # exact, no float on the way
    assert store.get_flows("ns", ["a/k"]) == {"a/k": [flow(1), flow(2, "withdrawal")]}
    later = store.get_fills("ns", ["a/k"], since=T0 + timedelta(minutes=2))
    assert [f.id for f in later["a/k"]] == ["f2", "f3"]
    assert store.get_fills("other", ["a/k"]) == {}


def test_an_item_stored_twice_counts_once(tmp_path: Path) -> None:
    store = make(tmp_path)
    assert store.put_history_page("ns", "a/k", "h", "trades", fills=[fill(1), fill(2)], cursor="1")
    again = store.put_history_page(
        "ns", "a/k", "h", "trades", fills=[fill(2), fill(3), fill(3)], cursor="2"
    )
    assert again == (1, 0)  # f2 was there; f3 twice in one page is one fill
    assert [f.id for f in store.get_fills("ns", ["a/k"])["a/k"]] == ["f1", "f2", "f3"]
    # the same exchange id in another exchange account is another fill
    assert store.put_history_page("ns", "a/k", "other", "trades", fills=[fill(1)], cursor="1")
    assert len(store.get_fills("ns", ["a/k"])["a/k"]) == 4
    assert len(store.get_fills("ns", ["a/k"], accounts={"a/k": "h"})["a/k"]) == 3


def test_a_page_and_its_cursor_are_one_transaction(tmp_path: Path) -> None:
    """When the cursor cannot be written, the page's items are not stored either (and the
    store does not raise): a crash between the two never leaves items without their cursor."""
    store = make(tmp_path)
    store.put_history_page("ns", "a/k", "h", "trades", fills=[fill(1)], cursor="1")
    store.close()
    with sqlite3.connect(store.path) as db:
        db.execute(
            "CREATE TRIGGER no_cursor BEFORE UPDATE ON sync_state"
            " BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"
        )
    db.close()
    again = make(tmp_path)
    assert again.put_history_page("ns", "a/k", "h", "trades", fills=[fill(2)], cursor="2") is None
    assert [f.id for f in again.get_fills("ns", ["a/k"])["a/k"]] == ["f1"]
    assert again.get_sync_states("ns", ["a/k"])["a/k"]["trades"].cursor == "1"
    assert again.warnings  # said, not raised


def test_sync_state_round_trips_per_kind_and_account(tmp_path: Path) -> None:
    store = make(tmp_path)
    done = SyncState(cursor='{"ofs": 50}', finished_at=T0, complete=True)
    unsupported = SyncState(unsupported=True, problem="cannot list deposits")
    assert store.set_sync_state("ns", "a/k", "h", "trades", done)
    assert store.set_sync_state("ns", "a/k", "h", "flows", unsupported)
    store.set_sync_state("ns", "b/k", "h2", "trades", SyncState(cursor="9"))
    states = store.get_sync_states("ns", ["a/k", "b/k", "c/k"])
    assert states == {
        "a/k": {"trades": done, "flows": unsupported},
        "b/k": {"trades": SyncState(cursor="9")},
    }
    assert done.whole and not unsupported.whole
    assert store.get_sync_states("ns", ["a/k", "b/k"], accounts={"a/k": "h", "b/k": "x"}) == {
        "a/k": {"trades": done, "flows": unsupported}
    }
    # a page moves the cursor only: what the last finished sync said stays
    store.put_history_page("ns", "a/k", "h", "trades", fills=[fill(1)], cursor='{"ofs": 51}')
    moved = store.get_sync_states("ns", ["a/k"])["a/k"]["trades"]
    assert moved == SyncState(cursor='{"ofs": 51}', finished_at=T0, complete=True)


def test_currencies_seen_come_from_snapshots_flows_and_fills(tmp_path: Path) -> None:
    store = make(tmp_path)
    snap = Snapshot(T0, Decimal(1), Decimal(2), (AssetPosition("SOL", Decimal(1), None),))
    store.put_snapshots("ns", [("a/k", "h", snap)])
    store.put_history_page("ns", "a/k", "h", "flows", flows=[flow(1)], cursor=None)
    store.put_history_page("ns", "a/k", "h", "trades", fills=[fill(1)], cursor=None)
    store.put_history_page("ns", "b/k", "other", "trades", fills=[fill(1)], cursor=None)
    seen = store.currencies_seen("ns", ["a/k", "b/k"], accounts={"a/k": "h", "b/k": "h"})
    assert seen == {"a/k": frozenset({"SOL", "ETH", "BTC", "USD"})}


def test_drop_history_removes_only_the_keys_given(tmp_path: Path) -> None:
    store = make(tmp_path)
    snap = Snapshot(T0, Decimal(1), Decimal(2))
    for key in ("a/k", "b/k"):
        store.put_snapshots("ns", [(key, "h", snap)])
        store.put_history_page("ns", key, "h", "trades", fills=[fill(1)], cursor="1")
    store.drop_history("ns", ["a/k"])
    assert list(store.get_snapshots("ns", ["a/k", "b/k"])) == ["b/k"]
    assert list(store.get_fills("ns", ["a/k", "b/k"])) == ["b/k"]
    assert list(store.get_sync_states("ns", ["a/k", "b/k"])) == ["b/k"]


def schema_2_store(tmp_path: Path) -> tuple[StoredResult, Snapshot]:
    """A store file as schema 2 left it: a balance and a snapshot, no history tables."""
    store = make(tmp_path)
    usd = AssetValue("USD", Decimal(5), Decimal(0), Decimal(5), Decimal(1), Decimal(5))
    result = StoredResult("kraken", Valuation(Decimal(5), Decimal(5), (usd,)), T0.timestamp())
    snap = Snapshot(T0, Decimal(5), Decimal(5), (AssetPosition("USD", Decimal(5), Decimal(1)),))
    store.put_many("ns", {"a/k": result}, snapshots=[("a/k", "h", snap)])
    store.close()
    with sqlite3.connect(store.path) as db:
        for table in ("fills", "flows", "sync_state", "alerts", "alert_sinks", "marks"):
            db.execute(f"DROP TABLE {table}")  # what schemas 3 and 4 added
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.close()
    return result, snap


def test_a_schema_2_store_is_upgraded_keeping_balances_and_snapshots(tmp_path: Path) -> None:
    result, snap = schema_2_store(tmp_path)
    again = make(tmp_path)
    assert again.get("ns", "a/k") == result
    assert again.get_snapshots("ns", ["a/k"]) == {"a/k": [snap]}
    assert again.put_history_page("ns", "a/k", "h", "trades", fills=[fill(1)], cursor="1")
    assert again.get_fills("ns", ["a/k"]) == {"a/k": [fill(1)]}
    assert again.warnings == []
    with sqlite3.connect(again.path) as db:
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    db.close()
    assert version == (str(SCHEMA_VERSION),)


def test_a_schema_2_store_read_without_upgrading_has_no_history(tmp_path: Path) -> None:
    """A full disk: the file is read read-only and cannot be upgraded; balances and snapshots
    are served and history reads are empty, without raising. Once there is room again (as
    here), the next write upgrades the file and stores."""
    result, snap = schema_2_store(tmp_path)
    reader = make(tmp_path)
    reader._open_read_only(OSError(28, "No space left on device"))
    assert reader.get("ns", "a/k") == result
    assert reader.get_snapshots("ns", ["a/k"]) == {"a/k": [snap]}
    assert reader.get_fills("ns", ["a/k"]) == {} and reader.get_sync_states("ns", ["a/k"]) == {}
    assert reader.put_history_page("ns", "a/k", "h", "trades", fills=[fill(1)], cursor="1")
    assert reader.get_fills("ns", ["a/k"]) == {"a/k": [fill(1)]}
    assert reader.get_snapshots("ns", ["a/k"]) == {"a/k": [snap]}


def test_a_store_that_cannot_open_its_file_never_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory")
    store = SqliteStore(blocker / "balances.sqlite3")
    assert store.put_history_page("ns", "a/k", "h", "trades", fills=[fill(1)], cursor="1") is None
    assert store.set_sync_state("ns", "a/k", "h", "trades", SyncState()) is False
    assert store.get_fills("ns", ["a/k"]) == {} and store.get_flows("ns", ["a/k"]) == {}
    assert store.currencies_seen("ns", ["a/k"]) == {}
    assert store.warnings


@settings(max_examples=40, deadline=None)
@given(
    ids=st.lists(st.integers(0, 30), max_size=40),
    cuts=st.lists(st.integers(1, 7), min_size=1, max_size=10),
)
def test_any_split_into_pages_stores_the_same_set(
    tmp_path_factory: object, ids: list[int], cuts: list[int]
) -> None:
    """The same items (repeats included) in one page or in pages of any sizes: the same
    fills, and the new counts add up to the number of distinct items."""
    import tempfile

    items = [fill(i) for i in ids]
    with tempfile.TemporaryDirectory() as one_dir, tempfile.TemporaryDirectory() as many_dir:
        whole = make(Path(one_dir))
        whole.put_history_page("ns", "a/k", "h", "trades", fills=items, cursor="end")
        paged = make(Path(many_dir))
        new, i, n = 0, 0, 0
        while i < len(items):
            size = cuts[n % len(cuts)]
            stored = paged.put_history_page(
                "ns", "a/k", "h", "trades", fills=items[i : i + size], cursor=str(i + size)
            )
            assert stored is not None
            new += stored[0]
            i, n = i + size, n + 1
        assert paged.get_fills("ns", ["a/k"]) == whole.get_fills("ns", ["a/k"])
        assert new == len(set(ids))
        whole.close()
        paged.close()


def test_first_and_last_snapshots_per_key_and_account(tmp_path: Path) -> None:
    store = make(tmp_path)
    snaps = [Snapshot(T0 + timedelta(hours=h), Decimal(h), Decimal(h)) for h in range(5)]
    store.put_snapshots("ns", [("a/k", "h", s) for s in snaps])
    store.put_snapshots(
        "ns", [("a/k", "old", Snapshot(T0 - timedelta(days=1), Decimal(9), Decimal(9)))]
    )
    store.put_snapshots("ns", [("b/k", "h", snaps[2])])
    owners = {"a/k": "h", "b/k": "h"}
    assert store.first_snapshots("ns", ["a/k", "b/k", "c/k"], owners) == {
        "a/k": snaps[0],
        "b/k": snaps[2],
    }
    assert store.first_snapshots("ns", ["a/k"])["a/k"].equity == 9  # without the filter
    assert store.last_snapshots("ns", ["a/k", "b/k"], accounts=owners) == {
        "a/k": snaps[4],
        "b/k": snaps[2],
    }
    before = T0 + timedelta(hours=2)  # strictly before: the end of the previous bucket
    assert store.last_snapshots("ns", ["a/k", "b/k"], before, owners) == {"a/k": snaps[1]}
