"""Property tests of the P&L: lots never go negative, the figures always add up, a complete
and consistent record leaves nothing unexplained, and neither pages, input order nor the
grouping of connections changes a figure."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nija_balances.domain.history import AssetPosition, Fill, Flow, Snapshot
from nija_balances.domain.lots import EXACT, realize
from nija_balances.domain.pnl import PnL, combine, connection_pnl

D = Decimal
CASH = frozenset({"USD", "USDT"})
COINS = ("BTC", "ETH")
# The first snapshot is on the 19th, the last on the 20th: every record has a daily P&L.
T0 = datetime(2026, 1, 19, 23, tzinfo=UTC)
LAST_NOT_BEFORE = datetime(2026, 1, 20, 0, 30, tzinfo=UTC)
PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

amounts = st.decimals(min_value=D("0.0001"), max_value=D(5), places=4)
money = st.decimals(min_value=D("0.01"), max_value=D(20000), places=2)
prices = st.decimals(min_value=D("0.01"), max_value=D(60000), places=2)
fractions = st.decimals(min_value=D("0.01"), max_value=D(1), places=2)


@dataclass
class Record:
    """A connection's history generated from one sequence of events, so its snapshots agree
    with its fills and flows to the cent."""

    snapshots: list[Snapshot]
    fills: list[Fill]
    flows: list[Flow]

    @property
    def now(self) -> datetime:
        return max(s.time for s in self.snapshots)

    def pnl(self, **kw: Any) -> PnL:
        return connection_pnl(
            self.snapshots, self.fills, self.flows, now=self.now, tz=UTC, cash=CASH, **kw
        )


def snapshot(
    moment: datetime, usd: Decimal, held: dict[str, Decimal], price: dict[str, Decimal]
) -> Snapshot:
    assets = (
        AssetPosition("USD", usd, D(1)),
        *(AssetPosition(c, held[c], price[c]) for c in COINS),
    )
    return Snapshot(moment, usd, sum((a.value or D(0) for a in assets), D(0)), assets)


@st.composite
def records(draw: st.DrawFn, prefix: str = "") -> Record:
    usd = draw(money)
    held = {c: draw(st.sampled_from([D(0), draw(amounts)])) for c in COINS}
    price = {c: draw(prices) for c in COINS}
    snaps, fills, flows = [snapshot(T0, usd, held, price)], [], []
    moment = T0
    fee_currency: str | None
    for n in range(draw(st.integers(0, 25))):
        moment += timedelta(minutes=draw(st.integers(1, 40)))
        ident = f"{prefix}{n}"
        coin = draw(st.sampled_from(COINS))
        kind = draw(st.sampled_from(["buy", "sell", "cross", "deposit", "withdrawal", "snapshot"]))
        fee = draw(st.sampled_from([D(0), D("0.01"), D("1.25")]))
        in_base = draw(st.booleans())
        if kind == "buy":
            amount, cost = draw(amounts), draw(money)
            base_fee = (amount * draw(fractions) / 10).quantize(D("0.0001"), ROUND_DOWN)
            fill_fee, fee_currency = (base_fee, coin) if in_base else (fee, "USD")
            fills.append(
                Fill(
                    ident,
                    f"o{ident}",
                    moment,
                    f"{coin}/USD",
                    "buy",
                    amount,
                    cost / amount,
                    cost,
                    fill_fee,
                    fee_currency,
                )
            )
            usd -= cost + (0 if in_base else fee)
            held[coin] += amount - (base_fee if in_base else 0)
        elif kind == "sell" and held[coin] > 0:
            amount = (held[coin] * draw(fractions)).quantize(D("0.0001"), ROUND_DOWN)
            base_fee = min(D("0.0001"), held[coin] - amount) if in_base else D(0)
            cost = draw(money)
            if amount > 0:
                fee = min(fee, cost)  # a fee above the proceeds is odd data
                # No fee currency means the quote currency.
                quote_fee: tuple[Decimal, str | None] = (fee, draw(st.sampled_from(["USD", None])))
                fill_fee, fee_currency = (base_fee, coin) if in_base else quote_fee
                fills.append(
                    Fill(
                        ident,
                        f"o{ident}",
                        moment,
                        f"{coin}/USD",
                        "sell",
                        amount,
                        cost / amount,
                        cost,
                        fill_fee,
                        fee_currency,
                    )
                )
                usd += cost - (0 if in_base else fee)
                held[coin] -= amount + base_fee
        elif kind == "cross" and held["BTC"] > 0:
            # Buy ETH with BTC: ETH/BTC at a price with 4 places.
            spent = (held["BTC"] * draw(fractions)).quantize(D("0.0001"), ROUND_DOWN)
            got = draw(amounts)
            if spent > 0:
                fills.append(
                    Fill(
                        ident,
                        f"o{ident}",
                        moment,
                        "ETH/BTC",
                        "buy",
                        got,
                        spent / got,
                        spent,
                        D(0),
                        None,
                    )
                )
                held["BTC"] -= spent
                held["ETH"] += got
        elif kind == "deposit":
            currency = draw(st.sampled_from(["USD", coin]))
            amount = draw(money if currency == "USD" else amounts)
            value = draw(st.sampled_from([None, draw(money)])) if currency != "USD" else None
            flows.append(Flow(ident, "deposit", moment, currency, amount, value=value))
            if currency == "USD":
                usd += amount
            else:
                held[coin] += amount
        elif kind == "withdrawal":
            if in_base and held[coin] > 0:
                amount = (held[coin] * draw(fractions)).quantize(D("0.0001"), ROUND_DOWN)
                coin_fee = min(D("0.0001"), held[coin] - amount)
                flows.append(
                    Flow(ident, "withdrawal", moment, coin, amount, coin_fee, value=draw(money))
                )
                held[coin] -= amount + coin_fee
            else:
                amount = draw(money)
                flows.append(Flow(ident, "withdrawal", moment, "USD", amount, fee))
                usd -= amount + fee
        elif kind == "snapshot":
            price = {c: draw(prices) for c in COINS}
            snaps.append(snapshot(moment, usd, held, price))
    price = {c: draw(prices) for c in COINS}
    snaps.append(snapshot(max(moment, LAST_NOT_BEFORE) + timedelta(minutes=1), usd, held, price))
    return Record(snaps, fills, flows)


MONEY_FIELDS = (
    "balance",
    "daily_pnl",
    "total_pnl",
    "realized",
    "unrealized",
    "fees",
    "net_flow",
    "unexplained",
)


@PROPS
@given(record=records())
def test_a_complete_consistent_record_leaves_nothing_unexplained(record: Record) -> None:
    result = record.pnl()
    assert result.incomplete_reasons == ()
    assert result.unexplained == 0
    with localcontext(EXACT):
        assert result.realized + result.unrealized == result.total_pnl  # type: ignore[operator]
    assert result.daily_pnl is not None and result.balance == record.snapshots[-1].equity


@PROPS
@given(record=records(), data=st.data())
def test_the_figures_always_add_up_even_when_history_is_missing(
    record: Record, data: st.DataObject
) -> None:
    # Drop some fills and flows (missed history) and move others: sales beyond the lots,
    # unknown costs. Whatever is known still adds up exactly.
    fills = (
        data.draw(st.lists(st.sampled_from(record.fills), unique_by=lambda f: f.id))
        if record.fills
        else []
    )
    flows = (
        data.draw(st.lists(st.sampled_from(record.flows), unique_by=lambda f: f.id))
        if record.flows
        else []
    )
    shift = data.draw(st.timedeltas(timedelta(hours=-2), timedelta(hours=2)))
    fills = [replace(f, time=f.time + shift) if i % 2 else f for i, f in enumerate(fills)]
    result = Record(record.snapshots, fills, flows).pnl()
    assert result.realized is not None and result.unrealized is not None
    assert result.total_pnl is not None and result.unexplained is not None
    with localcontext(EXACT):
        assert result.realized + result.unrealized + result.unexplained == result.total_pnl


@PROPS
@given(record=records(), data=st.data())
def test_lots_never_go_negative(record: Record, data: st.DataObject) -> None:
    fills = data.draw(st.permutations(record.fills))
    flows = (
        data.draw(st.lists(st.sampled_from(record.flows), unique_by=lambda f: f.id))
        if record.flows
        else []
    )
    for lots in realize(fills, cash=CASH, flows=flows).lots.values():
        assert all(lot.amount >= 0 for lot in lots)


@PROPS
@given(record=records(), data=st.data())
def test_pages_and_input_order_change_nothing(record: Record, data: st.DataObject) -> None:
    # Fetched in overlapping pages, in any order: each id counts once, in time order.
    def paged(items: list[Any]) -> list[Any]:
        size = data.draw(st.integers(1, 5))
        pages = [items[max(i - 1, 0) : i + size] for i in range(0, len(items), size)]
        return data.draw(st.permutations([x for page in pages for x in page]))

    again = Record(
        data.draw(st.permutations(record.snapshots)), paged(record.fills), paged(record.flows)
    )
    assert again.pnl() == record.pnl()


@PROPS
@given(parts=st.lists(st.tuples(records(), st.booleans()), min_size=1, max_size=4))
def test_combined_connections_add_up_to_the_cent(parts: list[tuple[Record, bool]]) -> None:
    pnls = {f"c{i}": r.pnl(flows_complete=whole) for i, (r, whole) in enumerate(parts)}
    account = combine(pnls)
    for name in MONEY_FIELDS:
        values = [getattr(p, name) for p in pnls.values()]
        with localcontext(EXACT):
            expected = None if None in values else sum(values, D(0))
        assert getattr(account, name) == expected, name
    assert account.complete == all(p.complete for p in pnls.values())
    assert account.fills == sum(p.fills or 0 for p in pnls.values())
    if account.unexplained is not None:
        with localcontext(EXACT):
            assert account.realized + account.unrealized + account.unexplained == account.total_pnl  # type: ignore[operator]
    assert {f.name for f in fields(PnL)} >= set(MONEY_FIELDS)
