"""Amounts out of exchange answers: ccxt's unified balance, tickers, and Alpaca's account
and positions. Plain data in, `AssetAmount`s, `Holdings` and Decimals out; junk raises
`AdapterError`. No ccxt here.
"""

from __future__ import annotations

from collections.abc import Mapping
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
