"""The state and records of a history sync: streams, the cursor they make, and ccxt's
trades and transfers as domain `Fill` / `Flow` with exact Decimals.

The cursor is JSON: `{"v": 1, "s": {stream: state}}`, one `Stream` per independent listing
(one per Binance symbol, per Coinbase wallet, per deposit/withdrawal list). A stream keeps
its watermark (`wm`, ms: every final record up to it is stored), the ids stored near or past
it (`seen`, so an overlapping request yields nothing twice), the pager's own position
(`pos`), and during a pass the oldest pending flow (`hold`): the watermark never passes a
pending flow, so a later sync reads it again and counts it once it completed.

Plain data and pure functions: no ccxt, no I/O; junk from an exchange raises `AdapterError`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from nija_balances.adapters.ccxt.quirks import HistoryPaging
from nija_balances.adapters.interface import AdapterError, HistoryRequest
from nija_balances.domain.history import Fill, Flow
from nija_balances.domain.models import ConnectionConfig, Status

CURSOR_VERSION = 1
#: ms re-read before a watermark: records stamped at the same moment as the last one stored
OVERLAP_MS = 1000
#: at most this many ids kept in a stream's `seen` (beyond: repeats, which the store drops)
MAX_SEEN = 500


@dataclass
class Record:
    """One record a pager read: a counted item, a pending flow, or one to pass over."""

    id: str
    ms: int
    item: Fill | Flow | None = None  # None: final but not counted (failed, not a flow)
    pending: bool = False


@dataclass
class Stream:
    """The resumable state of one listing (see the module docstring)."""

    wm: int | None = None
    pos: dict[str, Any] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    hold: int | None = None
    top: int | None = None
    active: bool = False

    def begin(self) -> None:
        """Start a pass, unless one was under way when the last sync stopped."""
        if not self.active:
            self.active, self.hold, self.top = True, None, None

    def since(self) -> int | None:
        """Where a time-bounded request starts: the watermark less the overlap."""
        return None if self.wm is None else max(self.wm - OVERLAP_MS, 0)

    def admit(self, records: list[Record], dedupe: bool = True) -> list[Fill | Flow]:
        """The counted items of `records` not stored before; pending ones are held."""
        new: list[Fill | Flow] = []
        for record in records:
            if record.pending:
                self.hold = record.ms if self.hold is None else min(self.hold, record.ms)
                continue
            self.top = record.ms if self.top is None else max(self.top, record.ms)
            if dedupe:
                if record.id in self.seen:
                    continue
                self.seen[record.id] = record.ms
            if record.item is not None:
                new.append(record.item)
        if len(self.seen) > 2 * MAX_SEEN:  # the newest are the ones an overlap re-reads
            self._cap()
        return new

    def _cap(self) -> None:
        newest = sorted(self.seen.items(), key=lambda kv: kv[1])[-MAX_SEEN:]
        self.seen = dict(newest)

    def settle(self, covered: int) -> None:
        """Every record up to `covered` ms was read: the watermark moves there, or to just
        before the oldest pending flow."""
        mark = covered if self.hold is None else min(covered, self.hold - 1)
        self.wm = mark if self.wm is None or self.hold is not None else max(self.wm, mark)
        self._prune()

    def end(self) -> None:
        """The pass is complete."""
        self.active, self.top = False, None
        self._prune()

    def _prune(self) -> None:
        marks = [m for m in (self.wm, self.hold) if m is not None]
        if not marks:
            self.seen = {} if not self.active else self.seen
            return
        floor = min(marks) - OVERLAP_MS
        self.seen = {i: ms for i, ms in self.seen.items() if ms >= floor}
        if len(self.seen) > MAX_SEEN:
            self._cap()

    def dump(self) -> dict[str, Any]:
        state: dict[str, Any] = {"wm": self.wm, "pos": self.pos, "seen": self.seen}
        if self.active:
            state.update(on=True, hold=self.hold, top=self.top)
        return {k: v for k, v in state.items() if v not in (None, {}, False)}

    @classmethod
    def load(cls, state: Any) -> Stream:
        if not isinstance(state, Mapping):
            raise ValueError("stream is not an object")
        seen = state.get("seen") or {}
        pos = state.get("pos") or {}
        if not isinstance(seen, Mapping) or not isinstance(pos, Mapping):
            raise ValueError("stream fields of the wrong type")
        return cls(
            wm=_opt_int(state.get("wm")),
            pos=dict(pos),
            seen={str(k): int(v) for k, v in seen.items()},
            hold=_opt_int(state.get("hold")),
            top=_opt_int(state.get("top")),
            active=bool(state.get("on")),
        )


def _opt_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


class Streams:
    """Every stream of one kind, and the cursor text they make."""

    def __init__(self, cursor: str | None, exchange: str) -> None:
        self._streams: dict[str, Stream] = {}
        if cursor:
            try:
                data = json.loads(cursor)
                if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
                    raise ValueError("not a cursor of this version")
                streams = data.get("s") or {}
                if not isinstance(streams, dict):
                    raise ValueError("streams are not an object")
                self._streams = {str(k): Stream.load(v) for k, v in streams.items()}
            except (ValueError, TypeError) as exc:
                raise AdapterError(
                    Status.ERROR, f"stored {exchange} history cursor is unreadable ({exc})"
                ) from None

    def __getitem__(self, name: str) -> Stream:
        return self._streams.setdefault(name, Stream())

    def cursor(self) -> str:
        states = {k: s.dump() for k, s in sorted(self._streams.items())}
        text = json.dumps({"v": CURSOR_VERSION, "s": states}, sort_keys=True, separators=(",", ":"))
        return text


@dataclass
class Step:
    """What one request brought to one stream; `covered`: every record up to it is read."""

    stream: Stream
    records: list[Record]
    covered: int | None = None
    done: bool = False  # the stream's pass is complete
    dedupe: bool = True  # False: the pager's position is exact, no record comes twice


class Caller(Protocol):
    """Makes one request (`make`) under the key's lock, its failure mapped; `shape` (see
    `check_shape`) is what the exchange's raw answer must hold."""

    def __call__(
        self, make: Callable[[], Awaitable[Any]], shape: str | None = None
    ) -> Awaitable[Any]: ...


