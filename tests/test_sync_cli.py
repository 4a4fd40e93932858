"""`nija sync` and the demo's history: the summary (exact text), `--json`, exit codes, the
filters, paper `trades`/`flows` options and their errors, and the demo's 30 days of
snapshots, trades and flows that end exactly at its balances."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import install_plugins, write
from nija_balances.adapters import registry
from nija_balances.app import Session
from nija_balances.cli.root import app
from nija_balances.engine.demo import DEMO_DAYS, seed_demo_history
from nija_balances.engine.history import account_hashes

runner = CliRunner()

DEMO_SYNC = """\
====================================================================================================
NIJA SYNC — DEMO (simulated accounts)
====================================================================================================
Generated: <time>    5 connections: 5 complete
====================================================================================================
platform/coinbase  complete    trades: 0 new (0 pages) · flows: 0 new (0 pages)
platform/kraken    complete    trades: 0 new (0 pages) · flows: 0 new (0 pages)
alice/coinbase     complete    trades: 0 new (0 pages) · flows: 0 new (0 pages)
alice/kraken       complete    trades: 0 new (0 pages) · flows: 0 new (0 pages)
bob/kraken         complete    trades: 0 new (0 pages) · flows: 0 new (0 pages)
====================================================================================================
"""

PAPER = """\
[users.alice.paper]
exchange = "paper"
balances = { USD = 100 }
prices = { BTC = 50000 }
flows = [
  { id = "d1", time = 2026-01-01T00:00:00Z, kind = "deposit", currency = "USD", amount = 500 },
]

[[users.alice.paper.trades]]
id = "1"
time = 2026-01-05T10:00:00Z
symbol = "BTC/USD"
side = "buy"
amount = 0.01
price = 40000

[[users.alice.paper.trades]]
id = "2"
ago = "2d"
symbol = "btc/usd"
side = "sell"
amount = 0.01
fee = 0.5

[[users.alice.paper.trades]]
id = "3"
ago = "1d"
symbol = "BTC/USD"
side = "buy"
amount = 0.02

