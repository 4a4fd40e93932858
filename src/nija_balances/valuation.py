"""Holdings -> cash and equity in the quote currency (DESIGN.md §4), exactly, in Decimal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from nija_balances.adapters.interface import Holdings
from nija_balances.models import ZERO, AssetValue, Settings, Valuation, to_cents

ONE = Decimal(1)


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
        if a.total != 0 and a.currency not in cash and a.currency not in h.prices
    }


def value(holdings: Holdings, prices: Mapping[str, Decimal], settings: Settings) -> Valuation:
    """Value every asset; unpriced ones are listed, never valued at zero silently.

    Each asset's value is rounded to the cent first, and cash/equity are sums of those
    values, so a report's rows always add up to its totals.
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
        if price is None:
            if asset.total != 0:
                unpriced.append(asset.currency)
            assets.append(
                AssetValue(asset.currency, asset.free, asset.used, asset.total, None, None)
            )
            continue
        worth = to_cents(asset.total * price)
        assets.append(AssetValue(asset.currency, asset.free, asset.used, asset.total, price, worth))
        equity += worth
        if asset.currency in cash_set:
            cash += worth
    if holdings.cash is not None:
        cash = to_cents(holdings.cash)
    if holdings.equity is not None:
        equity = to_cents(holdings.equity)
    return Valuation(cash=cash, equity=equity, assets=tuple(assets), unpriced=tuple(unpriced))
