"""Amounts out of exchange answers: ccxt's unified balance, tickers, and Alpaca's account
and positions. Plain data in, `AssetAmount`s, `Holdings` and Decimals out; junk raises
`AdapterError`. No ccxt here.

`check_answer` looks at an exchange's raw balance answer (the JSON as it came, before ccxt
parses it): ccxt reads a missing or malformed balance as an empty one, so an answer that is
not a balance would otherwise become $0.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from nija_balances.adapters.ccxt.errors import clean_message
from nija_balances.adapters.interface import AdapterError
from nija_balances.domain.models import AssetAmount, Holdings, Status

_BALANCE_META = frozenset({"info", "timestamp", "datetime", "free", "used", "total", "debt"})


def _decimal(value: Any, what: str, exchange: str, *, signed: bool = False) -> Decimal | None:
    """An amount from an exchange as Decimal; None stays None; junk raises `AdapterError`."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise AdapterError(Status.ERROR, f"{exchange} reported a non-numeric {what}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        shown = clean_message(str(value), (), limit=20)
        raise AdapterError(
            Status.ERROR, f"{exchange} reported a non-numeric {what}: {shown!r}"
        ) from None
    if not amount.is_finite():
        raise AdapterError(Status.ERROR, f"{exchange} reported a non-numeric {what}: {value}")
    if amount < 0 and not signed:
        raise AdapterError(Status.ERROR, f"{exchange} reported a negative {what}: {amount}")
    return amount


def assets_from_balance(balance: Mapping[str, Any], exchange: str) -> tuple[AssetAmount, ...]:
    """ccxt's unified balance -> non-zero `AssetAmount`s (free + used = total)."""
    assets: list[AssetAmount] = []
    for code, entry in balance.items():
        if code in _BALANCE_META or not isinstance(entry, Mapping):
            continue
        free = _decimal(entry.get("free"), f"free amount of {code}", exchange)
        used = _decimal(entry.get("used"), f"held amount of {code}", exchange)
        total = _decimal(entry.get("total"), f"amount of {code}", exchange)
        if total is None:
            if free is None and used is None:
                continue
            total = (free or Decimal(0)) + (used or Decimal(0))
        if free is None:
            free = total - (used or Decimal(0))
        if used is None:
            used = total - free
        if free < 0 or used < 0:
            raise AdapterError(
                Status.ERROR,
                f"{exchange} reported inconsistent amounts for {code}: "
                f"total {total}, free {free}, held {used}",
            )
        if total == 0 and free == 0 and used == 0:
            continue
        assets.append(AssetAmount(currency=str(code), free=free, used=used, total=total))
    return tuple(sorted(assets, key=lambda a: a.currency))


def ticker_price(ticker: Mapping[str, Any] | None, exchange: str) -> Decimal | None:
    """The last price of a ccxt ticker (else the bid/ask midpoint); None if it has no usable one.

    A junk value in one ticker leaves that asset unpriced instead of failing every price.
    """
    if not ticker:
        return None

    def number(field: str) -> Decimal | None:
        try:
            return _decimal(ticker.get(field), f"{field} of {ticker.get('symbol')}", exchange)
        except AdapterError:
            return None

    for field in ("last", "close"):
        price = number(field)
        if price is not None and price > 0:
            return price
    bid, ask = number("bid"), number("ask")
    if bid and ask:
        return (bid + ask) / 2
    return None


def _alpaca_code(position: Mapping[str, Any]) -> str:
    symbol = str(position.get("symbol") or "")
    if position.get("asset_class") == "crypto":
        if "/" in symbol:
            return symbol.split("/")[0]
        if symbol.endswith("USD") and len(symbol) > 3:
            return symbol[:-3]
    return symbol


def alpaca_holdings(account: Mapping[str, Any], positions: Any) -> Holdings:
    """Alpaca's account (cash, equity) and positions -> `Holdings` with equity and cash set.

    Margin debit (negative cash) and short positions (negative qty) are real on Alpaca, so
    signed amounts are accepted here.
    """
    if not isinstance(account, Mapping) or not isinstance(positions, list):
        raise AdapterError(
            Status.ERROR, "alpaca sent an account or positions list of the wrong shape"
        )
    currency = str(account.get("currency") or "USD")
    cash = _decimal(account.get("cash"), "cash", "alpaca", signed=True)
    equity = _decimal(account.get("equity"), "equity", "alpaca", signed=True)
    in_positions = _decimal(
        account.get("position_market_value"), "position value", "alpaca", signed=True
    )
    if cash is None or equity is None:
        raise AdapterError(Status.ERROR, "alpaca account has no cash or equity")
    # cash excludes what open orders hold; equity minus the positions is all the cash
    cash_total = equity - in_positions if in_positions is not None else cash
    amounts: dict[str, Decimal] = {}
    prices: dict[str, Decimal] = {}
    for position in positions:
        if not isinstance(position, Mapping):
            raise AdapterError(Status.ERROR, "alpaca sent a position of the wrong shape")
        code = _alpaca_code(position)
        qty = _decimal(position.get("qty"), f"quantity of {code}", "alpaca", signed=True)
        if not code or qty is None:
            continue
        price = _decimal(position.get("current_price"), f"price of {code}", "alpaca")
        if price is None and qty:
            value = _decimal(
                position.get("market_value"), f"value of {code}", "alpaca", signed=True
            )
            price = value / qty if value is not None else None
        amounts[code] = amounts.get(code, Decimal(0)) + qty
        if price is not None:
            prices[code] = price
    free = min(cash, cash_total)
    assets = [AssetAmount(currency, free=free, used=cash_total - free, total=cash_total)]
    assets += [AssetAmount(c, free=q, used=Decimal(0), total=q) for c, q in sorted(amounts.items())]
    return Holdings(assets=tuple(assets), prices=prices, equity=equity, cash=cash_total)


