"""A connection's stored history: snapshots, fills and flows, their prices at a time, and
which snapshots to keep.

Frozen facts and pure functions only: nothing here does I/O, and nothing raises on odd data
(a time without a zone is taken as UTC; an amount that is not a number has no value).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from functools import cached_property
from typing import Literal, Protocol

from nija_balances.domain.models import ZERO
from nija_balances.domain.valuation import worth

Side = Literal["buy", "sell"]
FlowKind = Literal["deposit", "withdrawal"]

#: Retention: every snapshot younger than this is kept ...
KEEP_ALL = timedelta(hours=48)
#: ... then the last of each hour up to this age, then the last of each day.
KEEP_HOURLY = timedelta(days=90)


def as_utc(moment: datetime) -> datetime:
    """The same instant as an aware UTC time; a naive time is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _set_utc(obj: object, moment: datetime) -> None:
    object.__setattr__(obj, "time", as_utc(moment))


@dataclass(frozen=True)
class AssetPosition:
    """An amount of one currency held at a snapshot and its price (None: unpriced)."""

    currency: str
    amount: Decimal
    price: Decimal | None = None

    @cached_property
    def value(self) -> Decimal | None:
        """Amount × price to the cent, as `valuation.worth` rounds it; None when unpriced."""
        return None if self.price is None else worth(self.amount, self.price)


@dataclass(frozen=True)
class Snapshot:
    """One good fetch of a connection: cash and equity in the quote currency, per asset.

    `equity` leaves out unpriced assets, as the balance shown does. `time` is aware UTC.
    """

    time: datetime
    cash: Decimal
    equity: Decimal
    assets: tuple[AssetPosition, ...] = ()

    def __post_init__(self) -> None:
        _set_utc(self, self.time)

    def position(self, currency: str) -> AssetPosition | None:
        """The position in `currency`, if the snapshot lists one."""
        return next((a for a in self.assets if a.currency == currency), None)


