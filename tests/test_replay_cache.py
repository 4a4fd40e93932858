"""The P&L's replay cache (`engine.replay_cache`, the store's `replays` table): figures from
kept replays are those computed from the fills, a kept replay is used only while its
inputs hold, and `nija pnl` reads no fills while every kept replay holds."""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import write
from nija_balances.app import Session
from nija_balances.cli.root import app
from nija_balances.domain.history import AssetPosition, Fill, Flow, Snapshot, SyncState
from nija_balances.domain.models import Config
from nija_balances.domain.pnl import connection_pnl, summarize, tracked_realization
from nija_balances.engine.figures import ConnectionHistory, Figures, figures_from, load_figures
from nija_balances.engine.history import account_hashes
from nija_balances.engine.ports import ReplayCache
from nija_balances.engine.replay_cache import Inputs, encode, kept_replay, next_event
from nija_balances.store.sqlite import SqliteStore

D = Decimal
NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(days=10)
CONFIG = """\
[users.alice.paper]
exchange = "paper"
balances = { USD = 1000 }

[users.bob.paper]
exchange = "paper"
balances = { USD = 1000 }
"""


class Counting(SqliteStore):
    """The SQLite store, counting the fills asked for."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.fill_reads: list[list[str]] = []

    def get_fills(self, namespace: str, keys: Any, since: Any = None, accounts: Any = None) -> Any:
        keys = list(keys)
        self.fill_reads.append(keys)
        return super().get_fills(namespace, keys, since, accounts)

    @property
    def keys_read(self) -> set[str]:
        return {k for keys in self.fill_reads for k in keys}


class NoCache(Counting):
    """The same store without the replay cache: figures computed from the fills each time
    (what a store without the capability, like Redis, gives)."""

    get_replays = None  # type: ignore[assignment]
    put_replays = None  # type: ignore[assignment]


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def snap(hours: float, btc: str = "0.5", price: str = "40000", usd: str = "1000") -> Snapshot:
    equity = D(usd) + D(btc) * D(price)
    return Snapshot(
        at(hours),
        D(usd),
        equity,
        (AssetPosition("USD", D(usd), D(1)), AssetPosition("BTC", D(btc), D(price))),
    )


def trade(
    n: int, hours: float, side: str, amount: str, price: str, symbol: str = "BTC/USD"
) -> Fill:
    cost = D(amount) * D(price)
    return Fill(f"f{n}", f"o{n}", at(hours), symbol, side, D(amount), D(price), cost, D("0.25"))


class Fleet:
    """Two paper connections (alice, bob) with snapshots, fills, flows and whole syncs."""

    def __init__(self, tmp_path: Path) -> None:
        self.cfg = write(tmp_path / "c.toml", CONFIG)
        session = Session.open(self.cfg)
        self.config: Config = session.config
        self.path = session.store.path if isinstance(session.store, SqliteStore) else Path()
        session.close()
        conns = [c for u in self.config.users for c in u.connections]
        self.keys = [c.key for c in conns]
        self.owners = account_hashes(self.config, conns, None)
        self.ns = self.config.namespace
        store = SqliteStore(self.path)
        for i, key in enumerate(self.keys):
            owner = self.owners[key]
            snaps = [snap(h, price=str(40000 + 100 * h + i)) for h in (0, 24, 48, 72, 96)]
            store.put_snapshots(self.ns, [(key, owner, s) for s in snaps])
            fills = [
                trade(1, 10, "buy", "0.1", "40500"),
                trade(2, 30, "sell", "0.2", "41000"),
                trade(3, 50, "buy", "0.05", "40800"),
                trade(4, 70, "sell", "0.1", "41500"),
                trade(6, 71, "sell", "0.1", "41500", symbol="BTCUSD"),  # left out, with a reason
                trade(5, 120, "sell", "0.05", "42000"),  # after the last snapshot
            ]
            flows = [Flow("d1", "deposit", at(20), "USD", D(500))]
            store.put_history_page(self.ns, key, owner, "trades", fills=fills, cursor="6")
            store.put_history_page(self.ns, key, owner, "flows", flows=flows, cursor="1")
            for kind in ("trades", "flows"):
                state = SyncState(cursor="x", finished_at=NOW, complete=True)
                store.set_sync_state(self.ns, key, owner, kind, state)
        assert store.warnings == []
        store.close()

    def store(self, cache: bool = True) -> Counting:
        return Counting(self.path) if cache else NoCache(self.path)

    def figures(
        self,
        store: SqliteStore,
        *,
        trades: bool = False,
        config: Config | None = None,
        now: datetime = NOW,
    ) -> Figures:
        return load_figures(config or self.config, store, now=now, trades=trades)

    def put(self, key: str, *, fills: tuple[Fill, ...] = (), flows: tuple[Flow, ...] = ()) -> None:
        with SqliteStore(self.path) as store:
            kind = "trades" if fills else "flows"
            owner = self.owners[key]
            assert store.put_history_page(
                self.ns, key, owner, kind, fills=fills, flows=flows, cursor="y"
            )

    def put_snapshot(self, key: str, snapshot: Snapshot) -> None:
        with SqliteStore(self.path) as store:
            store.put_snapshots(self.ns, [(key, self.owners[key], snapshot)])

    def docs(self) -> dict[str, str | None]:
        with SqliteStore(self.path) as store:
            return {k: v[2] for k, v in store.get_replays(self.ns, self.keys, self.owners).items()}


def pnl_of(figures: Figures) -> list[Any]:
    return [(a.pnl, [c.pnl for c in a.connections]) for a in figures.accounts]


def trades_of(figures: Figures) -> list[Any]:
    return [(t.fill.id, t.realized) for a in figures.accounts for t in a.trades]


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    yield Fleet(tmp_path)


def assert_same_as_without_cache(fleet: Fleet, figures: Figures) -> None:
    plain = fleet.figures(fleet.store(cache=False))
    assert pnl_of(figures) == pnl_of(plain)


def test_figures_from_kept_replays_are_those_computed_from_the_fills(fleet: Fleet) -> None:
    cold_store = fleet.store()
    cold = fleet.figures(cold_store)
    assert cold_store.keys_read == set(fleet.keys)  # nothing kept yet: every replay computed
    assert all(fleet.docs().values())  # ... and kept
    warm_store = fleet.store()
    warm = fleet.figures(warm_store)
    assert warm_store.fill_reads == []  # every kept replay holds: no fill is read
    plain_store = fleet.store(cache=False)
    plain = fleet.figures(plain_store)
    assert plain_store.keys_read == set(fleet.keys)
    assert pnl_of(cold) == pnl_of(warm) == pnl_of(plain)
    alice = warm.users["alice"].pnl
    assert not any("trade" in r or "deposit" in r for r in alice.incomplete_reasons)
    assert (alice.fills, alice.total_trades, alice.wins, alice.losses) == (5, 5, 2, 0)
    assert any("left out" in r for r in alice.incomplete_reasons)
    assert alice.realized is not None and alice.realized != 0
    # with trades, the fills are read (to be listed) and their realized P&L is the same
    listed = fleet.figures(fleet.store(), trades=True)
    assert trades_of(listed) == trades_of(fleet.figures(fleet.store(cache=False), trades=True))
    assert pnl_of(listed) == pnl_of(plain)
    assert any(r is not None for _, r in trades_of(listed))


def test_a_store_without_the_cache_gives_the_same_figures_with_or_without_trades(
    fleet: Fleet,
) -> None:
    store = fleet.store(cache=False)
    assert not isinstance(store, ReplayCache) and isinstance(fleet.store(), ReplayCache)
    assert pnl_of(fleet.figures(store)) == pnl_of(fleet.figures(store, trades=True))
    assert fleet.docs() == dict.fromkeys(fleet.keys)  # nothing kept


def warm(fleet: Fleet) -> Figures:
    fleet.figures(fleet.store())
    store = fleet.store()
    figures = fleet.figures(store)
    assert store.fill_reads == []
    return figures


def test_a_new_fill_in_the_span_is_replayed(fleet: Fleet) -> None:
    before = warm(fleet)
    alice = fleet.keys[0]
    fleet.put(alice, fills=(trade(9, 60, "sell", "0.1", "45000"),))
    store = fleet.store()
    after = fleet.figures(store)
    assert store.keys_read == {alice}  # only the connection that changed
    assert after.users["alice"].pnl.fills == before.users["alice"].pnl.fills + 1
    assert after.users["bob"].pnl == before.users["bob"].pnl
    assert_same_as_without_cache(fleet, after)


def test_a_fill_after_the_span_is_replayed_once_a_snapshot_takes_it_in(fleet: Fleet) -> None:
    before = warm(fleet)
    alice = fleet.keys[0]
    fleet.put_snapshot(alice, snap(110, price="41000"))  # before the fill at 120 h: still out
    store = fleet.store()
    still = fleet.figures(store)
    assert store.fill_reads == []
    assert still.users["alice"].pnl.fills == before.users["alice"].pnl.fills
    assert_same_as_without_cache(fleet, still)
    fleet.put_snapshot(alice, snap(121, btc="0.45", price="42000"))  # the fill is in
    store = fleet.store()
    after = fleet.figures(store)
    assert store.keys_read == {alice}
    assert after.users["alice"].pnl.fills == before.users["alice"].pnl.fills + 1
    assert_same_as_without_cache(fleet, after)


def test_a_span_ending_before_the_kept_one_is_replayed(fleet: Fleet) -> None:
    warm(fleet)
    store = fleet.store()
    earlier = fleet.figures(store, now=at(60))  # the span ends at 48 h, the kept one at 96 h
    assert store.keys_read == set(fleet.keys)
    assert earlier.users["alice"].pnl.fills == 2
    plain = fleet.figures(fleet.store(cache=False), now=at(60))
    assert pnl_of(earlier) == pnl_of(plain)


def test_a_new_flow_is_replayed(fleet: Fleet) -> None:
    warm(fleet)
    bob = fleet.keys[1]
    fleet.put(bob, flows=(Flow("w1", "withdrawal", at(40), "BTC", D("0.01"), value=D(400)),))
    store = fleet.store()
    after = fleet.figures(store)
    assert store.keys_read == {bob}
    assert_same_as_without_cache(fleet, after)


def test_a_pruned_first_snapshot_replays_from_the_new_first(fleet: Fleet) -> None:
    before = warm(fleet)
    alice = fleet.keys[0]
    with sqlite3.connect(fleet.path) as db:
        db.execute("DELETE FROM snapshots WHERE key = ? AND time = ?", (alice, at(0).timestamp()))
    db.close()
    store = fleet.store()
    after = fleet.figures(store)
    assert store.keys_read == {alice}
    assert after.users["alice"].pnl.fills != before.users["alice"].pnl.fills  # a fill left
    assert_same_as_without_cache(fleet, after)


def test_other_cash_currencies_replay(fleet: Fleet) -> None:
    before = warm(fleet)
    settings = dataclasses.replace(fleet.config.settings, stablecoins=("BTC",))  # BTC at par
    config = dataclasses.replace(fleet.config, settings=settings)
    store = fleet.store()
    after = fleet.figures(store, config=config)
    assert store.keys_read == set(fleet.keys)
    assert after.users["alice"].pnl.realized != before.users["alice"].pnl.realized
    plain = fleet.figures(fleet.store(cache=False), config=config)
    assert pnl_of(after) == pnl_of(plain)


def test_drop_history_drops_the_kept_replays(fleet: Fleet) -> None:
    warm(fleet)
    with SqliteStore(fleet.path) as store:
        store.drop_history(fleet.ns, fleet.keys[:1])
    docs = fleet.docs()
    assert docs[fleet.keys[0]] is None and docs[fleet.keys[1]] is not None


def test_a_replay_that_consulted_snapshot_prices_is_not_kept(fleet: Fleet) -> None:
    alice, bob = fleet.keys
    # ETH/BTC: neither side is cash, so its value comes from the snapshots' prices
    fleet.put(alice, fills=(trade(7, 40, "buy", "1", "0.05", symbol="ETH/BTC"),))
    first = fleet.figures(fleet.store())
    docs = fleet.docs()
    assert docs[alice] is None and docs[bob] is not None
    store = fleet.store()
    again = fleet.figures(store)
    assert store.keys_read == {alice}  # replayed each time
    assert pnl_of(first) == pnl_of(again)
    assert_same_as_without_cache(fleet, again)


def test_a_replay_that_consults_prices_gets_them_from_every_snapshot(fleet: Fleet) -> None:
    """The P&L reads only a connection's boundary snapshots; a fill between two non-cash
    currencies is valued at the snapshot nearest it, so that connection gets them all."""
    alice = fleet.keys[0]
    fleet.put(alice, fills=(trade(7, 40, "buy", "1", "0.05", symbol="ETH/BTC"),))
    for h in range(1, 96, 3):  # the nearest snapshot to the fill is not a boundary one
        fleet.put_snapshot(alice, snap(h, price=str(30000 + 500 * h)))
    store = fleet.store(cache=False)
    ns, keys, owners = fleet.ns, fleet.keys, fleet.owners
    every = store.get_snapshots(ns, keys, accounts=owners)
    fills = store.get_fills(ns, keys, accounts=owners)
    flows = store.get_flows(ns, keys, accounts=owners)
    histories = {
        k: ConnectionHistory(every.get(k, ()), fills.get(k, ()), flows.get(k, ()), True, True)
        for k in keys
    }
    full = figures_from(fleet.config, histories, now=NOW)
    for figures in (fleet.figures(fleet.store()), fleet.figures(fleet.store(cache=False))):
        assert pnl_of(figures) == pnl_of(full)
    listed = fleet.figures(fleet.store(), trades=True)
    assert trades_of(listed) == trades_of(full)


@pytest.mark.parametrize(
    "garbage",
    ["not json", "[]", "{}", "GOOD", "COUNTS"],
)
def test_an_unreadable_kept_replay_is_replayed_with_one_warning(
    fleet: Fleet, garbage: str, caplog: pytest.LogCaptureFixture
) -> None:
    warm(fleet)
    alice = fleet.keys[0]
    doc = fleet.docs()[alice]
    assert doc is not None
    if garbage == "GOOD":  # readable JSON, a money figure that is not a number
        garbage = json.dumps({**json.loads(doc), "realized": "lots"})
    elif garbage == "COUNTS":  # a count that is not a whole number
        garbage = json.dumps({**json.loads(doc), "counts": ["1", 2, 3, 4, 5]})
    with sqlite3.connect(fleet.path) as db:
        db.execute("UPDATE replays SET data = ? WHERE key = ?", (garbage, alice))
    db.close()
    store = fleet.store()
    with caplog.at_level(logging.WARNING):
        after = fleet.figures(store)
    assert store.keys_read == {alice} and store.warnings == []
    unreadable = [r for r in caplog.records if "unreadable kept replay" in r.getMessage()]
    assert len(unreadable) == 1 and "alice" in unreadable[0].getMessage()
    assert_same_as_without_cache(fleet, after)
    assert fleet.docs()[alice] == doc  # replaced by a good one
    again = fleet.store()
    fleet.figures(again)
    assert again.fill_reads == []


def test_a_schema_4_store_is_upgraded_keeping_its_history(fleet: Fleet) -> None:
    before = fleet.figures(fleet.store(cache=False))
    with sqlite3.connect(fleet.path) as db:
        db.execute("DROP TABLE replays")
        db.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    db.close()
    store = fleet.store()
    assert pnl_of(fleet.figures(store)) == pnl_of(before)
    assert store.warnings == [] and all(fleet.docs().values())
    with sqlite3.connect(fleet.path) as db:
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        counts = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("fills", "flows")]
    db.close()
    assert version == ("5",) and counts == [12, 2]


def test_pnl_json_is_the_same_on_a_cold_and_a_warm_cache(fleet: Fleet) -> None:
    runner = CliRunner()

    def pnl() -> dict[str, Any]:
        result = runner.invoke(app, ["pnl", "--json", "--config", str(fleet.cfg)])
        assert result.exit_code == 0, result.stderr
        doc: dict[str, Any] = json.loads(result.stdout)
        doc.pop("timestamp")
        return doc

    assert fleet.docs() == dict.fromkeys(fleet.keys)
    cold = pnl()
    assert all(fleet.docs().values())
    warm = pnl()
    assert cold == warm
    alice = cold["users"]["alice"]
    assert alice["fills"] == 5 and alice["realized"] is not None
    with sqlite3.connect(fleet.path) as db:
        db.execute("UPDATE replays SET data = 'garbage'")
    db.close()
    result = runner.invoke(app, ["pnl", "--json", "--config", str(fleet.cfg)])
    assert result.exit_code == 0 and "Traceback" not in result.stderr
    doc = json.loads(result.stdout)
    doc.pop("timestamp")
    assert doc == cold


def test_nija_pnl_and_get_user_pnl_read_no_fills_once_the_replays_are_kept(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nija_balances import MultiAccountBrokerManager

    reads: list[list[str]] = []
    get_fills = SqliteStore.get_fills

    def counting(self: SqliteStore, namespace: str, keys: Any, *args: Any, **kw: Any) -> Any:
        keys = list(keys)
        reads.append(keys)
        return get_fills(self, namespace, keys, *args, **kw)

    monkeypatch.setattr(SqliteStore, "get_fills", counting)
    runner = CliRunner()

    def pnl() -> Any:
        result = runner.invoke(app, ["pnl", "--json", "--config", str(fleet.cfg)])
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)["users"]

    cold = pnl()
    assert {k for keys in reads for k in keys} == set(fleet.keys)
    reads.clear()
    assert pnl() == cold and reads == []
    api = MultiAccountBrokerManager(fleet.cfg)
    assert api.get_user_pnl("alice") == cold["alice"] and reads == []
    assert api.get_trades("alice") and reads  # listing trades reads them
    reads.clear()
    table = runner.invoke(app, ["pnl", "--config", str(fleet.cfg)])
    assert table.exit_code == 0 and "alice" in table.stdout and reads == []


SYNCED = """\
[users.alice.paper]
exchange = "paper"
balances = { USD = 1000, BTC = 0.5 }
prices = { BTC = 40000 }
trades = [
  { id = "t1", ago = "3h", symbol = "BTC/USD", side = "buy", amount = 0.1, fee = 0.5 },
  { id = "t2", ago = "2h", symbol = "BTC/USD", side = "sell", amount = 0.05, price = 41000 },
]
flows = [{ id = "d1", ago = "150m", kind = "deposit", currency = "USD", amount = 500 }]
"""


@pytest.mark.parametrize("keep", [True, False])
def test_a_sync_that_stored_fills_keeps_their_replays_for_the_next_pnl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep: bool
) -> None:
    """`nija sync` pays for the replay of what it stored; `nija pnl` then reads no fills
    (and, with that step taken out, it does: the test sees the difference)."""
    cfg = write(tmp_path / "c.toml", SYNCED)
    runner = CliRunner()
    session = Session.open(cfg)
    (conn,) = session.config.users[0].connections
    owner = account_hashes(session.config, [conn], None)[conn.key]
    assert isinstance(session.store, SqliteStore)
    now = datetime.now(UTC)
    prices = (AssetPosition("USD", D(1000), D(1)), AssetPosition("BTC", D("0.5"), D(40000)))
    for age in (timedelta(hours=4), timedelta(minutes=30)):
        snapshot = Snapshot(now - age, D(1000), D(21000), prices)
        session.store.put_snapshots(session.config.namespace, [(conn.key, owner, snapshot)])
    session.close()
    if not keep:
        monkeypatch.setattr(Session, "keep_replays", lambda self, config, report: None)
    synced = runner.invoke(app, ["sync", "--json", "--config", str(cfg)])
    assert synced.exit_code == 0, synced.stderr
    assert json.loads(synced.stdout)["connections"][0]["new_fills"] == 2

    reads: list[list[str]] = []
    get_fills = SqliteStore.get_fills

    def counting(self: SqliteStore, namespace: str, keys: Any, *args: Any, **kw: Any) -> Any:
        reads.append(list(keys))
        return get_fills(self, namespace, list(keys), *args, **kw)

    monkeypatch.setattr(SqliteStore, "get_fills", counting)
    result = runner.invoke(app, ["pnl", "--json", "--config", str(cfg)])
    assert result.exit_code == 0, result.stderr
    alice = json.loads(result.stdout)["users"]["alice"]
    assert alice["fills"] == 2 and alice["realized"] is not None
    assert (reads == []) is keep


# ---------------------------------------------------------------------------- property


def _snapshots(draw: st.DrawFn) -> list[Snapshot]:
    hours = sorted(draw(st.sets(st.integers(0, 100), min_size=1, max_size=6)))
    return [
        snap(
            h,
            btc=str(draw(st.sampled_from(["0", "0.5", "1.25"]))),
            price=str(draw(st.integers(30000, 50000))),
        )
        for h in hours
    ]


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Snapshot], list[Fill], list[Flow]]:
    snapshots = _snapshots(draw)
    fills = []
    for n in range(draw(st.integers(0, 5))):
        symbol = draw(st.sampled_from(["BTC/USD", "ETH/USD", "ETH/BTC"]))
        price = draw(st.sampled_from(["0.05", "0.06"])) if symbol == "ETH/BTC" else None
        fills.append(
            trade(
                n,
                draw(st.integers(-5, 110)),
                draw(st.sampled_from(["buy", "sell"])),
                draw(st.sampled_from(["0.01", "0.1", "0.3", "2"])),
                price or str(draw(st.integers(30000, 50000))),
                symbol=symbol,
            )
        )
    flows = [
        Flow(
            f"x{n}",
            draw(st.sampled_from(["deposit", "withdrawal"])),
            at(draw(st.integers(-5, 110))),
            draw(st.sampled_from(["USD", "BTC"])),
            D(draw(st.sampled_from(["0.05", "100"]))),
            D(draw(st.sampled_from(["0", "0.01"]))),
            value=draw(st.sampled_from([None, D(2000)])),
        )
        for n in range(draw(st.integers(0, 3)))
    ]
    return snapshots, fills, flows


CASH_SETS = (frozenset({"USD"}), frozenset({"USD", "BTC"}))


@given(
    history=histories(),
    later=histories(),
    kept_at=st.integers(0, 5),
    asked_at=st.integers(0, 5),
    more=st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 2)),
    cash=st.sampled_from(CASH_SETS),
    other_cash=st.sampled_from(CASH_SETS),
)
@settings(max_examples=600, deadline=None)
def test_a_kept_replay_is_used_only_where_it_is_the_replay(
    history: tuple[list[Snapshot], list[Fill], list[Flow]],
    later: tuple[list[Snapshot], list[Fill], list[Flow]],
    kept_at: int,
    asked_at: int,
    more: tuple[int, int, int],
    cash: frozenset[str],
    other_cash: frozenset[str],
) -> None:
    """Keep the replay of a span, add fills, flows and snapshots, ask again for another
    span: a kept replay that is used is exactly the replay, and it is used whenever nothing
    it depends on changed."""
    snapshots, fills, flows = history
    upto = snapshots[min(kept_at, len(snapshots) - 1)].time
    first = tracked_realization(snapshots, fills, flows, now=upto, cash=cash)
    assert first is not None
    kept = summarize(first)
    inputs = Inputs(snapshots[0], cash, len(fills), len(flows))
    doc = encode(kept, inputs, upto=upto, following=next_event(fills, flows, upto))
    same = kept_replay(doc, inputs, upto)
    assert same is not None and encode(same, inputs, upto=upto, following=None) == encode(
        kept, inputs, upto=upto, following=None
    )  # exactly: every decimal as it was
    if kept.priced:
        return  # its result depends on the snapshots it was given: never kept
    # then: more snapshots, fills and flows (new ids), maybe other cash currencies
    added = [s for s in later[0] if s.time > snapshots[0].time]  # mostly inside the span
    extra_fills = [dataclasses.replace(f, id=f"new-{f.id}") for f in later[1][: more[1]]]
    extra_flows = [dataclasses.replace(f, id=f"new-{f.id}") for f in later[2][: more[2]]]
    all_snaps = sorted(
        {s.time: s for s in (*snapshots, *added[: more[0]])}.values(), key=lambda s: s.time
    )
    all_fills, all_flows = [*fills, *extra_fills], [*flows, *extra_flows]
    last = all_snaps[min(asked_at, len(all_snaps) - 1)].time
    span = [s for s in all_snaps if s.time <= last]
    now_inputs = Inputs(span[0], other_cash, len(all_fills), len(all_flows))
    fresh = tracked_realization(all_snaps, all_fills, all_flows, now=last, cash=other_cash)
    assert fresh is not None
    found = kept_replay(doc, now_inputs, last)
    if found is not None:
        assert encode(found, now_inputs, upto=last, following=None) == encode(
            summarize(fresh), now_inputs, upto=last, following=None
        )
        args = (all_snaps, all_fills, all_flows)
        options: dict[str, Any] = {"now": last, "tz": UTC, "cash": other_cash}
        assert connection_pnl(*args, **options, replay=found) == connection_pnl(*args, **options)
        assert connection_pnl(all_snaps, [], all_flows, **options, replay=found) == (
            connection_pnl(*args, **options)
        )
    unchanged = (
        not extra_fills
        and not extra_flows
        and cash == other_cash
        and span[0] == snapshots[0]
        and upto <= last
        and not any(upto < e.time <= last for e in (*fills, *flows))
    )
    assert (found is not None) == unchanged
