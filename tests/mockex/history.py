"""Trade history (fills) and flows (deposits, withdrawals) held by a mock account.

Exchange-neutral records: each mock renders them in its exchange's own shape (pair ids, time
formats, status codes, signs) and pages them with the exchange's own paging. Imports nothing
from the mocks, so `base.py` can hold these on `Account`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

#: flow statuses every mock maps to its exchange's own codes
FLOW_STATUSES = frozenset({"ok", "pending", "failed", "canceled"})


@dataclass(frozen=True)
class MockTrade:
    """One fill. `amount` is in the base currency; the fee is in `fee_currency` (None: quote).

    `id` and `order` are rendered verbatim (Binance needs integers, as its ids are).
    """

    id: str
    order: str
    time: int  # ms since the epoch
    symbol: str  # unified, "BTC/USD"; Alpaca equities: "AAPL" (quote USD)
    side: str  # "buy" / "sell"
    amount: str
    price: str
    fee: str = "0"
    fee_currency: str | None = None
    maker: bool = False

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("/")[1] if "/" in self.symbol else "USD"

    @property
    def cost(self) -> str:
        return plain(Decimal(self.amount) * Decimal(self.price))

    @property
    def fee_code(self) -> str:
        return self.fee_currency or self.quote


@dataclass(frozen=True)
class MockFlow:
    """One deposit or withdrawal of `amount` (positive): what reached or left the account's
    address or bank. The fee is apart: a deposit adds `amount - fee` to the balance, a
    withdrawal takes `amount + fee` (Kraken's ledger, Binance's and OKX's records read so).
    """

    id: str
    kind: str  # "deposit" / "withdrawal"
    currency: str
    amount: str
    time: int  # ms since the epoch
    fee: str = "0"
    status: str = "ok"  # see FLOW_STATUSES
    txid: str | None = None
    address: str | None = None
    network: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("deposit", "withdrawal"):
            raise ValueError(f"flow kind {self.kind!r}: deposit or withdrawal")
        if self.status not in FLOW_STATUSES:
            raise ValueError(f"flow status {self.status!r}: one of {sorted(FLOW_STATUSES)}")

    @property
    def signed(self) -> str:
        """The amount with the sign of its effect on the balance (fee apart)."""
        return self.amount if self.kind == "deposit" else plain(-Decimal(self.amount))


T = TypeVar("T", MockTrade, MockFlow)


def plain(value: Decimal) -> str:
    """A decimal as exchanges write it: no exponent, no needless trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def fixed(value: str, digits: int) -> str:
    """At least `digits` decimals (`"0.01000000"`), as many exchanges pad; never rounds."""
    whole, _, frac = plain(Decimal(value)).partition(".")
    return f"{whole}.{frac.ljust(digits, '0')}"


def chronological(records: Iterable[T]) -> list[T]:
    """Oldest first, ties by id: the order every mock's paging is defined over."""
    return sorted(records, key=lambda r: (r.time, r.id))


def newest_first(records: Iterable[T]) -> list[T]:
    return chronological(records)[::-1]


def page_limit(requested: str | None, default: int, maximum: int | None = None) -> int:
    """The page size of one request: the caller's `limit`, else `default`; capped at `maximum`."""
    cap = maximum if maximum is not None else default
    if requested is None or not requested.strip().lstrip("-").isdigit():
        return min(default, cap)
    return max(1, min(int(requested), cap))


def iso_ms(ms: int, digits: int = 3) -> str:
    """`2024-03-01T12:00:00.123Z` (`digits` fractional digits, 0 for none)."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        fraction = f"{ms % 1000:03d}".ljust(digits, "0")[:digits]
        text += "." + fraction
    return text + "Z"


def seconds(ms: int) -> float:
    """Seconds as the float some exchanges send (`1710429248.305`)."""
    return round(ms / 1000, 3)


def flows_of(flows: Sequence[MockFlow], kind: str) -> list[MockFlow]:
    return [f for f in flows if f.kind == kind]