@dataclass
class Context:
    """What a pager works with: the keyed instance (markets loaded) and one request's call."""

    ex: Any
    exchange: str
    paging: HistoryPaging
    request: HistoryRequest
    connection: ConnectionConfig
    call: Caller

    def limit(self, name: str) -> int | None:
        return self.paging.limits.get(name)


Pager = Callable[[Context, Streams], AsyncIterator[Step]]


# ---------------------------------------------------------------------------- conversions


def check_shape(raw: Any, shape: str, exchange: str) -> None:
    """Raise unless the raw answer holds its records where `shape` says: `"result.trades:dict"`
    (a member path, then `list` or `dict`), `":list"` (the answer itself). ccxt reads an
    answer without them as no records, which would end a sync early in silence."""
    path, _, kind = shape.partition(":")
    value = raw
    for key in filter(None, path.split(".")):
        value = value.get(key) if isinstance(value, Mapping) else None
    if not isinstance(value, list if kind == "list" else dict):
        where = f"its `{path}`" if path else "the answer"
        raise AdapterError(
            Status.ERROR, f"{exchange} sent history of the wrong shape ({where} is not a {kind})"
        )


def decimal(value: Any, what: str, exchange: str) -> Decimal:
    """An exchange's number as an exact Decimal (ccxt's strings, or a float's shortest
    text); junk raises `AdapterError`."""
    if isinstance(value, bool) or value is None or value == "":
        raise AdapterError(Status.ERROR, f"{exchange} sent no {what}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise AdapterError(
            Status.ERROR, f"{exchange} sent a non-numeric {what}: {str(value)[:20]!r}"
        ) from None
    if not number.is_finite():
        raise AdapterError(Status.ERROR, f"{exchange} sent a non-numeric {what}: {value}")
    return number


def optional_decimal(value: Any, what: str, exchange: str) -> Decimal | None:
    return None if value is None or value == "" else decimal(value, what, exchange)


def moment(ms: Any, exchange: str) -> datetime:
    if isinstance(ms, bool) or not isinstance(ms, (int, float)):
        raise AdapterError(Status.ERROR, f"{exchange} sent a record without a time")
    return datetime.fromtimestamp(ms / 1000, UTC)


def record_id(value: Any, exchange: str) -> str:
    if value is None or str(value) == "":
        raise AdapterError(Status.ERROR, f"{exchange} sent a record without an id")
    return str(value)


