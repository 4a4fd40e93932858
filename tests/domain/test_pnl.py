"""P&L worked by hand, to the cent: flows are not profit, fees are losses, FIFO lots across
partial closes, draws, days in a timezone, and what makes a figure incomplete."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal as D
from zoneinfo import ZoneInfo

from nija_balances.domain.history import AssetPosition, Fill, Flow, Snapshot
from nija_balances.domain.lots import Lot, realize
from nija_balances.domain.pnl import (
    PnL,
    combine,
    connection_pnl,
    daily_pnl,
    tracked_realization,
)

CASH = frozenset({"USD", "USDT", "USDC"})
# 19 January 20:00 UTC; `at(6)` is 20 January 02:00, so the first snapshot is also the last
# one of the day before and every worked example has a daily P&L.
T0 = datetime(2026, 1, 19, 20, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def snap(hours: float, usd: str = "0", **held: tuple[str, str]) -> Snapshot:
    """A snapshot holding `usd` and `held` (currency=(amount, price)); equity is the sum of
    the positions' values, as valuation computes it."""
    assets = (
        AssetPosition("USD", D(usd), D(1)),
        *(AssetPosition(c, D(a), D(p)) for c, (a, p) in held.items()),
    )
    equity = sum((a.value or D(0) for a in assets), D(0))
    return Snapshot(at(hours), D(usd), equity, assets)


def trade(
    fill_id: str,
    hours: float,
    side: str,
    amount: str,
    price: str,
    fee: str = "0",
    fee_currency: str | None = None,
    symbol: str = "BTC/USD",
    order: str | None = None,
) -> Fill:
    return Fill(
        fill_id,
        order or fill_id,
        at(hours),
        symbol,
        side,  # type: ignore[arg-type]
        D(amount),
        D(price),
        D(amount) * D(price),
        D(fee),
        fee_currency,
    )


def flow(flow_id: str, hours: float, kind: str, currency: str, amount: str, **kw: object) -> Flow:
    return Flow(flow_id, kind, at(hours), currency, D(amount), **kw)  # type: ignore[arg-type]


def pnl(
    snapshots: Iterable[Snapshot],
    fills: Iterable[Fill] = (),
    flows: Iterable[Flow] = (),
    *,
    now: datetime | None = None,
    tz: tzinfo = UTC,
    trades_complete: bool = True,
    flows_complete: bool = True,
    reasons: tuple[str, ...] = (),
) -> PnL:
    return connection_pnl(
        snapshots,
        fills,
        flows,
        now=now or at(6),
        tz=tz,
        cash=CASH,
        trades_complete=trades_complete,
        flows_complete=flows_complete,
        reasons=reasons,
    )


def test_a_deposit_is_not_profit() -> None:
    # 1000 + 500 deposited = 1500: total = 1500 − 1000 − 500 = 0.
    result = pnl([snap(0, "1000"), snap(6, "1500")], flows=[flow("d1", 1, "deposit", "USD", "500")])
    assert (result.total_pnl, result.net_flow, result.daily_pnl) == (0, 500, 0)
    assert (result.realized, result.unrealized, result.unexplained) == (0, 0, 0)
    assert result.complete and result.balance == D(1500)


def test_a_withdrawal_is_not_a_loss_but_its_fee_is() -> None:
    # Withdraw 300 USD with a 5 USD fee: the account pays 305 and holds 695.
    # F = −300; total = 695 − 1000 − (−300) = −5, the fee, realized.
    w = flow("w1", 1, "withdrawal", "USD", "300", fee=D(5))
    result = pnl([snap(0, "1000"), snap(6, "695")], flows=[w])
    assert (result.net_flow, result.total_pnl, result.realized, result.fees) == (-300, -5, -5, 5)
    assert result.unexplained == 0 and result.complete


