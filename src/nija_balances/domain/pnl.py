"""Profit and loss of a connection from its stored history, exactly, in Decimal.

Pure functions over snapshots, fills and flows: no I/O, and nothing here raises on odd data.
An unusable fill, an unpriced asset or a sale beyond the known lots is left out of the figure
it would change and named in `incomplete_reasons`; a figure that cannot be known at all is
None, never zero. Figures cover the tracked span, from the first snapshot to the last one at
or before `now`: fills and flows before it enter only through the holdings they left (valued
at the first snapshot), later ones wait for the next snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal, localcontext

from nija_balances.domain.history import (
    Fill,
    Flow,
    Snapshot,
    SnapshotPrices,
    as_utc,
    flow_value,
)
from nija_balances.domain.lots import (
    EXACT,
    Realization,
    in_order,
    opening_lots,
    realize,
    sum_or_none,
)
from nija_balances.domain.models import ZERO

#: A closing order whose result is under this in absolute value is a draw.
DRAW_UNDER = Decimal("0.01")
#: More reasons than this are summed up as "and N more" (odd data can give thousands).
MAX_REASONS = 20


def _less(first: Decimal | None, *rest: Decimal | None) -> Decimal | None:
    """first − Σ rest, or None when any is unknown."""
    return sum_or_none(first, *(None if r is None else -r for r in rest))


def net_flow(
    flows: Iterable[Flow], *, prices: SnapshotPrices, cash: Collection[str]
) -> tuple[Decimal | None, tuple[str, ...]]:
    """F = deposits − withdrawals, each at its value at its time (fees are not in F: they
    are losses); None, with the reasons, when a flow cannot be valued."""
    with localcontext(EXACT):
        total: Decimal | None = ZERO
        reasons: list[str] = []
        for flow in in_order(flows):
            value = flow_value(flow, prices, cash) if flow.sign else None
            if value is None:
                reasons.append(f"{flow.kind} {flow.id} of {flow.currency} has no known value")
                total = None
            elif total is not None:
                total += flow.sign * value
        return total, tuple(reasons)


@dataclass(frozen=True)
class DayPnL:
    """The P&L of one day (None when unknowable, with the reasons)."""

    day: date
    pnl: Decimal | None
    reasons: tuple[str, ...] = ()


def _midnight(day: date, tz: tzinfo) -> datetime:
    return as_utc(datetime.combine(day, time(), tzinfo=tz))


def _last_in(snaps: list[Snapshot], after: datetime, upto: datetime) -> Snapshot | None:
    return next((s for s in reversed(snaps) if after < s.time <= upto), None)


def _equity(snapshot: Snapshot, reasons: list[str]) -> Decimal | None:
    if snapshot.equity.is_finite():
        return snapshot.equity
    reasons.append(f"the snapshot at {snapshot.time.isoformat()} has no equity")
    return None


def daily_pnl(
    snapshots: Iterable[Snapshot],
    flows: Iterable[Flow],
    *,
    day: date,
    tz: tzinfo,
    now: datetime,
    cash: Collection[str],
    flows_complete: bool = True,
) -> DayPnL:
    """E(end of `day`, or now) − E(end of the day before) − F between those two snapshots.

    Days are those of `tz`. The end of a day is its last snapshot; the figure is None when
    the day before or the day itself has none, or when flows are missing.
    """
    with localcontext(EXACT):
        now = as_utc(now)
        start = _midnight(day, tz)
        snaps = sorted((s for s in snapshots if s.time <= now), key=lambda s: s.time)
        before = _last_in(snaps, _midnight(day - timedelta(days=1), tz), start)
        close = _last_in(snaps, start, min(_midnight(day + timedelta(days=1), tz), now))
        reasons: list[str] = []
        if before is None:
            reasons.append(f"no snapshot on {day - timedelta(days=1)} ({tz})")
        if close is None:
            reasons.append(f"no snapshot on {day} ({tz})")
        if not flows_complete:
            reasons.append("deposit and withdrawal history incomplete")
        if before is None or close is None or not flows_complete:
            return DayPnL(day, None, tuple(reasons))
        moved, why = net_flow(
            [f for f in flows if before.time < f.time <= close.time],
            prices=SnapshotPrices(snaps),
            cash=cash,
        )
        reasons += why
        pnl = _less(_equity(close, reasons), _equity(before, reasons), moved)
        return DayPnL(day, pnl, tuple(reasons))


@dataclass(frozen=True)
class PnL:
    """Every P&L figure of a connection or an account, in the quote currency.

    Money is exact, not rounded (add figures with `combine`, or in the `EXACT` context);
    None means unknowable, never zero. `incomplete_reasons` says what is missing; the
    figures are complete when there is none.
    """

    balance: Decimal | None
    daily_pnl: Decimal | None
    total_pnl: Decimal | None
    realized: Decimal | None
    unrealized: Decimal | None
    fees: Decimal | None
    net_flow: Decimal | None
    unexplained: Decimal | None
    total_trades: int | None
    fills: int | None
    wins: int | None
    losses: int | None
    draws: int | None
    win_rate: Decimal | None
    incomplete_reasons: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.incomplete_reasons


def win_rate(wins: int | None, losses: int | None) -> Decimal | None:
    """wins / (wins + losses); None when there are neither (draws count apart)."""
    if wins is None or losses is None or wins + losses <= 0:
        return None
    with localcontext(prec=28):
        return Decimal(wins) / Decimal(wins + losses)


def _count(values: Iterable[int | None]) -> int | None:
    total = 0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def combine(parts: Mapping[str, PnL]) -> PnL:
    """An account's P&L from its parts' (by name): sums, None where any part is None; the
    win rate from the summed counts; each reason prefixed with its part's name."""
    with localcontext(EXACT):

        def money(figure: Callable[[PnL], Decimal | None]) -> Decimal | None:
            return sum_or_none(*(figure(p) for p in parts.values()))

        def count(figure: Callable[[PnL], int | None]) -> int | None:
            return _count(figure(p) for p in parts.values())

        wins, losses = count(lambda p: p.wins), count(lambda p: p.losses)
        return PnL(
            balance=money(lambda p: p.balance),
            daily_pnl=money(lambda p: p.daily_pnl),
            total_pnl=money(lambda p: p.total_pnl),
            realized=money(lambda p: p.realized),
            unrealized=money(lambda p: p.unrealized),
            fees=money(lambda p: p.fees),
            net_flow=money(lambda p: p.net_flow),
            unexplained=money(lambda p: p.unexplained),
            total_trades=count(lambda p: p.total_trades),
            fills=count(lambda p: p.fills),
            wins=wins,
            losses=losses,
            draws=count(lambda p: p.draws),
            win_rate=win_rate(wins, losses),
            incomplete_reasons=tuple(
                f"{name}: {reason}" for name, p in parts.items() for reason in p.incomplete_reasons
            ),
        )


