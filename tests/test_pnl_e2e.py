"""`nija pnl` end to end, through ccxt over HTTP to each of the five mock exchanges.

Per exchange: `nija show --refresh` takes the first snapshot and `nija sync` reads the
history from before it; then, at the mock, nine fills in six orders (several pages: every
history page holds two records), a deposit and a withdrawal with a fee, the balances moved
to match and the price moved; `nija sync` and `nija show --refresh` again. `nija pnl --json`
must then equal the FIFO computation written here, to the cent. A sync that fails mid-paging
leaves the figures that need the missing history null (never 0) with the reason, and the
next good sync completes them without counting anything twice.

The first snapshot is dated ten minutes before today's midnight in the store (its `time`
moved back), so that the new records can be dated between the two snapshots at each
exchange's own resolution (Coinbase's transfers carry whole seconds) without sleeping, and
today's P&L has the end of yesterday to start from. Alpaca's cash transfers carry a date only
(counted at midnight UTC, before a snapshot taken the same day), so Alpaca's deposit and
withdrawal here are USDT wallet transfers, which carry their time.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict, deque
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest

from mockex import MOCKS, MockFlow, MockTrade, Position
from mockex.history import plain
from nija_balances import paths
from reliability.harness import Conn, MockThread, Run, Setup, nija

pytestmark = pytest.mark.network_mock

D = Decimal
EXCHANGES = sorted(MOCKS)
#: the quote currency of the traded pair, and the (par-valued) currency of the flows
QUOTE = {"kraken": "USD", "coinbase": "USD", "binance": "USDT", "okx": "USDT", "alpaca": "USD"}
MONEY = {"kraken": "USD", "coinbase": "USDC", "binance": "USDT", "okx": "USDT", "alpaca": "USDT"}
WITHDRAWAL_FEE = {"kraken": "2.5"}  # others: "1"
FILL_PATH = {
    "kraken": "/0/private/TradesHistory",
    "coinbase": "/api/v3/brokerage/orders/historical/fills",
    "binance": "/api/v3/myTrades",
    "okx": "/api/v5/trade/fills-history",
    "alpaca": "/v2/account/activities",  # fills and cash flows: the page breaks is a fill's
}
FLOW_PATH = {
    "kraken": "/0/private/Ledgers",
    "coinbase": "/v2/accounts/",
    "binance": "/sapi/v1/capital/deposit/hisrec",
    "okx": "/api/v5/asset/deposit-history",
    "alpaca": "/v2/wallets/transfers",
}
AGE = 600  # the first snapshot is dated this many seconds before today's midnight
DAY = 86_400_000
P0, P1 = D("60000"), D("62000")  # BTC at the first and at the second snapshot
#: (order, side, amount, price, fee in the quote): A buys, B wins, C loses, D buys, E draws
NEW_FILLS = (
    ("A", "buy", "0.1", "59000", "1.18"),
    ("A", "buy", "0.05", "59010", "0.59"),
    ("B", "sell", "0.3", "61000", "3.66"),
    ("C", "sell", "0.25", "58000", "2.90"),
    ("C", "sell", "0.05", "58100", "0.58"),
    ("D", "buy", "0.2", "57000", "2.28"),
    ("E", "sell", "0.05", "59030", "0.41"),
    ("F", "buy", "0.0125", "60000.5", "0.75"),
    ("F", "buy", "0.0125", "60001.25", "0.75"),
)
OLD_FILLS = (("O", "buy", "0.01", "50000", "0.5"), ("O", "sell", "0.01", "51000", "0.5"))


def trade_id(exchange: str, n: int) -> str:
    return {
        "kraken": f"T{n:04d}Q-TYUIO-PASDF",
        "coinbase": f"0000{n:04d}-7f6e-4d5c-8b9a-00000000c0de",
        "binance": str(28457 + n),
        "okx": str(107601752 + n),
        "alpaca": f"20261129{n:06d}::0a1b2c3d",
    }[exchange]


def order_id(exchange: str, order: str) -> str:
    return str(900 + ord(order)) if exchange == "binance" else f"order-{order}"


def flow_id(exchange: str, n: int) -> str:
    return str(4703879 + n) if exchange == "okx" else f"flow-{n}"


@dataclass
class Case:
    """One exchange's mock account, its connection, and what the account holds."""

    exchange: str
    conn: Conn
    server: MockThread
    holdings: dict[str, Decimal] = field(default_factory=dict)
    price: Decimal = P0
    trades: list[MockTrade] = field(default_factory=list)
    flows: list[MockFlow] = field(default_factory=list)

    @property
    def quote(self) -> str:
        return QUOTE[self.exchange]

    @property
    def money(self) -> str:
        return MONEY[self.exchange]

    def equity(self) -> Decimal:
        return sum(
            (a * (self.price if c == "BTC" else D(1)) for c, a in self.holdings.items()), D(0)
        )

    def publish(self) -> None:
        """Put holdings, price and history on the mock (on its own loop)."""
        mock, key = self.conn.mock, self.conn.api_key
        assert mock is not None
        trades, flows = list(self.trades), list(self.flows)
        holdings, price = dict(self.holdings), self.price

        def apply() -> None:
            account = mock.accounts[key]
            account.trades[:], account.flows[:] = trades, flows
            if self.exchange == "alpaca":
                account.cash = plain(holdings["USD"])
                account.positions[:] = [
                    Position("BTCUSD", plain(holdings["BTC"]), plain(price), "crypto"),
                    Position("USDTUSD", plain(holdings["USDT"]), "1", "crypto"),
                ]
            else:
                account.balances = {c: (plain(a), "0") for c, a in holdings.items()}
                mock.prices = {f"BTC/{self.quote}": plain(price)}

        self.server.call(apply)

    def fill(self, n: int, spec: tuple[str, str, str, str, str], at: int) -> None:
        order, side, amount, price, fee = spec
        self.trades.append(
            MockTrade(
                id=trade_id(self.exchange, n),
                order=order_id(self.exchange, order),
                time=at,
                symbol=f"BTC/{self.quote}",
                side=side,
                amount=amount,
                price=price,
                fee=fee,
            )
        )
        sign = 1 if side == "buy" else -1
        cost = D(amount) * D(price)
        self.holdings["BTC"] += sign * D(amount)
        self.holdings[self.quote] += -sign * cost - D(fee)

    def flow(self, n: int, kind: str, amount: str, at: int, fee: str = "0") -> None:
        self.flows.append(MockFlow(flow_id(self.exchange, n), kind, self.money, amount, at, fee))
        sign = 1 if kind == "deposit" else -1
        self.holdings[self.money] += sign * D(amount) - D(fee)


