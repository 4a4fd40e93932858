"""A third-party adapter as a plugin package would ship it (loaded through an entry point)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

from nija_balances.adapters.interface import AdapterSpec, OptionSpec
from nija_balances.domain.models import AssetAmount, ConnectionConfig, Holdings, Settings
from nija_balances.domain.secrets import Credentials
from nija_balances.domain.syntax import Locator


class BrokerXAdapter:
    async def fetch_holdings(
        self, connection: ConnectionConfig, credentials: Credentials
    ) -> Holdings:
        usd = Decimal("42.10")
        return Holdings((AssetAmount("USD", usd, Decimal(0), usd),))

    async def fetch_prices(self, currencies: Collection[str], quote: str) -> Mapping[str, Decimal]:
        return {}

    async def aclose(self) -> None:
        return None


def _factory(exchange: str, settings: Settings, markets: Any) -> BrokerXAdapter:
    return BrokerXAdapter()


def _region(loc: Locator, path: tuple[str, ...], value: Any) -> str:
    if value not in ("eu", "us"):
        raise loc.error(path, f'expected "eu" or "us", got {value!r}')
    return str(value)


SPEC = AdapterSpec(
    name="brokerx",
    factory=_factory,
    requires_credentials=False,
    cacheable=False,
    options={"region": OptionSpec(_region, "which BrokerX site holds the account")},
)
