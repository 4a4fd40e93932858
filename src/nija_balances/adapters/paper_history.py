"""A paper connection's history: its `trades` and `flows` options, checked for the config
loader, and a deterministic price path for its past.

    trades = [
      { id = "t1", ago = "20d", symbol = "BTC/USD", side = "buy", amount = 0.01, fee = 0.3 },
      { id = "t2", time = 2026-01-05T10:00:00Z, symbol = "BTC/USD", side = "sell",
        amount = 0.01, price = 61000 },
    ]
    flows = [{ id = "d1", ago = "25d", kind = "deposit", currency = "USD", amount = 500 }]

Each item has a unique `id` and either a TOML datetime `time` or an age `ago` ("29d",
"6h": before the sync's now). A trade without `price` takes the paper price of its base at
its time (`paper_price`, from the connection's `prices`). Imports nothing heavy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from nija_balances.domain.history import Fill, Flow, as_utc
from nija_balances.domain.models import ZERO
from nija_balances.domain.series import parse_span
from nija_balances.domain.syntax import Locator, Problems, parse_amount, string_value

_TRADE_KEYS = ("id", "order", "time", "ago", "symbol", "side", "amount", "price", "fee",
               "fee_currency")  # fmt: skip
_FLOW_KEYS = ("id", "kind", "time", "ago", "currency", "amount", "fee", "fee_currency")


@dataclass(frozen=True)
class PaperItem:
    """One checked trade or flow of a paper connection: its fields as given (amounts as
    Decimal), and its moment: an aware `time`, or an `ago` before the sync's now."""

    fields: Mapping[str, Any]
    time: datetime | None = None
    ago: timedelta | None = None

    def moment(self, now: datetime) -> datetime:
        return self.time if self.time is not None else now - (self.ago or timedelta(0))


def paper_price(now_price: Decimal, currency: str, age: timedelta) -> Decimal:
    """The simulated price of `currency` `age` before now: a gentle deterministic wave and
    drift that is exactly `now_price` at age 0, to the cent (never below one cent)."""
    days = max(age.total_seconds(), 0.0) / 86400.0
    phase = sum(map(ord, currency)) % 7
    wave = 0.05 * (math.sin(days / 3.0 + phase) - math.sin(phase))
    factor = 1.0 + wave - 0.002 * days
    if days == 0:
        return now_price
    price = Decimal(repr(round(float(now_price) * max(factor, 0.05), 2)))
    return max(price, Decimal("0.01"))


def trades_option(loc: Locator, path: tuple[str, ...], raw: Any) -> tuple[PaperItem, ...]:
    """Check a paper connection's `trades`: an array of tables, one per fill."""
    return _items(loc, path, raw, _TRADE_KEYS, _check_trade)


def flows_option(loc: Locator, path: tuple[str, ...], raw: Any) -> tuple[PaperItem, ...]:
    """Check a paper connection's `flows`: an array of tables, one per deposit/withdrawal."""
    return _items(loc, path, raw, _FLOW_KEYS, _check_flow)


def paper_fill(item: PaperItem, now: datetime, prices: Mapping[str, Decimal]) -> Fill | None:
    """The fill of a checked trade at `now`; None when its price is unknown (no `price` and
    its base has no entry in `prices`)."""
    f = item.fields
    moment = item.moment(now)
    base = str(f["symbol"]).partition("/")[0]
    price: Decimal | None = f.get("price")
    if price is None:
        if base not in prices:
            return None
        price = paper_price(prices[base], base, now - moment)
    amount: Decimal = f["amount"]
    return Fill(
        id=f["id"],
        order=f.get("order", f["id"]),
        time=moment,
        symbol=f["symbol"],
        side=f["side"],
        amount=amount,
        price=price,
        cost=amount * price,
        fee=f.get("fee", ZERO),
        fee_currency=f.get("fee_currency"),
    )


def paper_flow(item: PaperItem, now: datetime) -> Flow:
    f = item.fields
    return Flow(
        id=f["id"],
        kind=f["kind"],
        time=item.moment(now),
        currency=f["currency"],
        amount=f["amount"],
        fee=f.get("fee", ZERO),
        fee_currency=f.get("fee_currency"),
    )


# --------------------------------------------------------------------------- checks


def _items(
    loc: Locator, path: tuple[str, ...], raw: Any, known: tuple[str, ...], check: Any
) -> tuple[PaperItem, ...]:
    if not isinstance(raw, list | tuple):
        raise loc.error(
            path,
            f"expected an array of tables, got {type(raw).__name__} {raw!r}",
            hint=f'write it as {path[-1]} = [{{ id = "1", ago = "3d", ... }}]',
        )
    problems = Problems()
    items: list[PaperItem] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw):
        where = (*path, str(i))
        if not isinstance(entry, Mapping):
            problems.add(loc.error(where, f"expected a table, got {entry!r}"))
            continue
        for key in entry:
            if key not in known:
                problems.add(
                    loc.error((*where, key), f"unknown key '{key}'", "allowed: " + ", ".join(known))
                )
        item = problems.run(_item, loc, where, entry, check)
        if item is None:
            continue
        if item.fields["id"] in seen:
            problems.add(loc.error((*where, "id"), f"id {item.fields['id']!r} is given twice"))
        seen.add(item.fields["id"])
        items.append(item)
    problems.raise_any()
    return tuple(items)


