"""The one interface every exchange adapter implements.

An adapter *factory* is registered per exchange id. During one refresh the service builds
one adapter per exchange and hands it every connection of that exchange, so an adapter can
share what is per exchange (markets, one ticker call, an SSL context, a request cap) across
all accounts, while keeping what is per key (Kraken nonces) per key.

An adapter declares the keys it reads from a connection's table beside the common ones
(`AdapterSpec.options`) and checks them itself; the config loader calls those checks, so
they must import nothing heavy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from nija_balances.domain.history import Fill, Flow
from nija_balances.domain.models import ConnectionConfig, Holdings, Settings, Status
from nija_balances.domain.secrets import Credentials

if TYPE_CHECKING:
    from nija_balances.domain.syntax import Locator


class AdapterError(Exception):
    """A failure with the status it is reported with. The message must never contain a secret."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class NotedHoldings(Holdings):
    """`Holdings` with what the adapter saw but could not count, one line each (money in an
    account of a kind it cannot read). Shown on the connection like a note on unpriced
    assets: it is still `ok`, and the note says what its value leaves out."""

    notes: tuple[str, ...] = ()


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


@runtime_checkable
class PreparingAdapter(Protocol):
    """An adapter with set-up to do before any connection's timeout starts.

    `settings.timeout` is how long an exchange may take to answer; importing a client library
    and building its objects is our start-up, which on a busy machine can take longer than
    that. The engine awaits `prepare` for every exchange, within a bound of its own, before
    it starts any connection's clock.
    """

    async def prepare(self, jobs: Collection[tuple[ConnectionConfig, Credentials]]) -> None:
        """Do the CPU-only set-up for these connections (no request to the exchange).

        Best effort: what fails for one connection is left for its `fetch_holdings` to report;
        raising fails every connection of the exchange alike.
        """
        ...


HistoryKind = Literal["trades", "flows"]


@dataclass(frozen=True)
class HistoryRequest:
    """What a history sync asks of an adapter for one connection and one kind.

    `cursor` is the one the adapter gave with the last page stored (None: from the start);
    `currencies` are the assets ever seen on the account (snapshots and flows), for
    exchanges that want a market per call (Binance); `quote` is the valuation currency.
    """

    kind: HistoryKind
    cursor: str | None = None
    currencies: frozenset[str] = frozenset()
    quote: str = "USD"


@dataclass(frozen=True)
class HistoryPage:
    """One page of an account's trades or flows, and where to resume after it.

    The engine stores a page's items and its `cursor` in one write, so a sync that stops
    part-way resumes after the last page stored. Items may repeat across pages (the store
    de-duplicates by exchange id); `cursor` is the adapter's own text (e.g. JSON).
    """

    fills: tuple[Fill, ...] = ()
    flows: tuple[Flow, ...] = ()
    cursor: str | None = None


class HistoryUnsupported(Exception):
    """The exchange cannot list this kind of history; the message says what is missing.

    Figures that need it are then `incomplete`, never zero."""


@runtime_checkable
class HistoryAdapter(Protocol):
    """An adapter that can list an account's trades (fills) and flows page by page."""

    def history_pages(
        self, connection: ConnectionConfig, credentials: Credentials, request: HistoryRequest
    ) -> AsyncIterator[HistoryPage]:
        """The pages after `request.cursor`, oldest items first where the exchange allows,
        ending when nothing newer is left. Raises `HistoryUnsupported`, or `AdapterError`
        (other exceptions -> `error`) when a page cannot be fetched; pages already yielded
        stay stored."""
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


OptionCheck = Callable[["Locator", tuple[str, ...], Any], Any]
"""Checks one option: (locator, key path, value as TOML gave it) -> the value to keep, or
raises the `ConfigError` of `locator.error(path, ...)` (file, line and key path)."""


@dataclass(frozen=True)
class OptionSpec:
    """One key an adapter reads from a connection's table, beside the common keys."""

    check: OptionCheck
    help: str  # one line: what the value is


@dataclass(frozen=True)
class AdapterSpec:
    """A registered adapter: what it serves and how to build it.

    `exchanges` is the set of exchange ids it serves, or None when that is only learnt by
    asking the registry (ccxt serves every id ccxt knows, read from its package).
    `options` are the connection keys it reads, each with its check; a connection of this
    adapter may hold no other keys than the common ones and these.
    """

    name: str
    factory: AdapterFactory
    requires_credentials: bool = True
    exchanges: frozenset[str] | None = None
    cacheable: bool = True  # False for adapters whose data is local (paper): always fresh
    options: Mapping[str, OptionSpec] = field(default_factory=dict, hash=False)

    def read_options(
        self, loc: Locator, path: tuple[str, ...], table: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The declared options present in the connection `table` at `path`, each checked,
        in the order they are declared; other keys are not looked at."""
        return {
            key: option.check(loc, (*path, key), table[key])
            for key, option in self.options.items()
            if key in table
        }
