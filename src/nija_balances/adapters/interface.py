"""The one interface every exchange adapter implements.

An adapter *factory* is registered per exchange id. During one refresh the service builds
one adapter per exchange and hands it every connection of that exchange, so an adapter can
share what is per exchange (markets, one ticker call, an SSL context, a request cap) across
all accounts, while keeping what is per key (Kraken nonces) per key.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from nija_balances.domain.models import ConnectionConfig, Holdings, Settings, Status
from nija_balances.domain.secrets import Credentials


class AdapterError(Exception):
    """A failure with a §5 status. The message must never contain a secret."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@runtime_checkable
class Adapter(Protocol):
    """Fetches balances and prices for all connections of one exchange during one refresh."""

    async def fetch_holdings(
        self, connection: ConnectionConfig, credentials: Credentials
    ) -> Holdings:
        """Return the account's assets, or raise `AdapterError` (other exceptions -> `error`)."""
        ...

    async def fetch_prices(self, currencies: Collection[str], quote: str) -> Mapping[str, Decimal]:
        """Prices in `quote` for as many of `currencies` as the exchange lists.

        Called at most once per refresh per exchange. Currencies it cannot price are left out
        (they are shown as unpriced). May raise; a price failure leaves assets unpriced.
        """
        ...

    async def aclose(self) -> None:
        """Release every connection; always awaited, also after errors."""
        ...


class MarketStore(Protocol):
    """Where adapters keep per-exchange market lists between runs (the on-disk cache)."""

    def load_markets(self, exchange: str, max_age: float) -> dict[str, Any] | None:
        """The markets saved for `exchange` if younger than `max_age` seconds, else None."""
        ...

    def save_markets(self, exchange: str, markets: dict[str, Any]) -> None: ...


class AdapterFactory(Protocol):
    """Builds the adapter for one exchange id for one refresh.

    `markets` is None when no store is available (then markets are loaded from the exchange).
    """

    def __call__(
        self, exchange: str, settings: Settings, markets: MarketStore | None
    ) -> Adapter: ...


@dataclass(frozen=True)
class AdapterSpec:
    """A registered adapter: what it serves and how to build it.

    `exchanges` is the set of exchange ids it serves, or None for "ask `serves`" (ccxt serves
    every id ccxt knows, which is only learnt by importing ccxt).
    """

    name: str
    factory: AdapterFactory
    requires_credentials: bool = True
    exchanges: frozenset[str] | None = None
    cacheable: bool = True  # False for adapters whose data is local (paper): always fresh