def open_case(exchange: str, server: MockThread, tmp_path: Path, mp: pytest.MonkeyPatch) -> Case:
    """A mock of `exchange` (history pages of two records) and alice's connection to it,
    holding 0.5 BTC and cash; two fills and a deposit from before the first snapshot."""
    mock = server.start(exchange)
    mock.history_page_size = 2
    setup = Setup(tmp_path / "config.toml", mp, server)
    conn = setup.add("alice", mock, {})
    mp.setenv("NIJA_CONFIG", str(setup.write()))
    case = Case(exchange, conn, server, holdings={"BTC": D("0.5"), QUOTE[exchange]: D("50000")})
    case.holdings.setdefault(MONEY[exchange], D("100"))
    day_ago = now_ms() - 2 * DAY
    for n, spec in enumerate(OLD_FILLS):
        case.fill(n, spec, day_ago + n * 60_000)  # ids grow with time, as Binance's do
    case.flow(0, "deposit", "5000", day_ago - 60_000)
    case.publish()
    return case


def now_ms() -> int:
    import time

    return int(time.time()) * 1000


def ok(*args: str) -> Run:
    run = nija(*args)
    assert run.code == 0, run
    return run


def first_snapshot_and_sync(case: Case) -> int:
    """(a) the first snapshot and the history before it; the snapshot is then dated
    `AGE` s before today's midnight (UTC), so that today's P&L is known too. Returns its
    time (ms)."""
    shown = ok("show", "--refresh", "--json").json()
    assert shown["connections"][0]["equity"] == cents(case.equity())
    ok("sync")
    start = (now_ms() // DAY) * DAY - AGE * 1000
    store = paths.cache_dir() / "balances.sqlite3"
    with sqlite3.connect(store) as db:
        assert db.execute("UPDATE snapshots SET time = ?", (start / 1000,)).rowcount == 1
    return start


def trade_and_move(case: Case, start: int) -> None:
    """(b) nine fills, a deposit and a withdrawal with a fee, 20 s apart after the first
    snapshot (at `start`, ms); the balances follow, and BTC moves to `P1`."""
    at = iter(range(start + 20_000, start + 400_000, 20_000))
    for n, spec in enumerate(NEW_FILLS[:2], start=10):
        case.fill(n, spec, next(at))
    case.flow(10, "deposit", "1000", next(at))
    for n, spec in enumerate(NEW_FILLS[2:6], start=12):
        case.fill(n, spec, next(at))
    case.flow(11, "withdrawal", "200", next(at), fee=WITHDRAWAL_FEE.get(case.exchange, "1"))
    for n, spec in enumerate(NEW_FILLS[6:], start=16):
        case.fill(n, spec, next(at))
    case.price = P1
    case.publish()


def cents(amount: Decimal) -> float:
    return float(amount.quantize(D("0.01"), rounding=ROUND_HALF_UP))


def fifo(case: Case, opening_btc: Decimal, e0: Decimal, e1: Decimal) -> dict[str, Any]:
    """The figures of DESIGN §10 computed here, apart from the engine: one FIFO queue of BTC
    lots (the opening lot at the first snapshot's price), fees in costs and proceeds."""
    with localcontext(prec=60):
        lots: deque[list[Decimal]] = deque([[opening_btc, opening_btc * P0]])
        by_order: dict[str, Decimal] = defaultdict(Decimal)
        fees = flow_fees = net_flow = D(0)
        new = case.trades[len(OLD_FILLS) :]  # the older ones are outside the span
        for t in new:
            amount, cost, fee = D(t.amount), D(t.amount) * D(t.price), D(t.fee)
            fees += fee
            if t.side == "buy":
                lots.append([amount, cost + fee])
                continue
            need, basis = amount, D(0)
            while need:
                lot = lots[0]
                take = min(need, lot[0])
                part = lot[1] * take / lot[0]
                basis, need = basis + part, need - take
                lot[0], lot[1] = lot[0] - take, lot[1] - part
                if not lot[0]:
                    lots.popleft()
            by_order[t.order] += cost - fee - basis
        for f in case.flows[1:]:  # the one before the first snapshot is outside the span
            net_flow += D(f.amount) if f.kind == "deposit" else -D(f.amount)
            flow_fees += D(f.fee)
        unrealized = case.holdings["BTC"] * P1 - sum((lot[1] for lot in lots), D(0))
        trading = sum(by_order.values(), D(0))
        realized = trading - flow_fees
        results = list(by_order.values())
        return {
            "total_pnl": cents(e1 - e0 - net_flow),
            "realized": cents(realized),
            "unrealized": cents(unrealized),
            "fees": cents(fees + flow_fees),
            "net_flow": cents(net_flow),
            "unexplained": 0.0,
            "total_trades": len({t.order for t in new}),
            "fills": len(new),
            "wins": sum(r >= D("0.01") for r in results),
            "losses": sum(r <= D("-0.01") for r in results),
            "draws": sum(abs(r) < D("0.01") for r in results),
            "trading_and_holding": cents(trading + unrealized - flow_fees),
        }


def figures(exchange: str) -> dict[str, Any]:
    doc = ok("pnl", "--json").json()
    alice = doc["users"]["alice"]
    assert set(alice["connections"]) == {exchange}
    return dict(alice["connections"][exchange])


NEEDS_TRADES: tuple[str, ...] = ("realized", "unrealized", "fees", "unexplained")
NEEDS_TRADES += ("total_trades", "fills", "wins", "losses", "draws", "win_rate")
#: the results need the flows too: lots come and go with them, and their fees are losses
NEEDS_FLOWS: tuple[str, ...] = (
    "total_pnl",
    "net_flow",
    "daily_pnl",
    "realized",
    "unrealized",
    "fees",
)
NEEDS_FLOWS += ("unexplained", "wins", "losses", "draws", "win_rate")


def assert_equals_fifo(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["complete"] is True, got["incomplete_reasons"]
    assert got["incomplete_reasons"] == []
    for name in ("total_pnl", "realized", "unrealized", "fees", "net_flow", "unexplained"):
        assert got[name] == want[name], name
    for name in ("total_trades", "fills", "wins", "losses", "draws"):
        assert got[name] == want[name], name
    # a deposit is not profit, a withdrawal is not a loss: the total is what trading and
    # holding made, less the withdrawal's fee, whatever moved in or out
    assert got["total_pnl"] == want["trading_and_holding"]
    assert got["daily_pnl"] == got["total_pnl"]  # the first snapshot ends yesterday
    assert want["net_flow"] == 800.0


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_pnl_equals_an_independent_fifo_over_several_pages(
    exchange: str, mocks: MockThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = open_case(exchange, mocks, tmp_path, monkeypatch)
    e0, opening_btc = case.equity(), case.holdings["BTC"]
    start = first_snapshot_and_sync(case)
    requests_before = mocks.call(lambda: case.conn.mock.count(FILL_PATH[exchange]))  # type: ignore[union-attr]
    trade_and_move(case, start)

    synced = ok("sync", "--json").json()
    (row,) = synced["connections"]
    assert row["status"] == "complete" and row["new_fills"] == 9 and row["new_flows"] == 2
    assert row["kinds"]["trades"]["pages"] >= 3  # two records a page
    assert mocks.call(lambda: case.conn.mock.count(FILL_PATH[exchange])) - requests_before >= 3  # type: ignore[union-attr]
    shown = ok("show", "--refresh", "--json").json()
    e1 = case.equity()
    assert shown["connections"][0]["equity"] == cents(e1)

    want = fifo(case, opening_btc, e0, e1)
    got = figures(exchange)
    assert_equals_fifo(got, want)
    assert (want["wins"], want["losses"], want["draws"]) == (1, 1, 1)
    assert got["win_rate"] == 0.5
    assert got["balance"] == cents(e1)


@pytest.mark.parametrize("kind", ["trades", "flows"])
@pytest.mark.parametrize("exchange", EXCHANGES)
def test_a_failed_sync_leaves_figures_null_with_the_reason_then_completes_once(
    exchange: str,
    kind: str,
    mocks: MockThread,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = open_case(exchange, mocks, tmp_path, monkeypatch)
    e0, opening_btc = case.equity(), case.holdings["BTC"]
    trade_and_move(case, first_snapshot_and_sync(case))
    path = FILL_PATH[exchange] if kind == "trades" else FLOW_PATH[exchange]
    paged = not (exchange == "alpaca" and kind == "flows")  # wallet transfers: one request
    case.conn.inject("http500", path=path, after=1 if paged else 0, times=1)

    failed = nija("sync", "--json")
    assert failed.code == 1, failed
    (row,) = failed.json()["connections"]
    assert row["kinds"][kind]["status"] == "failed"
    ok("show", "--refresh")
    got = figures(exchange)
    assert got["complete"] is False
    words = "trade history" if kind == "trades" else "deposit and withdrawal history"
    reasons = " | ".join(got["incomplete_reasons"])
    assert words in reasons and "500" in reasons, reasons
    for name in NEEDS_TRADES if kind == "trades" else NEEDS_FLOWS:
        assert got[name] is None, name  # unknown, never 0
    want = fifo(case, opening_btc, e0, case.equity())
    if kind == "trades":  # what the flows alone give still stands
        assert (got["total_pnl"], got["net_flow"]) == (want["total_pnl"], want["net_flow"])
    else:
        assert (got["total_trades"], got["fills"]) == (want["total_trades"], want["fills"])

    case.conn.clear()
    ok("sync")
    assert_equals_fifo(figures(exchange), want)
    trades = ok("trades", "--json").json()["trades"]
    ids = [t["id"] for t in trades]
    assert len(ids) == len(set(ids)) == len(case.trades)  # nothing stored twice
