"""FIFO lots per currency, replayed over fills and flows, exactly, in Decimal.

Pure functions: no I/O, and nothing here raises on odd data. An unusable fill, a disposal
beyond the known lots or a lot of unknown cost leaves the result it would change unknown
(None) and says why in `reasons`; the lots themselves never go negative.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, localcontext
from typing import TypeVar

from nija_balances.domain.history import Fill, Flow, Prices, Snapshot, SnapshotPrices, flow_value
from nija_balances.domain.models import ZERO

ONE = Decimal(1)
#: Wide enough that every sum of money and amounts here is exact; no signal raises.
EXACT = Context(prec=80, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[])
#: A quotient (part of a lot's cost, a value from a price ratio) is cut to 18 places, finer
#: than any currency's unit, so that sums and differences of costs stay exact in `EXACT`.
PLACES = Decimal("1e-18")
#: Bumped whenever a replay of the same inputs could give another `Realization`: replays
#: kept from an older version are then replayed again (`engine.replay_cache`).
REPLAY_VERSION = 1


def _cut(quotient: Decimal) -> Decimal:
    return quotient.quantize(PLACES)


@dataclass(frozen=True)
class Lot:
    """An amount of one currency acquired together, and what it cost (None: unknown)."""

    amount: Decimal
    cost: Decimal | None


@dataclass(frozen=True)
class ClosedOrder:
    """An order that disposed of lots and its realized result (None: its cost is unknown)."""

    order: str
    symbol: str
    time: datetime  # of its last fill
    fills: int
    realized: Decimal | None


@dataclass(frozen=True)
class Realization:
    """FIFO lots replayed over fills and flows.

    `realized` sums the known results: closing orders, conversions between cash currencies,
    withdrawals (which dispose of their lots at their value) and flow fees (losses).
    `fill_realized` has an entry for every fill that disposed of lots. `fills` and
    `order_count` count the fills replayed (each id once) and their orders; `priced` says
    that the replay consulted snapshot prices (a fill between two non-cash currencies, a
    flow or flow fee without a value of its own), so its result depends on which snapshots
    it was given.
    """

    orders: tuple[ClosedOrder, ...]
    lots: Mapping[str, tuple[Lot, ...]]
    fill_realized: Mapping[str, Decimal | None]
    realized: Decimal
    fees: Decimal
    reasons: tuple[str, ...]
    fills: int = 0
    order_count: int = 0
    priced: bool = False


def sum_or_none(*parts: Decimal | None) -> Decimal | None:
    """The sum, or None when any part is unknown."""
    total = ZERO
    for part in parts:
        if part is None:
            return None
        total += part
    return total


def _fine(*amounts: Decimal) -> bool:
    return all(a.is_finite() and a >= 0 for a in amounts)


class _Watched:
    """Prices that remember whether they were consulted."""

    def __init__(self, prices: Prices) -> None:
        self._prices = prices
        self.consulted = False

    def near(self, currency: str, moment: datetime) -> Decimal | None:
        self.consulted = True
        return self._prices.near(currency, moment)


class _Ledger:
    """FIFO lots per non-cash currency and the results of disposing of them."""

    def __init__(
        self, cash: frozenset[str], prices: Prices, opening: Mapping[str, Iterable[Lot]]
    ) -> None:
        self.cash = cash
        self.prices = _Watched(prices)
        self.lots: dict[str, deque[Lot]] = {}
        for currency, lots in opening.items():
            for lot in lots:
                self.put(currency, lot.amount, lot.cost)
        self.realized = ZERO
        self.fees = ZERO
        self.reasons: list[str] = []
        self.orders: dict[str, tuple[str, datetime, int, Decimal | None]] = {}
        self.fill_realized: dict[str, Decimal | None] = {}

    def put(self, currency: str, amount: Decimal, cost: Decimal | None) -> None:
        if currency not in self.cash and _fine(amount) and (amount > 0 or cost):
            self.lots.setdefault(currency, deque()).append(Lot(amount, cost))

    def take(self, currency: str, amount: Decimal, label: str) -> Decimal | None:
        """Dispose of `amount` first in, first out: what it cost, or None (with a reason)
        when that goes beyond the known lots or a lot's cost is unknown."""
        if currency in self.cash:
            return amount
        lots = self.lots.setdefault(currency, deque())
        need, cost, unknown = amount, ZERO, False
        while lots and (need > 0 or lots[0].amount == 0):
            lot = lots.popleft()
            part = lot.cost
            if lot.amount <= need:
                need -= lot.amount
            else:
                part = None if lot.cost is None else _cut(lot.cost * need / lot.amount)
                rest = None if lot.cost is None or part is None else lot.cost - part
                lots.appendleft(Lot(lot.amount - need, rest))
                need = ZERO
            unknown = unknown or part is None
            cost += part or ZERO
        if need > 0:
            self.reasons.append(f"{label}: {need} {currency} beyond the known lots")
            return None
        if unknown:
            self.reasons.append(f"{label}: the cost of its {currency} is unknown")
            return None
        return cost

    def units(self, fill: Fill) -> dict[str, Decimal | None]:
        """What one unit of the fill's base and quote was worth at its time."""
        quote: Decimal | None = ONE if fill.quote in self.cash else None
        base: Decimal | None = ONE if fill.base in self.cash else None
        if quote is None and base is None:
            quote = self.prices.near(fill.quote, fill.time)
        if base is None and quote is not None:
            base = fill.price * quote
        elif base is None:
            base = self.prices.near(fill.base, fill.time)
        if quote is None and base is not None and fill.price > 0:
            quote = base / fill.price
        return {fill.quote: quote, fill.base: base}

    def fill(self, fill: Fill) -> None:
        label = f"fill {fill.id}"
        base, quote, fee = fill.base, fill.quote, fill.fee
        fee_currency = fill.fee_currency or quote
        if fill.side == "buy":
            give, give_amount, get, get_amount = quote, fill.cost, base, fill.amount
        else:
            give, give_amount, get, get_amount = base, fill.amount, quote, fill.cost
        if fee_currency == give:
            give_amount += fee
        elif fee_currency == get:
            get_amount -= fee
        if odd := _odd_fill(fill, get_amount):
            self.reasons.append(f"{label} left out: {odd}")
            return
        give_cost = self.take(give, give_amount, label)
        fee_cost = ZERO if not fee or fee_currency in (give, get) else None
        if fee_cost is None:
            fee_cost = self.take(fee_currency, fee, label)
        unit = self.units(fill)
        self._fill_fee(fill, fee_currency, fee_cost, unit)
        closing = give not in self.cash
        got: Decimal | None
        if get in self.cash:
            got = get_amount
        elif not closing:
            got = give_amount  # a buy's lot costs what was paid for it, fee included
        else:
            per_unit = unit[get]
            got = None if per_unit is None else _cut(get_amount * per_unit)
            if got is None:
                self.reasons.append(f"{label}: no price for {get} near its time")
        if get not in self.cash:
            carried = sum_or_none(give_cost, fee_cost)
            self.put(get, get_amount, (got if got is not None else carried) if closing else carried)
        result = None if got is None else sum_or_none(got, _minus(give_cost), _minus(fee_cost))
        if not closing:
            if get in self.cash and result is not None:
                self.realized += result  # a conversion between cash currencies
            return
        self.fill_realized[fill.id] = result
        symbol, _, fills, so_far = self.orders.get(
            fill.order_key, (fill.symbol, fill.time, 0, ZERO)
        )
        self.orders[fill.order_key] = (symbol, fill.time, fills + 1, sum_or_none(so_far, result))

    def _fill_fee(
        self, fill: Fill, currency: str, cost: Decimal | None, unit: dict[str, Decimal | None]
    ) -> None:
        worth: Decimal | None
        if not fill.fee:
            return
        if currency in self.cash:
            worth = fill.fee
        elif currency in unit:
            per_unit = unit[currency]
            worth = None if per_unit is None else _cut(fill.fee * per_unit)
        else:
            worth = cost
        if worth is None:
            self.reasons.append(f"fill {fill.id}: its fee in {currency} has no price")
        else:
            self.fees += worth

    def flow(self, flow: Flow) -> None:
        label = f"{flow.kind} {flow.id}"
        fee, same = flow.fee, (flow.fee_currency or flow.currency) == flow.currency
        if (
            flow.sign == 0
            or not _fine(flow.amount, fee)
            or (flow.sign > 0 and same and fee > flow.amount)
        ):
            self.reasons.append(f"{label} left out: not a deposit or withdrawal of an amount ≥ 0")
            return
        value = flow_value(flow, self.prices, self.cash)
        fee_currency = flow.fee_currency or flow.currency
        fee_cost: Decimal | None = ZERO
        if fee and not same:
            fee_cost = self.take(fee_currency, fee, label)
        fee_worth = self._flow_fee(flow, value, fee_cost)
        if flow.sign > 0:
            credit = flow.amount - fee if same else flow.amount
            cost = value
            if same and fee_worth is not None:
                cost = sum_or_none(value, -fee_worth)
                self.realized -= fee_worth
            self.put(flow.currency, credit, cost)
        else:
            debit = flow.amount + fee if same else flow.amount
            given = self.take(flow.currency, debit, label)
            if value is not None and given is not None:
                self.realized += value - given  # the withdrawn lots leave at their value
        if not same and fee_cost is not None:
            self.realized -= fee_cost

    def _flow_fee(self, flow: Flow, value: Decimal | None, cost: Decimal | None) -> Decimal | None:
        currency = flow.fee_currency or flow.currency
        worth: Decimal | None = None
        if not flow.fee:
            return ZERO
        if currency in self.cash:
            worth = flow.fee
        elif currency == flow.currency and value is not None and flow.amount > 0:
            worth = _cut(value * flow.fee / flow.amount)
        elif (price := self.prices.near(currency, flow.time)) is not None:
            worth = flow.fee * price
        elif currency != flow.currency:
            worth = cost
        if worth is None:
            self.reasons.append(f"{flow.kind} {flow.id}: its fee in {currency} has no price")
        else:
            self.fees += worth
        return worth

    def result(self, fills: int, order_count: int) -> Realization:
        orders = tuple(
            ClosedOrder(order, symbol, when, fills, realized)
            for order, (symbol, when, fills, realized) in self.orders.items()
        )
        known = sum((o.realized for o in orders if o.realized is not None), ZERO)
        return Realization(
            orders=orders,
            lots={c: tuple(lots) for c, lots in self.lots.items() if lots},
            fill_realized=dict(self.fill_realized),
            realized=self.realized + known,
            fees=self.fees,
            reasons=tuple(self.reasons),
            fills=fills,
            order_count=order_count,
            priced=self.prices.consulted,
        )