def _item(loc: Locator, where: tuple[str, ...], entry: Mapping[str, Any], check: Any) -> PaperItem:
    problems = Problems()
    fields: dict[str, Any] = {}
    if "id" not in entry:
        problems.add(loc.error(where, "missing key 'id'", 'give each item a unique id = "..."'))
    else:
        fields["id"] = problems.run(string_value, loc, (*where, "id"), str(entry["id"]))
    moment: datetime | None = None
    ago: timedelta | None = None
    if ("time" in entry) == ("ago" in entry):
        problems.add(
            loc.error(
                where, "give exactly one of 'time' and 'ago'",
                'time = 2026-01-05T10:00:00Z (a TOML datetime) or ago = "3d" (before now)',
            )
        )  # fmt: skip
    elif "time" in entry:
        if isinstance(entry["time"], datetime):
            moment = as_utc(entry["time"])
        else:
            got = entry["time"]
            problems.add(
                loc.error(
                    (*where, "time"),
                    f"expected a TOML datetime, got {got!r}",
                    "write it unquoted: time = 2026-01-05T10:00:00Z",
                )
            )
    else:
        try:
            ago = parse_span(str(entry["ago"]))
        except ValueError as exc:
            problems.add(loc.error((*where, "ago"), str(exc)))
    check(loc, where, entry, fields, problems)
    problems.raise_any()
    return PaperItem(fields, moment, ago)


def _amount(
    loc: Locator, path: tuple[str, ...], value: Any, problems: Problems, *, positive: bool
) -> Decimal | None:
    amount = parse_amount(value)
    if amount is None or amount < 0 or (positive and amount == 0):
        what = "a positive number" if positive else "a non-negative number"
        problems.add(loc.error(path, f"expected {what}, got {value!r}"))
        return None
    return amount


def _choice(
    loc: Locator, path: tuple[str, ...], value: Any, choices: tuple[str, ...], problems: Problems
) -> str | None:
    if value not in choices:
        problems.add(loc.error(path, f"expected one of {', '.join(choices)}, got {value!r}"))
        return None
    return str(value)


def _required(loc: Locator, where: tuple[str, ...], entry: Mapping[str, Any], keys: tuple[str, ...],
              problems: Problems) -> bool:  # fmt: skip
    missing = [k for k in keys if k not in entry]
    for key in missing:
        problems.add(loc.error(where, f"missing key '{key}'"))
    return not missing


def _check_trade(loc: Locator, where: tuple[str, ...], entry: Mapping[str, Any],
                 fields: dict[str, Any], problems: Problems) -> None:  # fmt: skip
    if not _required(loc, where, entry, ("symbol", "side", "amount"), problems):
        return
    symbol = entry["symbol"]
    base, _, quote = str(symbol).partition("/")
    if not isinstance(symbol, str) or not base.strip() or not quote.strip():
        problems.add(loc.error((*where, "symbol"), f"expected BASE/QUOTE, got {symbol!r}",
                               'e.g. symbol = "BTC/USD"'))  # fmt: skip
    fields["symbol"] = f"{base.strip().upper()}/{quote.strip().upper()}"
    fields["side"] = _choice(loc, (*where, "side"), entry["side"], ("buy", "sell"), problems)
    fields["amount"] = _amount(loc, (*where, "amount"), entry["amount"], problems, positive=True)
    if "order" in entry:
        fields["order"] = str(entry["order"])
    if "price" in entry:
        fields["price"] = _amount(loc, (*where, "price"), entry["price"], problems, positive=True)
    _fee(loc, where, entry, fields, problems)


def _check_flow(loc: Locator, where: tuple[str, ...], entry: Mapping[str, Any],
                fields: dict[str, Any], problems: Problems) -> None:  # fmt: skip
    if not _required(loc, where, entry, ("kind", "currency", "amount"), problems):
        return
    kinds = ("deposit", "withdrawal")
    fields["kind"] = _choice(loc, (*where, "kind"), entry["kind"], kinds, problems)
    fields["currency"] = str(entry["currency"]).strip().upper()
    if not fields["currency"]:
        problems.add(loc.error((*where, "currency"), "a currency code may not be empty"))
    fields["amount"] = _amount(loc, (*where, "amount"), entry["amount"], problems, positive=True)
    _fee(loc, where, entry, fields, problems)


def _fee(loc: Locator, where: tuple[str, ...], entry: Mapping[str, Any],
         fields: dict[str, Any], problems: Problems) -> None:  # fmt: skip
    if "fee" in entry:
        fields["fee"] = _amount(loc, (*where, "fee"), entry["fee"], problems, positive=False)
    if "fee_currency" in entry:
        fields["fee_currency"] = str(entry["fee_currency"]).strip().upper()