@dataclass(frozen=True)
class Fill:
    """One execution of an order on a `BASE/QUOTE` market.

    `cost` is amount × price in the quote currency, before the fee. The fee is charged in
    `fee_currency` (None: the quote currency). `time` is aware UTC.
    """

    id: str
    order: str
    time: datetime
    symbol: str
    side: Side
    amount: Decimal
    price: Decimal
    cost: Decimal
    fee: Decimal = ZERO
    fee_currency: str | None = None
    # (base, quote), parsed once in __post_init__: a replay asks for them often
    _pair: tuple[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _set_utc(self, self.time)
        base, _, rest = self.symbol.partition("/")
        object.__setattr__(self, "_pair", (base, rest.partition(":")[0]))

    @property
    def base(self) -> str:
        return self._pair[0]

    @property
    def quote(self) -> str:
        """The quote currency (a derivative's `:SETTLE` suffix left off)."""
        return self._pair[1]

    @property
    def order_key(self) -> str:
        """The order this fill belongs to; a fill without an order id is its own order."""
        return self.order or f"fill:{self.id}"


@dataclass(frozen=True)
class Flow:
    """A deposit or withdrawal of `amount` of `currency`, and its fee.

    A deposit credits amount − fee, a withdrawal debits amount + fee (fee in `fee_currency`,
    None: the flow's own currency). `value` is the amount's worth in the quote currency at
    the flow's time when known, `estimated` when it came from a nearby price rather than the
    exchange. `time` is aware UTC.
    """

    id: str
    kind: FlowKind
    time: datetime
    currency: str
    amount: Decimal
    fee: Decimal = ZERO
    fee_currency: str | None = None
    value: Decimal | None = None
    estimated: bool = False

    def __post_init__(self) -> None:
        _set_utc(self, self.time)

    @property
    def sign(self) -> int:
        """+1 for a deposit, −1 for a withdrawal, 0 for anything else."""
        return {"deposit": 1, "withdrawal": -1}.get(self.kind, 0)


@dataclass(frozen=True)
class SyncState:
    """Where the sync of one kind of history (trades or flows) of one connection stands.

    - `cursor`: the adapter's resume text stored with the last page (None: from the start);
    - `finished_at`: when the last sync that reached the end finished (aware UTC; None:
      never): the stored record is whole from the start up to then when `complete`;
    - `complete`: a sync has reached the end at least once since the start;
    - `unsupported`: the exchange cannot list this kind (`problem` says what is missing);
    - `problem`: why the last attempt did not finish (an error, or the unsupported
      reason); None after a sync that reached the end.
    Figures that need this kind are `incomplete` unless `complete` and no `problem`.
    """

    cursor: str | None = None
    finished_at: datetime | None = None
    complete: bool = False
    unsupported: bool = False
    problem: str | None = None

    @property
    def whole(self) -> bool:
        """Whether the stored record is whole up to `finished_at` and nothing went wrong since."""
        return self.complete and not self.unsupported and self.problem is None


class Prices(Protocol):
    """Prices of currencies near a time (`SnapshotPrices`)."""

    def near(self, currency: str, moment: datetime) -> Decimal | None: ...


class SnapshotPrices:
    """Prices of currencies at the snapshot nearest a given time."""

    def __init__(self, snapshots: Iterable[Snapshot]) -> None:
        self._snapshots = tuple(snapshots)  # indexed on the first `near`: often none comes

    @cached_property
    def _points(self) -> dict[str, list[tuple[datetime, Decimal]]]:
        points: defaultdict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
        for snap in self._snapshots:
            for asset in snap.assets:
                if asset.price is not None and asset.price.is_finite() and asset.price > 0:
                    points[asset.currency].append((snap.time, asset.price))
        return {c: sorted(p, key=lambda tp: tp[0]) for c, p in points.items()}

    def near(self, currency: str, moment: datetime) -> Decimal | None:
        """The price at the snapshot nearest `moment` (the earlier one on a tie), or None."""
        points = self._points.get(currency)
        if not points:
            return None
        moment = as_utc(moment)
        i = bisect_left(points, moment, key=lambda tp: tp[0])
        return min(points[max(i - 1, 0) : i + 1], key=lambda tp: abs(tp[0] - moment))[1]


def flow_value(flow: Flow, prices: Prices, cash: Iterable[str]) -> Decimal | None:
    """What a flow's amount was worth at its time: at par for a cash currency, else its own
    `value`, else at the nearest snapshot's price; None when unknowable."""
    amount = flow.amount
    if not amount.is_finite() or amount < 0:
        return None
    if flow.currency in cash:
        return amount
    if flow.value is not None:
        return flow.value if flow.value.is_finite() else None
    price = prices.near(flow.currency, flow.time)
    return None if price is None else amount * price


def snapshots_to_keep(
    times: Iterable[datetime], now: datetime, tz: tzinfo = UTC
) -> frozenset[datetime]:
    """The snapshot times to keep at `now`: every one from the last 48 hours (and any in the
    future), then the last of each hour up to 90 days old, then the last of each day; hours
    and days are those of `tz`. A snapshot dropped at one `now` is dropped at every later
    one, so pruning again and again keeps what pruning once would."""
    now = as_utc(now)
    given = list(times)
    last_of_hour: dict[tuple[datetime, timedelta | None], datetime] = {}
    last_of_day: dict[date, datetime] = {}
    keys: list[tuple[datetime, tuple[datetime, timedelta | None], date]] = []
    for moment in given:
        utc = as_utc(moment)
        local = utc.astimezone(tz)
        hour = (local.replace(tzinfo=None, minute=0, second=0, microsecond=0), local.utcoffset())
        day = local.date()
        keys.append((utc, hour, day))
        last_of_hour[hour] = max(last_of_hour.get(hour, utc), utc)
        last_of_day[day] = max(last_of_day.get(day, utc), utc)
    keep: set[datetime] = set()
    for moment, (utc, hour, day) in zip(given, keys, strict=True):
        age = now - utc
        if (
            age <= KEEP_ALL
            or (age <= KEEP_HOURLY and last_of_hour[hour] == utc)
            or last_of_day[day] == utc
        ):
            keep.add(moment)
    return frozenset(keep)
