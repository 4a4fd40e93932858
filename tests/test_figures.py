"""The P&L model: connections' figures summed into accounts, fills with realized P&L, and
what makes a figure incomplete. The FIFO arithmetic itself is tested in tests/domain/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from nija_balances.config.loader import parse_document
from nija_balances.domain.history import AssetPosition, Fill, Flow, Snapshot
from nija_balances.domain.models import Config, ConnectionConfig
from nija_balances.engine.figures import ConnectionHistory, figures_from
from nija_balances.render.pnl import pnl_document

D = Decimal
START = datetime(2026, 11, 1, 12, tzinfo=UTC)
NOW = START + timedelta(days=3)
CONFIG = """
[platform.kraken]
[users.alice.kraken]
[users.alice.coinbase]
[users.bob.kraken]
"""


def config() -> Config:
    import tomllib

    return parse_document(tomllib.loads(CONFIG), None, CONFIG)


def connections(cfg: Config, uid: str) -> tuple[ConnectionConfig, ...]:
    user = cfg.user(uid)
    assert user is not None
    return user.connections


def snap(moment: datetime, usd: str, btc: str = "0", price: str = "50000") -> Snapshot:
    cash, amount = D(usd), D(btc)
    value = amount * D(price)
    return Snapshot(
        moment,
        cash=cash,
        equity=cash + value,
        assets=(AssetPosition("USD", cash, D(1)), AssetPosition("BTC", amount, D(price))),
    )


def fill(fid: str, order: str, moment: datetime, side: str, btc: str, price: str) -> Fill:
    amount = D(btc)
    return Fill(
        id=fid,
        order=order,
        time=moment,
        symbol="BTC/USD",
        side=side,  # type: ignore[arg-type]
        amount=amount,
        price=D(price),
        cost=amount * D(price),
        fee=D("1"),
    )


def alice_kraken() -> ConnectionHistory:
    """1,000 USD; buys 0.01 BTC at 50,000 (+1 fee), deposits 100 USD, sells at 60,000 (-1)."""
    t1, t2, t3 = (START + timedelta(days=d) for d in (1, 1.5, 2))
    return ConnectionHistory(
        snapshots=(
            snap(START, "1000"),
            snap(t1 + timedelta(hours=1), "499", "0.01", "50000"),
            snap(t3 + timedelta(hours=11), "1198", "0", "60000"),  # the end of yesterday
            snap(NOW, "1198", "0", "60000"),
        ),
        fills=(
            fill("f1", "o1", t1, "buy", "0.01", "50000"),
            fill("f2", "o2", t3, "sell", "0.01", "60000"),
        ),
        flows=(Flow("d1", "deposit", t2, "USD", D("100")),),
        trades_complete=True,
        flows_complete=True,
    )


def test_account_figures_are_the_sum_of_its_connections_and_fills_carry_realized_pnl() -> None:
    cfg = config()
    coinbase = ConnectionHistory(
        snapshots=(
            snap(START, "200"),
            snap(START + timedelta(days=2, hours=11), "250"),
            snap(NOW, "250"),
        ),
        flows=(Flow("d2", "deposit", START + timedelta(days=1), "USD", D("50")),),
        trades_complete=True,
        flows_complete=True,
    )
    keys = {c.name: c.key for c in connections(cfg, "alice")}
    figures = figures_from(
        cfg, {keys["kraken"]: alice_kraken(), keys["coinbase"]: coinbase}, now=NOW
    )
    alice = figures.users["alice"]
    kraken, cb = alice.connections
    # kraken: 1198 - 1000 - 100 deposited = 98 = realized (100 - 2 fees); nothing unrealized
    assert kraken.pnl.total_pnl == D("98")
    assert kraken.pnl.realized == D("98")
    assert kraken.pnl.unexplained == 0
    assert (kraken.pnl.total_trades, kraken.pnl.wins, kraken.pnl.losses) == (2, 1, 0)
    # coinbase: 250 - 200 - 50 deposited = 0
    assert cb.pnl.total_pnl == 0
    assert alice.pnl.total_pnl == D("98")
    assert alice.pnl.net_flow == D("150")
    assert alice.pnl.balance == D("1448")
    sell, buy = alice.trades
    assert (sell.fill.id, sell.realized) == ("f2", D("98"))
    assert (buy.fill.id, buy.realized) == ("f1", None)
    doc = pnl_document(figures)
    assert doc["users"]["alice"]["total_pnl"] == 98.0
    assert doc["users"]["alice"]["connections"]["kraken"]["win_rate"] == 1.0
    assert doc["users"]["alice"]["daily_pnl"] == 0.0
    assert doc["users"]["alice"]["complete"] is True, doc["users"]["alice"]["incomplete_reasons"]


def test_a_connection_never_synced_or_without_snapshots_leaves_the_account_incomplete() -> None:
    cfg = config()
    key = connections(cfg, "bob")[0].key
    unsynced = ConnectionHistory(
        snapshots=(snap(START, "500"), snap(NOW, "520")),
        reasons=("trade history never synced (run `nija sync`)",),
    )
    figures = figures_from(cfg, {key: unsynced}, now=NOW)
    bob = figures.users["bob"].pnl
    assert bob.total_pnl is None  # flows unknown: total P&L cannot be told
    assert bob.realized is None and bob.total_trades is None
    assert bob.balance == D("520")
    assert not bob.complete
    assert any("never synced" in r for r in bob.incomplete_reasons)
    alice = figures.users["alice"].pnl
    assert alice.balance is None
    assert any("no snapshot yet" in r for r in alice.incomplete_reasons)
    doc = pnl_document(figures)
    assert doc["users"]["bob"]["total_pnl"] is None
    assert doc["users"]["bob"]["complete"] is False
    assert doc["platform"]["balance"] is None