[users.bob.kraken]
"""


def generated(text: str) -> str:
    return re.sub(r"Generated: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "Generated: <time>", text)


def test_sync_demo_summary_is_exact_and_exits_0() -> None:
    """The demo's past is written when first needed, so its sync finds nothing new."""
    result = runner.invoke(app, ["sync", "--demo"])
    assert result.exit_code == 0, result.stderr
    assert generated(result.stdout) == DEMO_SYNC
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_history_demo_shows_30_days_ending_at_the_demo_balances() -> None:
    result = runner.invoke(app, ["history", "--demo", "--since", "30d", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    for who, last in (("alice", 1000.0), ("bob", 2500.0)):
        points = doc["users"][who]
        assert len(points) == 31
        assert all(p["complete"] for p in points)
        assert points[-1]["equity"] == last
        assert points[0]["equity"] != last  # it moved over the month


def test_the_demo_past_is_deterministic_and_ends_exactly_at_the_balances(tmp_path: Path) -> None:
    now = datetime(2026, 3, 10, 14, 25, tzinfo=UTC)
    sessions = [Session.open(demo=True, clock=lambda: now.timestamp()) for _ in range(2)]
    from nija_balances.store.sqlite import SqliteStore

    for i, session in enumerate(sessions):
        session.store = SqliteStore(tmp_path / f"s{i}.sqlite3")
        assert seed_demo_history(session.config, session.store, now.timestamp())
    config = sessions[0].config
    assert not seed_demo_history(config, sessions[0].store, now.timestamp() + 60)  # same hour
    conns = [c for a in config.accounts for c in a.connections]
    owners = account_hashes(config, conns, {})
    keys = [c.key for c in conns]
    got = [
        (s.store.get_snapshots(config.namespace, keys, accounts=owners),
         s.store.get_fills(config.namespace, keys, accounts=owners),
         s.store.get_flows(config.namespace, keys, accounts=owners))
        for s in sessions
    ]  # fmt: skip
    assert got[0] == got[1]
    snapshots, fills, flows = got[0]
    anchor = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    current = sessions[0].collect(config)
    for conn in current.connections:
        series = snapshots[conn.key]
        assert len(series) == DEMO_DAYS * 24 + 1
        assert (series[0].time, series[-1].time) == (anchor - timedelta(days=DEMO_DAYS), anchor)
        assert series[-1].equity == conn.equity and series[-1].cash == conn.cash
        assert {a.currency: a.amount for a in series[-1].assets} == {
            a.currency: a.total for a in conn.assets
        }
        assert all(a.amount >= 0 for s in series for a in s.assets)
    assert [f.id for f in fills["alice/kraken"]] == [f"ak-{i}" for i in range(1, 8)]
    assert [f.id for f in flows["bob/kraken"]] == ["bk-d1", "bk-w1"]
    assert flows["alice/coinbase"][0].time == anchor - timedelta(hours=480)
    # the next hour, the past is rewritten to end there
    later = now + timedelta(hours=1)
    assert seed_demo_history(config, sessions[0].store, later.timestamp())
    moved = sessions[0].store.get_snapshots(config.namespace, ["bob/kraken"], accounts=owners)
    assert moved["bob/kraken"][-1].time == anchor + timedelta(hours=1)
    assert len(moved["bob/kraken"]) == DEMO_DAYS * 24 + 1
    for session in sessions:
        session.close()


def test_sync_a_paper_config_stores_its_trades_and_flows_then_nothing_new(
    tmp_path: Path,
) -> None:
    cfg = write(tmp_path / "c.toml", PAPER)
    first = runner.invoke(app, ["sync", "--config", str(cfg)])
    assert first.exit_code == 0, first.stderr
    assert generated(first.stdout).splitlines()[3:7] == [
        "Generated: <time>    2 connections: 1 complete, 1 skipped",
        "=" * 100,
        "alice/paper  complete    trades: 3 new (1 page) · flows: 1 new (1 page)",
        "bob/kraken   skipped     no credentials",
    ]
    again = runner.invoke(app, ["sync", "--config", str(cfg), "--json", "--user", "alice"])
    assert again.exit_code == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["ok"] is True and doc["demo"] is False
    assert doc["connections"] == [
        {
            "account": "alice",
            "connection": "paper",
            "exchange": "paper",
            "status": "complete",
            "skipped": None,
            "new_fills": 0,
            "new_flows": 0,
            "kinds": {
                kind: {"status": "complete", "new_fills": 0, "new_flows": 0, "pages": 0,
                       "problem": None}
                for kind in ("trades", "flows")
            },
        }
    ]  # fmt: skip
    session = Session.open(cfg)
    config = session.config
    owners = account_hashes(config, list(config.user("alice").connections), {})  # type: ignore[union-attr]
    fills = session.store.get_fills(config.namespace, ["alice/paper"], accounts=owners)
    session.close()
    sold = fills["alice/paper"][1]
    assert (sold.id, sold.symbol, sold.side, sold.fee) == ("2", "BTC/USD", "sell", Decimal("0.5"))
    assert sold.price > 0 and sold.cost == sold.amount * sold.price  # the paper price then


def test_bad_paper_history_options_are_config_errors_with_file_and_key(tmp_path: Path) -> None:
    text = PAPER.replace('side = "sell"', 'side = "hold"').replace('ago = "1d"', 'ago = "1x"')
    cfg = write(tmp_path / "c.toml", text)
    result = runner.invoke(app, ["sync", "--config", str(cfg)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == [
        f"  {cfg}:21: users.alice.paper.trades.1.side: expected one of buy, sell, got 'hold'",
        f"  {cfg}:27: users.alice.paper.trades.2.ago: not a time span: '1x'"
        " (a positive whole number and a unit: 7d, 24h, 30m)",
    ]
    assert "Traceback" not in result.stderr


def test_the_broker_filter_selects_connections(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sync", "--demo", "--broker", "coinbase", "--json"])
    assert result.exit_code == 0, result.stderr
    keys = [(c["account"], c["connection"]) for c in json.loads(result.stdout)["connections"]]
    assert keys == [("platform", "coinbase"), ("alice", "coinbase")]
    unknown = runner.invoke(app, ["sync", "--demo", "--user", "zed"])
    assert unknown.exit_code == 2 and "unknown user 'zed'" in unknown.stderr


@pytest.fixture
def flaky_installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    install_plugins(monkeypatch, flakyx="sync_plugin:SPEC")
    yield
    registry.forget_plugins()


def test_a_failed_connection_exits_1_and_says_what_was_kept(
    flaky_installed: None, tmp_path: Path
) -> None:
    cfg = write(tmp_path / "c.toml", PAPER + "[users.carol.flakyx]\n")
    result = runner.invoke(app, ["sync", "--config", str(cfg)])
    assert result.exit_code == 1, result.stderr
    lines = generated(result.stdout).splitlines()
    assert lines[3] == "Generated: <time>    3 connections: 1 complete, 1 failed, 1 skipped"
    assert lines[7:9] == [  # too long for 100 columns: one kind a line
        "carol/flakyx  failed      trades: failed (rate_limited: slow down), kept 1 page (1 new)",
        "                          flows: 0 new (0 pages)",
    ]
