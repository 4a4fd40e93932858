"""Simulated accounts whose balances and prices come from the config: no network.

A paper connection's table may hold `balances` and `prices` (currency = amount); `OPTIONS`
declares and checks them for the config loader.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal

from nija_balances.adapters.interface import OptionSpec
from nija_balances.domain.models import ZERO, AssetAmount, ConnectionConfig, Holdings
from nija_balances.domain.secrets import Credentials
from nija_balances.domain.syntax import amounts_table

OPTIONS: Mapping[str, OptionSpec] = {
    "balances": OptionSpec(amounts_table, "what the account holds: currency = amount"),
    "prices": OptionSpec(amounts_table, "prices in the quote currency: currency = price"),
}


class PaperAdapter:
    """Serves `exchange = "paper"` connections from their `balances` and `prices` options."""

    async def fetch_holdings(
        self, connection: ConnectionConfig, credentials: Credentials
    ) -> Holdings:
        balances: Mapping[str, Decimal] = connection.options.get("balances", {})
        prices: Mapping[str, Decimal] = connection.options.get("prices", {})
        assets = tuple(
            AssetAmount(currency=currency, free=amount, used=ZERO, total=amount)
            for currency, amount in balances.items()
        )
        return Holdings(assets=assets, prices=dict(prices))

    async def fetch_prices(self, currencies: Collection[str], quote: str) -> Mapping[str, Decimal]:
        return {}

    async def aclose(self) -> None:
        return None
