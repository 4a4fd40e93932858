"""Simulated accounts whose balances and prices come from the config: no network."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal

from nija_balances.domain.models import ZERO, AssetAmount, ConnectionConfig, Holdings
from nija_balances.domain.secrets import Credentials


class PaperAdapter:
    """Serves `exchange = "paper"` connections from their `balances` and `prices` tables."""

    async def fetch_holdings(
        self, connection: ConnectionConfig, credentials: Credentials
    ) -> Holdings:
        assets = tuple(
            AssetAmount(currency=currency, free=amount, used=ZERO, total=amount)
            for currency, amount in connection.paper_balances.items()
        )
        return Holdings(assets=assets, prices=dict(connection.paper_prices))

    async def fetch_prices(self, currencies: Collection[str], quote: str) -> Mapping[str, Decimal]:
        return {}

    async def aclose(self) -> None:
        return None