def _unvalued(snapshot: Snapshot, cash: Collection[str], which: str) -> list[str]:
    """Non-cash holdings a snapshot cannot value (left out of its equity), and at the first
    snapshot negative ones (left out of the lots)."""
    return [
        f"{a.currency} has no value at the {which} snapshot"
        if a.value is None
        else f"{a.currency} is negative at the first snapshot"
        for a in snapshot.assets
        if a.currency not in cash
        and not a.amount.is_zero()
        and (a.value is None or (which == "first" and a.amount < 0))
    ]


def _unrealized(
    held: Mapping[str, Decimal | None], last: Snapshot, cash: Collection[str], why: list[str]
) -> Decimal:
    """Σ (value at the last snapshot − cost of the remaining lots) over non-cash currencies
    whose value and cost are known; the others are named in `why`."""
    total = ZERO
    currencies = set(held) | {a.currency for a in last.assets if a.currency not in cash}
    for currency in sorted(currencies):
        position = last.position(currency)
        worth = ZERO if position is None or position.amount.is_zero() else position.value
        cost = held.get(currency, ZERO)
        if worth is None:
            continue  # named as unvalued at the last snapshot
        if cost is None:
            why.append(f"{currency}: the cost of the lots held is unknown")
        else:
            total += worth - cost
    return total


def _capped(reasons: Iterable[str]) -> tuple[str, ...]:
    unique = list(dict.fromkeys(reasons))
    if len(unique) <= MAX_REASONS:
        return tuple(unique)
    return (*unique[: MAX_REASONS - 1], f"and {len(unique) - MAX_REASONS + 1} more")


@dataclass(frozen=True)
class _Span:
    snapshots: list[Snapshot]
    fills: list[Fill]
    flows: list[Flow]
    prices: SnapshotPrices


def _span(
    snapshots: Iterable[Snapshot], fills: Iterable[Fill], flows: Iterable[Flow], now: datetime
) -> _Span | None:
    """The snapshots up to `now`, and the fills and flows after the first and up to the last
    of them; None without a snapshot."""
    snaps = sorted((s for s in snapshots if s.time <= as_utc(now)), key=lambda s: s.time)
    if not snaps:
        return None
    first, last = snaps[0].time, snaps[-1].time
    return _Span(
        snaps,
        in_order(f for f in fills if first < f.time <= last),
        in_order(f for f in flows if first < f.time <= last),
        SnapshotPrices(snaps),
    )


def _replay(span: _Span, cash: Collection[str]) -> Realization:
    first = span.snapshots[0]
    return realize(
        span.fills, opening_lots(first, cash), cash=cash, flows=span.flows, prices=span.prices
    )