def test_buys_and_sells_with_fees_close_lots_first_in_first_out() -> None:
    # buy 0.01 BTC @ 30000 = 300.00 + fee 0.60 -> lot A: 0.01 BTC costing 300.60
    # buy 0.01 BTC @ 32000 = 320.00 + fee 0.64 -> lot B: 0.01 BTC costing 320.64
    # sell 0.015 @ 35000 in one order of two fills:
    #   0.01  -> 350.00 − fee 0.70 = 349.30, closes lot A (300.60): +48.70
    #   0.005 -> 175.00 − fee 0.35 = 174.65, half of lot B (160.32): +14.33
    #   realized 63.03; lot B keeps 0.005 BTC costing 160.32
    # cash 1000 − 300.60 − 320.64 + 349.30 + 174.65 = 902.71
    # last: 0.005 BTC @ 36000 = 180.00 -> unrealized 180.00 − 160.32 = 19.68
    # total = 902.71 + 180.00 − 1000 = 82.71 = 63.03 + 19.68; fees 0.60+0.64+0.70+0.35 = 2.29
    fills = [
        trade("f1", 1, "buy", "0.01", "30000", "0.60", "USD"),
        trade("f2", 2, "buy", "0.01", "32000", "0.64", "USD"),
        trade("f3", 3, "sell", "0.01", "35000", "0.70", "USD", order="o3"),
        trade("f4", 3.5, "sell", "0.005", "35000", "0.35", "USD", order="o3"),
    ]
    result = pnl([snap(0, "1000"), snap(6, "902.71", BTC=("0.005", "36000"))], fills)
    assert (result.realized, result.unrealized, result.total_pnl) == (
        D("63.03"),
        D("19.68"),
        D("82.71"),
    )
    assert (result.fees, result.unexplained, result.daily_pnl) == (D("2.29"), 0, D("82.71"))
    assert (result.total_trades, result.fills, result.wins, result.losses, result.draws) == (
        3,
        4,
        1,
        0,
        0,
    )
    assert result.win_rate == 1 and result.complete

    replay = realize(fills, cash=CASH)
    assert replay.lots == {"BTC": (Lot(D("0.005"), D("160.32")),)}
    assert replay.fill_realized == {"f3": D("48.70"), "f4": D("14.33")}
    [order] = replay.orders
    assert (order.order, order.fills, order.realized, order.time) == ("o3", 2, D("63.03"), at(3.5))


def test_a_fee_in_the_base_currency_makes_the_lot_smaller() -> None:
    # buy 1 ETH @ 2000 with a 0.001 ETH fee: lot 0.999 ETH costing 2000.00
    # sell 0.999 ETH @ 2100 = 2097.90 − fee 2.10 = 2095.80: realized 95.80
    # fees: 0.001 ETH × 2000 = 2.00, + 2.10 = 4.10
    fills = [
        trade("f1", 1, "buy", "1", "2000", "0.001", "ETH", symbol="ETH/USD"),
        trade("f2", 2, "sell", "0.999", "2100", "2.10", "USD", symbol="ETH/USD"),
    ]
    result = pnl([snap(0, "3000"), snap(6, "3095.80")], fills)
    assert (result.realized, result.total_pnl, result.fees) == (D("95.80"), D("95.80"), D("4.10"))
    assert result.unexplained == 0


def test_results_under_one_cent_are_draws() -> None:
    # Four round trips of 1 XYZ bought at 10.00, sold at 10.005 (+0.005, a draw), 9.9901
    # (−0.0099, a draw), 9.99 (−0.01, a loss), 10.50 (+0.50, a win): 1 win, 1 loss, 2 draws.
    fills = []
    for n, sold in enumerate(("10.005", "9.9901", "9.99", "10.50")):
        fills += [
            trade(f"b{n}", 1 + n, "buy", "1", "10", symbol="XYZ/USD"),
            trade(f"s{n}", 1.5 + n, "sell", "1", sold, symbol="XYZ/USD"),
        ]
    result = pnl([snap(0, "100"), snap(6, "100.4851")], fills)
    assert (result.wins, result.losses, result.draws, result.win_rate) == (1, 1, 2, D("0.5"))
    assert (result.realized, result.total_trades) == (D("0.4851"), 8)