def fill_record(trade: Mapping[str, Any], exchange: str) -> Record:
    """A ccxt trade (amounts as strings: `number = str`) as a `Fill` record."""
    if not isinstance(trade, Mapping):
        raise AdapterError(Status.ERROR, f"{exchange} sent a trade of the wrong shape")
    ident = record_id(trade.get("id"), exchange)
    side = trade.get("side")
    if side not in ("buy", "sell"):
        raise AdapterError(Status.ERROR, f"{exchange} sent trade {ident} without a side")
    symbol = trade.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise AdapterError(Status.ERROR, f"{exchange} sent trade {ident} without a market")
    amount = decimal(trade.get("amount"), f"amount of trade {ident}", exchange)
    price = decimal(trade.get("price"), f"price of trade {ident}", exchange)
    cost = optional_decimal(trade.get("cost"), f"cost of trade {ident}", exchange)
    fee = trade.get("fee") or {}
    fee_cost = optional_decimal(fee.get("cost"), f"fee of trade {ident}", exchange)
    ms = trade.get("timestamp")
    fill = Fill(
        id=ident,
        order=str(trade.get("order") or ""),
        time=moment(ms, exchange),
        symbol=symbol,
        side=side,
        amount=amount,
        price=price,
        # a float cost is ccxt's own product, which may have lost a digit: ours is exact
        cost=amount * price if cost is None or isinstance(trade.get("cost"), float) else cost,
        fee=abs(fee_cost) if fee_cost is not None else Decimal(0),
        fee_currency=fee.get("currency") if fee_cost else None,
    )
    assert isinstance(ms, (int, float))
    return Record(ident, int(ms), fill)


#: ccxt's transaction statuses: counted, waited for, or passed over
FINAL_OK = frozenset({"ok", "completed", "complete", "success"})
FINAL_NOT = frozenset({"failed", "canceled", "cancelled", "rejected", "expired", "refunded"})


def flow_record(
    ident: Any,
    kind: Any,
    ms: Any,
    currency: Any,
    amount: Any,
    fee: Any,
    status: Any,
    exchange: str,
    fee_currency: Any = None,
) -> Record:
    """A deposit or withdrawal as a record: counted when completed, pending (waited for)
    while the exchange has not finished it, passed over when failed or canceled."""
    ident = record_id(ident, exchange)
    when = moment(ms, exchange)
    state = str(status or "").lower()
    if state in FINAL_NOT or kind not in ("deposit", "withdrawal"):
        return Record(ident, int(ms), None)
    if state not in FINAL_OK:
        return Record(ident, int(ms), None, pending=True)
    if not isinstance(currency, str) or not currency:
        raise AdapterError(Status.ERROR, f"{exchange} sent flow {ident} without a currency")
    value = abs(decimal(amount, f"amount of flow {ident}", exchange))
    charge = optional_decimal(fee, f"fee of flow {ident}", exchange)
    flow = Flow(
        id=ident,
        kind=kind,
        time=when,
        currency=currency,
        amount=value,
        fee=abs(charge) if charge else Decimal(0),
        fee_currency=fee_currency if charge and fee_currency != currency else None,
    )
    return Record(ident, int(ms), flow)


def transaction_record(tx: Mapping[str, Any], exchange: str) -> Record:
    """A ccxt transaction (deposit or withdrawal) as a record; its amount excludes the fee."""
    if not isinstance(tx, Mapping):
        raise AdapterError(Status.ERROR, f"{exchange} sent a transfer of the wrong shape")
    fee = tx.get("fee") or {}
    return flow_record(
        tx.get("id"),
        tx.get("type"),
        tx.get("timestamp"),
        tx.get("currency"),
        tx.get("amount"),
        fee.get("cost"),
        tx.get("status"),
        exchange,
        fee.get("currency"),
    )


# ---------------------------------------------------------------------------- pager helpers


def answer_rows(answer: Any, what: str, ctx: Context) -> list[Any]:
    """A ccxt answer that must be a list (of trades, transfers...)."""
    if not isinstance(answer, list):
        raise AdapterError(Status.ERROR, f"{ctx.exchange} sent {what} of the wrong shape")
    return answer


def info_of(entry: Any) -> Mapping[str, Any]:
    """The exchange's own record ccxt parsed `entry` from (empty when there is none)."""
    info = entry.get("info") if isinstance(entry, Mapping) else None
    return info if isinstance(info, Mapping) else {}


def now_ms() -> int:
    return int(time.time() * 1000)


def advance(
    stream: Stream, records: Iterable[Record], key: str, value: Callable[[Record], Any]
) -> None:
    """Move a forward pager's resume point past `records` (oldest first), never past the
    oldest pending flow of the pass: it is read again until it completes."""
    if stream.hold is not None:
        return
    for record in records:
        if record.pending:
            return
        stream.pos[key] = value(record)


def rereads(stream: Stream, records: Iterable[Record]) -> bool:
    """Whether a forward pager may meet these records again: only past a pending flow."""
    return bool(stream.seen) or stream.hold is not None or any(r.pending for r in records)