# --------------------------------------------------------------------------- raw answers


class _NotABalance(Exception):
    """What is wrong with a raw balance answer, in one short phrase."""


def _kind(value: Any) -> str:
    """The JSON type of `value`, as a phrase: `null`, `true`, `a string`, `an array`, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__  # pragma: no cover - JSON has no other types


def _label(where: str) -> str:
    return f'"{where}"' if where else "the answer"


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _NotABalance(f"{_label(where)} is {_kind(value)}, not an object")
    return value


def _array(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _NotABalance(f"{_label(where)} is {_kind(value)}, not an array")
    return value


def _member(obj: Mapping[str, Any], name: str, where: str) -> Any:
    path = f"{where}.{name}" if where else name
    if name not in obj:
        raise _NotABalance(f'no "{path}"')
    return obj[name]


def _amount(value: Any, where: str) -> None:
    """An amount is a number or a string (a string that is no number fails later, by name)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _NotABalance(f'"{where}" is {_kind(value)}, not an amount')


def _short(name: str) -> str:
    return name if len(name) <= 24 else name[:23] + "…"


def _kraken_balance_ex(answer: Any) -> None:
    """`{"error": [], "result": {"XXBT": {"balance": "1.5", "hold_trade": "0.5"}, ...}}`."""
    result = _object(_member(_object(answer, ""), "result", ""), "result")
    for asset, entry in result.items():
        where = f"result.{_short(str(asset))}"
        entry = _object(entry, where)
        _amount(_member(entry, "balance", where), f"{where}.balance")
        if "hold_trade" in entry:
            _amount(entry["hold_trade"], f"{where}.hold_trade")


def _coinbase_accounts(answer: Any) -> None:
    """`{"accounts": [{"currency": "BTC", "type": "ACCOUNT_TYPE_CRYPTO",
    "available_balance": {"value": "1.5", "currency": "BTC"}, "hold": {...}}], ...}`."""
    accounts = _array(_member(_object(answer, ""), "accounts", ""), "accounts")
    for index, account in enumerate(accounts):
        where = f"accounts[{index}]"
        account = _object(account, where)
        for part in ("available_balance", "hold"):
            value = _object(_member(account, part, where), f"{where}.{part}")
            _amount(_member(value, "value", f"{where}.{part}"), f"{where}.{part}.value")


#: The raw balance answers there is a check for, by the name `Quirks.answer_checks` uses.
ANSWER_CHECKS: Mapping[str, Callable[[Any], None]] = {
    "kraken_balance_ex": _kraken_balance_ex,
    "coinbase_accounts": _coinbase_accounts,
}


def check_answer(check: str, answer: Any, exchange: str) -> None:
    """Raise `AdapterError` (`error`) when `answer` does not have the shape of a balance.

    A well-formed empty balance (no assets) passes: an empty account is worth $0.
    """
    try:
        ANSWER_CHECKS[check](answer)
    except _NotABalance as wrong:
        raise AdapterError(
            Status.ERROR, f"{exchange} sent an answer that is not a balance: {wrong}"
        ) from None


# --------------------------------------------------------------------------- what ccxt leaves out


def _coinbase_uncounted(info: Any, options: Mapping[str, Any], exchange: str) -> tuple[str, ...]:
    """Money in Coinbase accounts of a type ccxt does not read (its `v3Accounts` option):
    ccxt drops them from the balance without a word."""
    counted: Collection[str] = options.get("v3Accounts") or ()
    accounts = info.get("accounts") if isinstance(info, Mapping) else None
    totals: dict[tuple[str, str], Decimal] = {}
    for account in accounts if isinstance(accounts, list) else ():
        kind = str(account.get("type"))
        if kind in counted:
            continue
        available, hold = account.get("available_balance") or {}, account.get("hold") or {}
        currency = str(available.get("currency") or account.get("currency") or "?")
        amount = sum(
            (
                _decimal(part.get("value"), f"amount of {currency}", exchange) or Decimal(0)
                for part in (available, hold)
            ),
            Decimal(0),
        )
        if amount:
            totals[(kind, currency)] = totals.get((kind, currency), Decimal(0)) + amount
    return tuple(
        f"not counted: {amount.normalize():f} {currency} in an account of type {kind}"
        for (kind, currency), amount in sorted(totals.items())
    )


#: What ccxt's balance leaves out, by the name `Quirks.balance_notes` uses:
#: (the balance's `info`, the instance's `options`, exchange) -> one note per line.
BALANCE_NOTES: Mapping[str, Callable[[Any, Mapping[str, Any], str], tuple[str, ...]]] = {
    "coinbase_uncounted": _coinbase_uncounted,
}