def test_daily_pnl_follows_the_days_of_the_timezone() -> None:
    # Cash only. New York is UTC−5 in January.
    #   19 Jan 22:00 UTC (17:00 NY)  990
    #   20 Jan 04:00 UTC (23:00 NY, still the 19th there)  1000
    #   20 Jan 06:00 UTC (01:00 NY)  1010
    #   20 Jan 10:00 UTC  deposit 20
    #   20 Jan 19:00 UTC (14:00 NY)  1050;  now 20 Jan 20:00 UTC
    # UTC day 20 Jan: 1050 − 990 (end of the 19th) − 20 = 40
    # NY day 20 Jan:  1050 − 1000 (end of the 19th in NY) − 20 = 30
    def usd(moment: datetime, equity: str) -> Snapshot:
        return Snapshot(moment, D(equity), D(equity), (AssetPosition("USD", D(equity), D(1)),))

    snaps = [
        usd(datetime(2026, 1, 19, 22, tzinfo=UTC), "990"),
        usd(datetime(2026, 1, 20, 4, tzinfo=UTC), "1000"),
        usd(datetime(2026, 1, 20, 6, tzinfo=UTC), "1010"),
        usd(datetime(2026, 1, 20, 19, tzinfo=UTC), "1050"),
    ]
    deposit = Flow("d", "deposit", datetime(2026, 1, 20, 10, tzinfo=UTC), "USD", D(20))
    now = datetime(2026, 1, 20, 20, tzinfo=UTC)
    ny = ZoneInfo("America/New_York")
    in_utc = connection_pnl(snaps, [], [deposit], now=now, tz=UTC, cash=CASH)
    in_ny = connection_pnl(snaps, [], [deposit], now=now, tz=ny, cash=CASH)
    assert (in_utc.daily_pnl, in_ny.daily_pnl) == (40, 30)
    assert in_utc.total_pnl == in_ny.total_pnl == 40
    # The 19th in New York has no snapshot on the day before it: unknown, not zero.
    day = daily_pnl(snaps, [deposit], day=date(2026, 1, 19), tz=ny, now=now, cash=CASH)
    assert day.pnl is None and day.reasons == ("no snapshot on 2026-01-18 (America/New_York)",)
    # Two days later, the 20th in New York still ends with its last snapshot: 30.
    later = now + timedelta(days=2)
    assert daily_pnl(snaps, [deposit], day=date(2026, 1, 20), tz=ny, now=later, cash=CASH).pnl == 30


def test_holdings_before_tracking_cost_their_value_at_the_first_snapshot() -> None:
    # 0.5 BTC bought at 20000 before tracking; at the first snapshot BTC is 40000, so the lot
    # costs 20000.00. Sold @ 42000 = 21000.00: realized 1000.00, not 11000.00. The earlier
    # fill is not counted in the figures.
    fills = [
        trade("old", -10, "buy", "0.5", "20000"),
        trade("f1", 1, "sell", "0.5", "42000"),
    ]
    snaps = [snap(0, BTC=("0.5", "40000")), snap(6, "21000")]
    result = pnl(snaps, fills)
    assert (result.realized, result.total_pnl, result.unexplained) == (1000, 1000, 0)
    assert (result.total_trades, result.fills) == (1, 1)
    # `nija trades` shows the same realized P&L per fill; the older fill closes nothing.
    replay = tracked_realization(snaps, fills, [], now=at(6), cash=CASH)
    assert replay is not None and replay.fill_realized == {"f1": 1000}
    assert tracked_realization([], fills, [], now=at(6), cash=CASH) is None


def test_a_deposited_asset_costs_its_value_at_deposit_time() -> None:
    # Deposit 0.1 BTC worth 4000.00; sell it @ 45000 = 4500.00 − fee 4.50 = 4495.50.
    # realized 495.50; total = 4495.50 − 0 − 4000 = 495.50.
    deposit = flow("d1", 1, "deposit", "BTC", "0.1", value=D(4000))
    sale = trade("f1", 2, "sell", "0.1", "45000", "4.50", "USD")
    result = pnl([snap(0), snap(6, "4495.50")], [sale], [deposit])
    assert (result.net_flow, result.realized, result.total_pnl) == (4000, D("495.50"), D("495.50"))
    assert result.unexplained == 0 and result.complete


