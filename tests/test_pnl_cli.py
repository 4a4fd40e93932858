"""`nija pnl`, `nija trades`, the history's `Today` column and `--chart`, and the API's
`get_user_pnl`/`get_trades`: one set of figures, whichever way it is asked for."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import write
from nija_balances import MultiAccountBrokerManager
from nija_balances.app import Session
from nija_balances.cli.root import app
from nija_balances.domain.history import AssetPosition, Snapshot
from nija_balances.engine.figures import ConnectionHistory, figures_from, load_figures
from nija_balances.engine.history import account_hashes

runner = CliRunner()
D = Decimal


def run(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result


def test_pnl_trades_and_the_api_give_the_same_figures_for_the_demo() -> None:
    pnl = json.loads(run("pnl", "--demo", "--json").stdout)
    trades = json.loads(run("trades", "--demo", "--json").stdout)["trades"]
    alice = pnl["users"]["alice"]
    assert alice["complete"] is True and alice["incomplete_reasons"] == []
    assert alice["total_trades"] > 0 and alice["wins"] + alice["losses"] > 0
    mine = [t for t in trades if t["account"] == "alice"]
    assert len(mine) == alice["fills"]
    closed = [t["realized_pnl"] for t in mine if t["realized_pnl"] is not None]
    assert round(sum(closed), 2) == alice["realized"]  # the demo has no flow fees
    times = [t["time"] for t in trades]
    assert times == sorted(times, reverse=True)
    # the account is the sum of its connections, to the cent
    for field in ("balance", "total_pnl", "realized", "fees", "net_flow"):
        parts = [c[field] for c in alice["connections"].values()]
        assert abs(round(sum(parts), 2) - alice[field]) <= 0.01 * len(parts), field
    api = MultiAccountBrokerManager(demo=True)
    assert api.get_user_pnl("alice") == alice
    assert api.get_trades("alice", limit=3) == mine[:3]
    with pytest.raises(KeyError, match="unknown user"):
        api.get_user_pnl("zed")


def test_total_is_realized_plus_unrealized_plus_unexplained_and_the_table_says_so() -> None:
    session = Session.open(demo=True)
    try:
        figures = session.figures()
    finally:
        session.close()
    for account in figures.accounts:
        p = account.pnl
        assert p.total_pnl is not None and p.realized is not None and p.unrealized is not None
        assert p.total_pnl == p.realized + p.unrealized + p.unexplained  # type: ignore[operator]
    table = run("pnl", "--demo").stdout
    header = next(line for line in table.splitlines() if line.startswith("Account"))
    assert header.split() == [
        *[
            "Account",
            "Balance",
            "Today",
            "Total",
            "Realized",
            "Unrealized",
            "Fees",
            "Flows",
            "Win",
            "rate",
            "Trades",
        ]
    ]
    bob = figures.users["bob"].pnl
    row = next(line for line in table.splitlines() if line.startswith("bob "))
    assert f"({bob.wins}/{(bob.wins or 0) + (bob.losses or 0)})" in row


def test_the_snapshots_read_give_the_figures_all_snapshots_give() -> None:
    """`load_figures` reads only the boundary snapshots; the figures must not change."""
    session = Session.open(demo=True)
    try:
        session.prepare_history()
        config, store = session.config, session.store
        now = datetime.fromtimestamp(session.clock(), UTC)
        fast = load_figures(config, store, now=now)
        conns = [c for a in config.accounts for c in a.connections]
        owners = account_hashes(config, conns, None)
        keys = [c.key for c in conns]
        ns = config.namespace
        every = store.get_snapshots(ns, keys, accounts=owners)
        fills = store.get_fills(ns, keys, accounts=owners)
        flows = store.get_flows(ns, keys, accounts=owners)
        assert sum(len(v) for v in every.values()) > 5 * len(keys)  # a real reduction
        full = figures_from(
            config,
            {
                k: ConnectionHistory(
                    every.get(k, ()), fills.get(k, ()), flows.get(k, ()), True, True
                )
                for k in keys
            },
            now=now,
        )
    finally:
        session.close()
    assert [a.pnl for a in fast.accounts] == [a.pnl for a in full.accounts]


PAPER = """\
[users.alice.paper]
exchange = "paper"
balances = { USD = 1295 }
flows = [
  { id = "d1", time = DEPOSIT, kind = "deposit", currency = "USD", amount = 500 },
  { id = "w1", time = WITHDRAWAL, kind = "withdrawal", currency = "USD", amount = 200, fee = 5 },
]
"""
#: the last second of yesterday (UTC): the daily P&L's boundary snapshot goes there
END_OF_YESTERDAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
    seconds=1
)


def paper(tmp_path: Path, head: str = "", name: str = "c.toml") -> Path:
    """The paper config, its deposit two days and its withdrawal one day before yesterday's
    end."""
    text = PAPER.replace("DEPOSIT", (END_OF_YESTERDAY - timedelta(days=2)).isoformat())
    text = text.replace("WITHDRAWAL", (END_OF_YESTERDAY - timedelta(days=1)).isoformat())
    return write(tmp_path / name, head + text)


def test_a_deposit_is_not_profit_and_a_withdrawal_is_not_a_loss_but_its_fee_is(
    tmp_path: Path,
) -> None:
    cfg = paper(tmp_path)
    run("sync", "--config", str(cfg))
    session = Session.open(cfg)
    try:
        config = session.config
        conn = config.users[0].connections[0]
        owner = account_hashes(config, [conn], None)[conn.key]
        now = datetime.fromtimestamp(session.clock(), UTC)

        def usd(moment: datetime, amount: str) -> Snapshot:
            return Snapshot(moment, D(amount), D(amount), (AssetPosition("USD", D(amount), D(1)),))

        session.store.put_snapshots(
            config.namespace,
            [
                (conn.key, owner, usd(END_OF_YESTERDAY - timedelta(days=3), "1000")),
                (conn.key, owner, usd(END_OF_YESTERDAY, "1295")),
                (conn.key, owner, usd(now - timedelta(seconds=1), "1295")),
            ],
        )
    finally:
        session.close()
    doc = json.loads(run("pnl", "--json", "--config", str(cfg)).stdout)["users"]["alice"]
    assert doc["net_flow"] == 300.0  # 500 in, 200 out; the fee is not a flow
    assert doc["total_pnl"] == -5.0  # 1,295 − 1,000 − 300: only the withdrawal fee is lost
    assert doc["realized"] == -5.0 and doc["unexplained"] == 0.0
    assert doc["daily_pnl"] == 0.0
    assert doc["complete"] is True, doc["incomplete_reasons"]


def test_pnl_of_an_unsynced_connection_is_unknown_with_the_reason(tmp_path: Path) -> None:
    cfg = paper(tmp_path)
    doc = json.loads(run("pnl", "--json", "--config", str(cfg)).stdout)["users"]["alice"]
    assert doc["total_pnl"] is None and doc["realized"] is None and doc["complete"] is False
    assert any("never synced" in r for r in doc["incomplete_reasons"])
    table = run("pnl", "--config", str(cfg)).stdout
    assert "never synced (run `nija sync`)" in table
    row = next(line for line in table.splitlines() if line.startswith("alice"))
    assert "$0.00" not in row  # unknown is shown as such, never as zero


def test_trades_table_csv_limit_and_since() -> None:
    table = run("trades", "--demo", "--limit", "2").stdout
    assert "2 of " in table.splitlines()[0]
    assert "older fills: --limit 0 shows all" in table
    rows = list(csv.DictReader(io.StringIO(run("trades", "--demo", "--csv").stdout)))
    doc = json.loads(run("trades", "--demo", "--json").stdout)["trades"]
    assert [r["id"] for r in rows] == [t["id"] for t in doc]
    assert [r["realized_pnl"] for r in rows] == [
        "" if t["realized_pnl"] is None else f"{t['realized_pnl']:.2f}" for t in doc
    ]
    recent = json.loads(run("trades", "--demo", "--json", "--since", "3d").stdout)["trades"]
    assert 0 < len(recent) < len(doc)
    bob = json.loads(run("trades", "bob", "--demo", "--json").stdout)["trades"]
    assert bob and {t["account"] for t in bob} == {"bob"}
    bad = runner.invoke(app, ["trades", "--demo", "--since", "soon"])
    assert bad.exit_code == 2 and "--since: not a time span" in bad.stderr
    both = runner.invoke(app, ["trades", "--demo", "--json", "--csv"])
    assert both.exit_code == 2


def test_history_shows_today_and_draws_a_chart() -> None:
    table = run("history", "--demo", "--since", "30d").stdout
    header = next(line for line in table.splitlines() if line.startswith("Account"))
    assert "Today" in header.split()
    pnl = json.loads(run("pnl", "--demo", "--json").stdout)
    bob_today = pnl["users"]["bob"]["daily_pnl"]
    row = next(line for line in table.splitlines() if line.startswith("bob "))
    assert f"${abs(bob_today):,.2f}" in row
    chart = run("history", "--demo", "--since", "30d", "--chart", "--user", "alice").stdout
    lines = chart.splitlines()
    assert lines[0] == "alice"
    plotted = [line for line in lines if " |" in line]
    assert len(plotted) == 8 and all("•" in line or "*" in line for line in plotted[:1])
    assert lines[-1].strip().endswith("UTC")
    clash = runner.invoke(app, ["history", "--demo", "--chart", "--json"])
    assert clash.exit_code == 2 and "choose one of" in clash.stderr


def test_an_unknown_time_zone_is_a_config_error_with_file_line_and_hint(tmp_path: Path) -> None:
    cfg = paper(tmp_path, '[settings]\ntimezone = "Mars/Olympus"\n\n')
    result = runner.invoke(app, ["pnl", "--config", str(cfg)])
    assert result.exit_code == 2
    assert f"{cfg}:2: settings.timezone: unknown time zone 'Mars/Olympus'" in result.stderr
    assert "IANA" in result.stderr and "Traceback" not in result.stderr
    typo = paper(tmp_path, '[settings]\ntimezone = "Europe/Londn"\n\n', "t.toml")
    result = runner.invoke(app, ["pnl", "--config", str(typo)])
    assert result.exit_code == 2 and "(did you mean 'Europe/London'?)" in result.stderr
    good = paper(tmp_path, '[settings]\ntimezone = "Europe/London"\n\n', "g.toml")
    doc = json.loads(run("pnl", "--json", "--config", str(good)).stdout)
    assert doc["timezone"] == "Europe/London"
