"""Holdings -> cash and equity in the quote currency, exactly, in Decimal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, localcontext

from nija_balances.domain.models import ZERO, AssetValue, Holdings, Settings, Valuation, to_cents

ONE = Decimal(1)
#: A value at or beyond this (in the quote currency) is not a balance but garbage from an
#: exchange; it is listed as unpriced instead of being summed. It also keeps every total
#: well inside the 28 digits (cents included) that Decimal sums are exact to.
MAX_VALUE = Decimal("1e18")


def cash_currencies(settings: Settings) -> frozenset[str]:
    """The quote currency and the stablecoins valued at par."""
    return frozenset({settings.quote, *settings.stablecoins})


def currencies_to_price(holdings: Iterable[Holdings], settings: Settings) -> set[str]:
    """Non-cash currencies held (non-zero) that no adapter price covers yet."""
    cash = cash_currencies(settings)
    return {
        a.currency
        for h in holdings
        for a in h.assets
        if _held(a.total) and a.currency not in cash and a.currency not in h.prices
    }


def _held(amount: Decimal) -> bool:
    """Non-zero, or not a number at all (NaN/inf are never silently zero); never raises."""
    return not amount.is_finite() or not amount.is_zero()


def _plain_zero(amount: Decimal) -> Decimal:
    """`-0` (and `-0.00`) as `0`: it would print as `-0.00`."""
    return amount.copy_abs() if amount.is_zero() else amount


def worth(amount: Decimal, price: Decimal) -> Decimal | None:
    """`amount × price` rounded to the cent from the exact product; None when either is not a
    finite number or the value is out of range (see `MAX_VALUE`). Never raises."""
    if not (amount.is_finite() and price.is_finite()):
        return None
    digits = len(amount.as_tuple().digits) + len(price.as_tuple().digits)
    with localcontext(Context(prec=max(28, digits + 2), Emax=MAX_EMAX, Emin=MIN_EMIN)):
        product = amount * price  # exact: the precision holds every digit of the product
        if abs(product) >= MAX_VALUE:
            return None
        return _plain_zero(to_cents(product))


def value(holdings: Holdings, prices: Mapping[str, Decimal], settings: Settings) -> Valuation:
    """Value every asset; unpriced ones are listed, never valued at zero silently.

    Each asset's value is rounded to the cent first, and cash/equity are sums of those
    values, so a report's rows always add up to its totals. An amount or price that is not a
    finite number, or a value out of range, leaves the asset unpriced; nothing here raises.
    """
    cash_set = cash_currencies(settings)
    assets: list[AssetValue] = []
    unpriced: list[str] = []
    cash = ZERO
    equity = ZERO
    for asset in sorted(holdings.assets, key=lambda a: (a.currency not in cash_set, a.currency)):
        price: Decimal | None
        if asset.currency in cash_set:
            price = ONE
        else:
            price = holdings.prices.get(asset.currency, prices.get(asset.currency))
        amounts = (_plain_zero(asset.free), _plain_zero(asset.used), _plain_zero(asset.total))
        asset_worth = None if price is None else worth(asset.total, price)
        if asset_worth is None:
            if _held(asset.total) or price is not None:
                unpriced.append(asset.currency)
            assets.append(AssetValue(asset.currency, *amounts, None, None))
            continue
        assert price is not None
        assets.append(AssetValue(asset.currency, *amounts, _plain_zero(price), asset_worth))
        equity += asset_worth
        if asset.currency in cash_set:
            cash += asset_worth
    if holdings.cash is not None and (reported := worth(holdings.cash, ONE)) is not None:
        cash = reported
    if holdings.equity is not None and (reported := worth(holdings.equity, ONE)) is not None:
        equity = reported
    return Valuation(cash=cash, equity=equity, assets=tuple(assets), unpriced=tuple(unpriced))