def test_withdrawn_lots_leave_at_their_value_and_the_fee_is_a_loss() -> None:
    # Hold 1 BTC @ 30000. Withdraw 0.5 BTC worth 16000.00 (32000) + 0.0005 BTC fee:
    # lots lose 0.5005 BTC costing 15015.00 -> realized 16000 − 15015 = 985.00.
    # left 0.4995 BTC costing 14985.00, worth 15984.00 @ 32000 -> unrealized 999.00
    # total = 15984 − 30000 + 16000 = 1984.00 = 985 + 999; fee 0.0005 × 32000 = 16.00
    w = flow("w1", 1, "withdrawal", "BTC", "0.5", fee=D("0.0005"), value=D(16000))
    result = pnl([snap(0, BTC=("1", "30000")), snap(6, BTC=("0.4995", "32000"))], flows=[w])
    assert (result.realized, result.unrealized, result.total_pnl) == (985, 999, 1984)
    assert (result.fees, result.net_flow, result.unexplained) == (16, -16000, 0)


def test_a_trade_between_two_assets_is_valued_at_the_nearest_snapshot_price() -> None:
    # Hold 1 BTC @ 30000. At hour 5, buy 10 ETH @ 0.0666 BTC = 0.666 BTC; the nearest
    # snapshot (hour 6) has BTC at 31500, so the ETH is worth 10 × 0.0666 × 31500 = 20979.00.
    # The BTC given cost 0.666 × 30000 = 19980.00: realized 999.00, a closing order.
    # last: 0.334 BTC @ 31500 = 10521.00 (cost 10020.00) + 10 ETH @ 2100 = 21000.00
    # (cost 20979.00): unrealized 501 + 21 = 522; total 31521 − 30000 = 1521 = 999 + 522
    fills = [trade("f1", 5, "buy", "10", "0.0666", symbol="ETH/BTC")]
    last = snap(6, BTC=("0.334", "31500"), ETH=("10", "2100"))
    result = pnl([snap(0, BTC=("1", "30000")), last], fills)
    assert (result.realized, result.unrealized, result.total_pnl) == (999, 522, 1521)
    assert (result.wins, result.unexplained) == (1, 0)


def test_without_a_snapshot_nothing_is_known() -> None:
    result = pnl([], [trade("f1", 1, "buy", "1", "1")])
    assert result == PnL(*(None,) * 14, incomplete_reasons=("no snapshot yet",))
    assert not result.complete


def test_missing_flow_history_leaves_the_flow_figures_unknown() -> None:
    # Nothing says whether the 500 came from a deposit: total, daily and unexplained are
    # unknown, never 500 or 0; so are the results, which withdrawals' fees and lots enter;
    # the trade counts stand.
    result = pnl([snap(0, "1000"), snap(6, "1500")], flows_complete=False)
    assert (result.net_flow, result.total_pnl, result.daily_pnl, result.unexplained) == (None,) * 4
    assert (result.realized, result.unrealized, result.fees) == (None,) * 3
    assert (result.wins, result.losses, result.draws, result.win_rate) == (None,) * 4
    assert (result.total_trades, result.fills) == (0, 0)
    assert result.incomplete_reasons == ("deposit and withdrawal history incomplete",)


def test_missing_trade_history_leaves_the_trade_figures_unknown() -> None:
    result = pnl(
        [snap(0, "1000"), snap(6, "1100")], trades_complete=False, reasons=("kraken: unsupported",)
    )
    assert (result.total_pnl, result.daily_pnl, result.net_flow) == (100, 100, 0)
    assert (result.realized, result.unrealized, result.fees, result.unexplained) == (None,) * 4
    assert (result.total_trades, result.fills, result.wins, result.win_rate) == (None,) * 4
    assert result.incomplete_reasons == ("kraken: unsupported", "trade history incomplete")


def test_a_first_snapshot_today_gives_no_daily_pnl() -> None:
    result = pnl([snap(5, "1000"), snap(6, "1010")])
    assert result.daily_pnl is None and result.total_pnl == 10
    assert result.incomplete_reasons == ("no snapshot on 2026-01-19 (UTC)",)