def _minus(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else -amount


def _odd_fill(fill: Fill, received: Decimal) -> str | None:
    """Why a fill cannot be used, or None."""
    if fill.side not in ("buy", "sell"):
        return f"side {fill.side!r} is not buy or sell"
    if not fill.base or not fill.quote or fill.base == fill.quote:
        return f"symbol {fill.symbol!r} is not BASE/QUOTE"
    if not _fine(fill.amount, fill.price, fill.cost, fill.fee):
        return "amount, price, cost and fee must be numbers ≥ 0"
    if received < 0:
        return "its fee is more than it received"
    return None


_Event = TypeVar("_Event", bound="Fill | Flow")


def _rank(event: Fill | Flow) -> int:
    """At one instant: deposits, then fills, then withdrawals."""
    if isinstance(event, Fill):
        return 1
    return 0 if event.kind == "deposit" else 2


def in_order(events: Iterable[_Event]) -> list[_Event]:
    """One event per id (the first in order), in order of time, rank and id."""
    seen: set[tuple[bool, str]] = set()
    ordered: list[_Event] = []
    for event in sorted(events, key=lambda e: (e.time, _rank(e), e.id)):
        key = (isinstance(event, Fill), event.id)
        if key not in seen:
            seen.add(key)
            ordered.append(event)
    return ordered


def realize(
    fills: Iterable[Fill],
    opening_lots: Mapping[str, Iterable[Lot]] | None = None,
    *,
    cash: Collection[str],
    flows: Iterable[Flow] = (),
    prices: SnapshotPrices | None = None,
) -> Realization:
    """Replay fills and flows, first in, first out per currency, from the opening lots.

    Each id counts once, in order of time, so pages and input order change nothing. A buy's
    fee enters its lot's cost (a fee in the base currency makes the lot smaller); a sell's
    fee reduces its proceeds; a fee in a third currency disposes of its lots at cost. Cash
    currencies (at par) have no lots. `prices` value fills between two non-cash currencies
    and flows that carry no value of their own.
    """
    with localcontext(EXACT):
        ledger = _Ledger(frozenset(cash), prices or SnapshotPrices(()), opening_lots or {})
        events: list[Fill | Flow] = [*fills, *flows]
        count, orders = 0, set[str]()
        for event in in_order(events):
            if isinstance(event, Fill):
                count += 1
                orders.add(event.order_key)
                ledger.fill(event)
            else:
                ledger.flow(event)
        return ledger.result(count, len(orders))


def opening_lots(snapshot: Snapshot, cash: Collection[str]) -> dict[str, tuple[Lot, ...]]:
    """Lots for what a snapshot holds: each non-cash amount costs its value there (None:
    unpriced)."""
    lots: dict[str, tuple[Lot, ...]] = {}
    for asset in snapshot.assets:
        if asset.currency not in cash and _fine(asset.amount) and asset.amount > 0:
            lots[asset.currency] = (*lots.get(asset.currency, ()), Lot(asset.amount, asset.value))
    return lots