@dataclass(frozen=True)
class ReplaySummary:
    """What the P&L figures and the trades list take from a FIFO replay of the tracked
    span (`summarize`): the same figures, whatever the length of the history.

    `held`: per currency with lots left, what they cost (None: unknown). `wins`, `losses`
    and `draws` count the closing orders of known result (`DRAW_UNDER`). `orders` and
    `fills` count the span's orders and fills. `priced`: the replay consulted snapshot
    prices (see `Realization`)."""

    realized: Decimal
    fees: Decimal
    held: Mapping[str, Decimal | None]
    wins: int
    losses: int
    draws: int
    orders: int
    fills: int
    reasons: tuple[str, ...]
    fill_realized: Mapping[str, Decimal | None]
    priced: bool = False


def summarize(replay: Realization) -> ReplaySummary:
    """What the figures take from `replay`."""
    with localcontext(EXACT):
        results = [o.realized for o in replay.orders if o.realized is not None]
        wins = sum(1 for r in results if r >= DRAW_UNDER)
        losses = sum(1 for r in results if r <= -DRAW_UNDER)
        return ReplaySummary(
            realized=replay.realized,
            fees=replay.fees,
            held={c: sum_or_none(*(lot.cost for lot in lots)) for c, lots in replay.lots.items()},
            wins=wins,
            losses=losses,
            draws=len(results) - wins - losses,
            orders=replay.order_count,
            fills=replay.fills,
            reasons=replay.reasons,
            fill_realized=replay.fill_realized,
            priced=replay.priced,
        )


def tracked_realization(
    snapshots: Iterable[Snapshot],
    fills: Iterable[Fill],
    flows: Iterable[Flow],
    *,
    now: datetime,
    cash: Collection[str],
) -> Realization | None:
    """The FIFO replay of the tracked span as `connection_pnl` counts it (each closing fill's
    realized P&L is in `fill_realized`); None without a snapshot."""
    span = _span(snapshots, fills, flows, now)
    return None if span is None else _replay(span, frozenset(cash))


def connection_pnl(
    snapshots: Iterable[Snapshot],
    fills: Iterable[Fill],
    flows: Iterable[Flow],
    *,
    now: datetime,
    tz: tzinfo,
    cash: Collection[str],
    trades_complete: bool = True,
    flows_complete: bool = True,
    reasons: Iterable[str] = (),
    replay: Realization | ReplaySummary | None = None,
) -> PnL:
    """Every P&L figure of one connection over its tracked span.

    `cash` are the currencies valued at par (the quote currency and stablecoins); `tz` gives
    the days of the daily P&L, the day being today's at `now`. `trades_complete` and
    `flows_complete` say whether those histories are whole; the figures they feed are None
    when not. `reasons` are prepended to the reasons found here. `replay` is
    `tracked_realization` of the same arguments (or its `summarize`) when the caller has it
    already (then `fills` are not read: the replay counts them).
    """
    with localcontext(EXACT):
        now, cash = as_utc(now), frozenset(cash)
        flows = list(flows)
        why = list(reasons)
        if not trades_complete:
            why.append("trade history incomplete")
        if not flows_complete:
            why.append("deposit and withdrawal history incomplete")
        span = _span(snapshots, () if replay is not None else fills, flows, now)
        if span is None:
            why.append("no snapshot yet")
            return PnL(*(None,) * 14, incomplete_reasons=_capped(why))
        snaps = span.snapshots
        first, last = snaps[0], snaps[-1]
        why += _unvalued(first, cash, "first") + _unvalued(last, cash, "last")
        if replay is None:
            replay = _replay(span, cash)
        done = replay if isinstance(replay, ReplaySummary) else summarize(replay)
        if trades_complete:
            why += done.reasons
        moved, moved_why = net_flow(span.flows, prices=span.prices, cash=cash)
        why += moved_why
        net = moved if flows_complete else None
        balance = _equity(last, why)
        total = _less(balance, _equity(first, why), net)
        day = daily_pnl(
            snaps,
            flows,
            day=now.astimezone(tz).date(),
            tz=tz,
            now=now,
            cash=cash,
            flows_complete=flows_complete,
        )
        why += day.reasons
        realized = unrealized = fees = None
        counts: tuple[int | None, ...] = (None,) * 5
        if trades_complete:
            counts = (done.orders, done.fills, None, None, None)
        if trades_complete and flows_complete:
            # lots come and go with deposits and withdrawals, whose fees are losses too:
            # the results need both histories whole
            realized, fees = done.realized, done.fees
            unrealized = _unrealized(done.held, last, cash, why)
            counts = (*counts[:2], done.wins, done.losses, done.draws)
        trades, fill_count, wins_, losses_, draws = counts
        return PnL(
            balance=balance,
            daily_pnl=day.pnl,
            total_pnl=total,
            realized=realized,
            unrealized=unrealized,
            fees=fees,
            net_flow=net,
            unexplained=_less(total, realized, unrealized),
            total_trades=trades,
            fills=fill_count,
            wins=wins_,
            losses=losses_,
            draws=draws,
            win_rate=win_rate(wins_, losses_),
            incomplete_reasons=_capped(why),
        )