def test_a_sale_beyond_the_known_lots_has_an_unknown_result() -> None:
    # Hold 0.1 BTC @ 30000 (3000.00) and 1000 USD. Sell 0.05 @ 31000 = 1550.00 against
    # 1500.00 of cost: +50.00. Then sell 0.1 @ 31000 = 3100.00 with 0.05 BTC left: its cost
    # is unknown, so it is neither a win nor a loss and stays out of realized; the
    # unexplained 1600.00 (3100 − the 1500 known) shows the missing history.
    fills = [trade("f1", 1, "sell", "0.05", "31000"), trade("f2", 2, "sell", "0.1", "31000")]
    result = pnl([snap(0, "1000", BTC=("0.1", "30000")), snap(6, "5650")], fills)
    assert (result.realized, result.total_pnl, result.unexplained) == (50, 1650, 1600)
    assert (result.wins, result.losses, result.total_trades) == (1, 0, 2)
    assert result.incomplete_reasons == ("fill f2: 0.05 BTC beyond the known lots",)
    assert realize(fills, {"BTC": [Lot(D("0.1"), D(3000))]}, cash=CASH).fill_realized == {
        "f1": 50,
        "f2": None,
    }


def test_an_unpriced_asset_is_named_not_valued_at_zero() -> None:
    last = Snapshot(
        at(6),
        D(1000),
        D(1000),
        (AssetPosition("USD", D(1000), D(1)), AssetPosition("XYZ", D(5), None)),
    )
    deposit = flow("d1", 1, "deposit", "XYZ", "5")
    result = pnl([snap(0, "1000"), last], flows=[deposit])
    assert result.net_flow is None and result.total_pnl is None
    assert result.incomplete_reasons == (
        "XYZ has no value at the last snapshot",
        "deposit d1 of XYZ has no known value",
    )


def test_odd_data_never_raises_and_is_named() -> None:
    fills = [
        trade("nan", 1, "buy", "1", "NaN"),
        trade("zero", 1, "buy", "0", "100"),
        trade("side", 1, "short", "1", "100"),
        trade("sym", 1, "buy", "1", "100", symbol="BTCUSD"),
        trade("fee", 1, "sell", "1", "1", fee="5", fee_currency="USD"),
        trade("third", 1, "buy", "1", "1", fee="1", fee_currency="BNB"),
    ]
    flows = [
        flow("bonus", 1, "bonus", "USD", "5"),
        flow("neg", 1, "deposit", "USD", "-5"),
        flow("inf", 1, "withdrawal", "BTC", "Infinity"),
    ]
    bad = Snapshot(at(6), D("NaN"), D("NaN"), (AssetPosition("BTC", D("NaN"), D(1)),))
    result = pnl([snap(0, "100"), bad], fills, flows)
    assert not result.complete and result.total_pnl is None and result.balance is None
    assert (
        "fill nan left out: amount, price, cost and fee must be numbers ≥ 0"
        in result.incomplete_reasons
    )
    assert "fill side left out: side 'short' is not buy or sell" in result.incomplete_reasons
    assert "fill sym left out: symbol 'BTCUSD' is not BASE/QUOTE" in result.incomplete_reasons
    assert "fill fee left out: its fee is more than it received" in result.incomplete_reasons
    assert "fill third: 1 BNB beyond the known lots" in result.incomplete_reasons
    assert result.fills == 6 and result.total_trades == 6


def test_combining_connections_sums_and_keeps_the_unknown_unknown() -> None:
    a = pnl([snap(0, "1000"), snap(6, "1100")])
    b = pnl([snap(0, "500"), snap(6, "450")], flows_complete=False)
    both = combine({"kraken": a, "coinbase": b})
    assert (both.balance, both.realized, both.total_trades) == (1550, None, 0)
    assert both.total_pnl is None and both.net_flow is None and both.win_rate is None
    assert both.incomplete_reasons == ("coinbase: deposit and withdrawal history incomplete",)
    # 1 win and 1 loss here, 2 wins and 0 losses there: 3 / (3 + 1) = 0.75, not the mean
    # of 0.5 and 1.
    x = PnL(*(D(1),) * 8, 2, 2, wins=1, losses=1, draws=0, win_rate=D("0.5"))
    y = PnL(*(D(2),) * 8, 3, 3, wins=2, losses=0, draws=1, win_rate=D(1))
    xy = combine({"a": x, "b": y})
    assert (xy.total_pnl, xy.fills, xy.draws) == (3, 5, 1)
    assert (xy.wins, xy.losses, xy.win_rate) == (3, 1, D("0.75"))
    assert xy.complete and combine({}).complete and combine({}).balance == 0
