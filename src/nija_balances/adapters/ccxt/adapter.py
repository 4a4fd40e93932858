"""The ccxt adapter: every exchange ccxt knows, through `ccxt.async_support`.

The only module (with `errors`) that imports ccxt, and only once something must be
fetched. During one refresh one `CcxtAdapter` serves every connection of one exchange:

- one ccxt instance per API key (Kraken nonces), reused by connections with the same key;
- one SSL context for the whole process and one aiohttp connector per adapter, shared by
  every instance (ccxt would otherwise build an SSL context, ~60 ms, per instance);
- markets loaded once by a keyless instance, shared with every keyed instance
  (`set_markets_from_exchange`) and kept in the `MarketStore` for an hour;
- at most one ticker call per refresh (`fetch_tickers` for ASSET/quote, ASSET/USDT, ASSET/USDC);
- at most `max_in_flight` HTTP requests in flight per exchange across all adapters and
  accounts of the event loop: `settings.max_in_flight`, or while that is left at its
  default, the exchange's own default from its documented limits (`Quirks.max_in_flight`);
- every failure mapped to an `AdapterError` in `errors`, secrets redacted;
- ccxt imported (in a thread), instances built and cached markets restored in `prepare`,
  before the engine starts any connection's timeout: the timeout measures the exchange.

Amounts are read from the answers in `amounts`; the SSL context, request slots and
instance clones live in `transport`; what differs between exchanges is data in `quirks`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Collection, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from nija_balances.adapters.ccxt.amounts import (
    BALANCE_NOTES,
    alpaca_holdings,
    assets_from_balance,
    check_answer,
    ticker_price,
)
from nija_balances.adapters.ccxt.errors import clean_message, to_adapter_error
from nija_balances.adapters.ccxt.quirks import quirks_for
from nija_balances.adapters.ccxt.transport import (
    GuardedSession,
    clone_instance,
    gather_or_cancel,
    import_in_thread,
    quiet_ccxt_logging,
    request_slots,
    shared_ssl_context,
)
from nija_balances.adapters.interface import (
    AdapterError,
    HistoryPage,
    HistoryRequest,
    MarketStore,
    NotedHoldings,
)
from nija_balances.domain.models import ConnectionConfig, Holdings, Settings, Status
from nija_balances.domain.secrets import Credentials

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger(__name__)

MARKETS_MAX_AGE = 3600.0
MARKETS_FORMAT = 1

#: USD-pegged quotes whose pairs price an asset at par when ASSET/USD is not listed.
PAR_QUOTES = ("USDT", "USDC")

#: Connection `ccxt` keys that make the instance keep its own HTTP session.
_OWN_TRANSPORT_KEYS = frozenset({"verify", "cafile", "aiohttp_trust_env"})


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `override` merged in, recursively for nested tables."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def max_in_flight(exchange: str, settings: Settings) -> int:
    """The cap on requests in flight to `exchange`: the setting, or while it is left at its
    default, the exchange's documented one (`Quirks.max_in_flight`)."""
    own = quirks_for(exchange).max_in_flight
    if own is not None and settings.max_in_flight == Settings().max_in_flight:
        return own
    return settings.max_in_flight


class CcxtAdapter:
    """Balances and prices of every connection of one ccxt exchange during one refresh."""

    def __init__(self, exchange: str, settings: Settings, markets: MarketStore | None) -> None:
        self.exchange = exchange
        self.quirks = quirks_for(exchange)
        self.settings = settings
        self.max_in_flight = max_in_flight(exchange, settings)
        self.store = markets
        self._instances: dict[str, Any] = {}
        self._templates: dict[str, Any] = {}
        self._table_keys: dict[int, tuple[Mapping[str, Any], str]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._publics: list[Any] = []  # keyless instances holding markets, one per `ccxt` table
        self._first_overrides: Mapping[str, Any] | None = None
        self._answered_overrides: Mapping[str, Any] | None = None  # of a connection that answered
        self._markets_tasks: dict[str, asyncio.Future[Any]] = {}
        self._prepared_publics: dict[str, Any] = {}  # built by `prepare`, markets not loaded
        self._connector: aiohttp.BaseConnector | None = None
        self._sessions: list[aiohttp.ClientSession] = []  # the sessions `GuardedSession`s wrap
        self._closed = False
        self._wire_log = quiet_ccxt_logging()  # ccxt logs API-Key, API-Sign, nonces at DEBUG

    # ------------------------------------------------------------------ Adapter protocol

    async def prepare(self, jobs: Collection[tuple[ConnectionConfig, Credentials]]) -> None:
        """Everything before the first request that costs only CPU: import ccxt (in a thread:
        ~1 s, far more on a busy machine, and the event loop stays free), build each key's
        instance, restore the markets kept in the store. A connection whose instance cannot
        be built is left for its own `fetch_holdings` to report."""
        await import_in_thread("ccxt.async_support")
        tables: dict[str, Mapping[str, Any]] = {}
        for connection, credentials in jobs:
            if not credentials.api_key or not credentials.api_secret:
                continue
            if self._first_overrides is None:  # prices may be asked before any balance
                self._first_overrides = connection.ccxt
            tables.setdefault(self._table_key(connection.ccxt), connection.ccxt)
            ident = self._identity(connection, credentials)
            if ident in self._instances:
                continue
            try:
                self._instances[ident] = self._create(connection.ccxt, credentials)
            except Exception as exc:
                log.debug("preparing a %s instance failed: %r", self.exchange, exc)
        if self.quirks.holdings != "balance":  # no markets needed
            return
        for key, overrides in tables.items():
            if key in self._markets_tasks or key in self._prepared_publics:
                continue
            try:
                public = self._create(overrides, None)
            except Exception as exc:
                log.debug("preparing a public %s instance failed: %r", self.exchange, exc)
                continue
            self._publics.append(public)
            if self._restore_markets(public):
                loaded: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                loaded.set_result(public)
                self._markets_tasks[key] = loaded
            else:  # loaded from the exchange by the first connection that needs them
                self._prepared_publics[key] = public

    async def fetch_holdings(
        self, connection: ConnectionConfig, credentials: Credentials
    ) -> Holdings:
        secrets = credentials.secrets()
        try:
            return await self._fetch_holdings(connection, credentials)
        except Exception as exc:
            raise to_adapter_error(exc, self.exchange, secrets, self.settings.timeout) from None

    async def fetch_prices(self, currencies: Collection[str], quote: str) -> Mapping[str, Decimal]:
        wanted = sorted({c for c in currencies if c and c != quote})
        if not wanted or not self.quirks.ticker_prices:
            return {}
        try:
            return await self._fetch_prices(wanted, quote)
        except Exception as exc:
            raise to_adapter_error(exc, self.exchange, (), self.settings.timeout) from None

    async def aclose(self) -> None:
        self._closed = True
        tasks = list(self._markets_tasks.values())
        for task in tasks:
            task.cancel()  # no-op when done; gather retrieves its outcome
        await asyncio.gather(*tasks, return_exceptions=True)
        instances = [*self._instances.values(), *self._publics]
        self._instances.clear()
        self._templates.clear()  # never opened: nothing to close
        self._prepared_publics.clear()  # in `_publics` too
        self._publics = []
        results = await asyncio.gather(*(i.close() for i in instances), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                log.debug("closing a %s instance failed: %r", self.exchange, result)
        sessions, self._sessions = self._sessions, []
        for session in sessions:
            await session.close()
        if self._connector is not None:
            await self._connector.close()
            self._connector = None

    # ------------------------------------------------------------------ history

    def history_pages(
        self, connection: ConnectionConfig, credentials: Credentials, request: HistoryRequest
    ) -> AsyncIterator[HistoryPage]:
        """The account's trades or flows page by page (`HistoryAdapter`; see `history`)."""
        from nija_balances.adapters.ccxt.history import history_pages

        return history_pages(self, connection, credentials, request)

    async def history_instance(
        self, connection: ConnectionConfig, credentials: Credentials
    ) -> tuple[Any, asyncio.Lock]:
        """The key's instance with its markets, and the lock its requests are made under."""
        if not credentials.api_key or not credentials.api_secret:
            raise AdapterError(Status.NO_CREDENTIALS, "no API key and secret")
        await import_in_thread("ccxt.async_support")  # the event loop stays free meanwhile
        ident = self._identity(connection, credentials)
        instance = self._instances.get(ident)
        if instance is None:
            instance = self._instances[ident] = self._create(connection.ccxt, credentials)
        lock = self._locks.setdefault(ident, asyncio.Lock())
        if instance.markets is None:
            if self.quirks.holdings == "balance":
                instance.set_markets_from_exchange(await self._markets(connection.ccxt))
            else:  # Alpaca: its asset list is private
                async with lock:
                    await instance.load_markets()
        return instance, lock

    # ------------------------------------------------------------------ holdings

    async def _fetch_holdings(
        self, connection: ConnectionConfig, credentials: Credentials
    ) -> Holdings:
        if not credentials.api_key or not credentials.api_secret:
            raise AdapterError(Status.NO_CREDENTIALS, "no API key and secret")
        if self._first_overrides is None:
            self._first_overrides = connection.ccxt
        ident = self._identity(connection, credentials)
        instance = self._instances.get(ident)
        if instance is None:
            instance = self._create(connection.ccxt, credentials)
            self._instances[ident] = instance
        lock = self._locks.setdefault(ident, asyncio.Lock())
        async with lock:  # one request at a time per key: nonces stay in order
            if self.quirks.holdings == "alpaca_positions":  # no nonces: both requests at once
                account, positions = await gather_or_cancel(
                    instance.traderPrivateGetV2Account(), instance.traderPrivateGetV2Positions()
                )
                return alpaca_holdings(account, positions)
            if instance.markets is None:
                instance.set_markets_from_exchange(await self._markets(connection.ccxt))
            balance = await instance.fetch_balance()
            if self._answered_overrides is None:
                self._answered_overrides = connection.ccxt
        if not isinstance(balance, Mapping):
            raise AdapterError(Status.ERROR, f"{self.exchange} sent a balance of the wrong shape")
        assets = assets_from_balance(balance, self.exchange)
        if self.quirks.balance_notes is not None:
            notes = BALANCE_NOTES[self.quirks.balance_notes](
                balance.get("info"), instance.options, self.exchange
            )
            if notes:
                return NotedHoldings(assets=assets, notes=notes)
        return Holdings(assets=assets)

    def _table_key(self, overrides: Mapping[str, Any]) -> str:
        """One key per distinct `ccxt` table (markets are loaded once per table); kept per
        table object, since every connection asks again."""
        held = self._table_keys.get(id(overrides))
        if held is None or held[0] is not overrides:
            held = (overrides, json.dumps(overrides, sort_keys=True, default=str))
            self._table_keys[id(overrides)] = held
        return held[1]

    def _identity(self, connection: ConnectionConfig, credentials: Credentials) -> str:
        overrides = self._table_key(connection.ccxt)
        parts = (credentials.api_key, credentials.api_secret, credentials.api_passphrase, overrides)
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    # ------------------------------------------------------------------ prices

    async def _fetch_prices(self, wanted: list[str], quote: str) -> dict[str, Decimal]:
        # the markets of a connection that answered: another one's URL may be the broken part
        source = await self._markets(self._answered_overrides or self._first_overrides or {})
        markets: Mapping[str, Any] = source.markets or {}
        candidates: dict[str, list[str]] = {}
        for currency in wanted:
            symbols = [f"{currency}/{quote}"]
            if quote == "USD":
                symbols += [f"{currency}/{par}" for par in PAR_QUOTES]
            listed = [s for s in symbols if s in markets and markets[s].get("active") is not False]
            if listed:
                candidates[currency] = listed
        symbols = sorted({s for listed in candidates.values() for s in listed})
        if not symbols:
            return {}
        if source.has.get("fetchTickers"):
            tickers = await source.fetch_tickers(symbols)
        else:  # rare: exchanges without fetchTickers get one ticker call per symbol
            found = await asyncio.gather(*(source.fetch_ticker(s) for s in symbols))
            tickers = dict(zip(symbols, found, strict=True))
        prices: dict[str, Decimal] = {}
        for currency, listed in candidates.items():
            for symbol in listed:
                price = ticker_price(tickers.get(symbol), self.exchange)
                if price is not None:
                    prices[currency] = price
                    break
        return prices

    # ------------------------------------------------------------------ markets

    async def _markets(self, overrides: Mapping[str, Any]) -> Any:
        """The keyless instance holding this exchange's markets, loading them once per
        `ccxt` table (one for the whole exchange, unless connections point at other URLs).

        The load runs as its own task, so a connection cancelled by its timeout does not
        cancel it for the others; a failed load fails every connection with the same
        `ccxt` table alike (instead of each retrying it), and no other.
        """
        key = self._table_key(overrides)
        task = self._markets_tasks.get(key)
        if task is None:
            task = self._markets_tasks[key] = asyncio.ensure_future(self._load_markets(overrides))
        try:
            return await asyncio.shield(task)
        except AdapterError as exc:
            raise AdapterError(exc.status, f"loading markets failed: {exc.message}") from None

    async def _load_markets(self, overrides: Mapping[str, Any]) -> Any:
        public = self._prepared_publics.pop(self._table_key(overrides), None)
        if public is None:
            public = self._create(overrides, None)
            self._publics.append(public)
        try:
            if not self._restore_markets(public):
                if self.quirks.parallel_currencies and public.has.get("fetchCurrencies"):
                    currencies, markets = await gather_or_cancel(
                        public.fetch_currencies(), public.fetch_markets()
                    )
                    public.set_markets(markets, currencies)
                else:
                    await public.load_markets()
                self._save_markets(public)
        except Exception as exc:
            raise to_adapter_error(exc, self.exchange, (), self.settings.timeout) from None
        return public

    def _restore_markets(self, instance: Any) -> bool:
        if self.store is None:
            return False
        import ccxt

        try:
            saved = self.store.load_markets(self.exchange, MARKETS_MAX_AGE)
        except Exception as exc:  # a broken cache never stops a refresh
            log.debug("reading cached markets of %s failed: %r", self.exchange, exc)
            return False
        if (
            not saved
            or saved.get("format") != MARKETS_FORMAT
            or saved.get("ccxt") != ccxt.__version__
            or not isinstance(saved.get("markets"), list)
            or not saved["markets"]
        ):
            return False
        try:
            instance.set_markets(saved["markets"], saved.get("currencies") or None)
            for name, value in (saved.get("helpers") or {}).items():
                instance.options[name] = value
        except Exception as exc:
            log.debug("cached markets of %s unusable: %r", self.exchange, exc)
            instance.markets = None
            return False
        return True

    def _save_markets(self, instance: Any) -> None:
        if self.store is None:
            return
        import ccxt

        helpers = instance.options.get("marketHelperProps") or []
        payload = {
            "format": MARKETS_FORMAT,
            "ccxt": ccxt.__version__,
            "markets": list((instance.markets or {}).values()),
            "currencies": dict(instance.currencies or {}),
            "helpers": {name: instance.options.get(name) for name in helpers},
        }
        try:
            snapshot = json.loads(json.dumps(payload, allow_nan=False))
            self.store.save_markets(self.exchange, snapshot)
        except Exception as exc:  # markets that do not serialise are simply not cached
            log.debug("caching markets of %s failed: %r", self.exchange, exc)

    # ------------------------------------------------------------------ instances

    def _create(self, overrides: Mapping[str, Any], credentials: Credentials | None) -> Any:
        """A ccxt instance on the shared transport, its requests capped and checked."""
        if self._closed:
            raise AdapterError(Status.ERROR, "adapter already closed")
        import ccxt.async_support as ccxt_async

        if credentials is None:
            instance = getattr(ccxt_async, self.exchange)(self._config(overrides))
        else:  # one instance per key, cloned: constructing each would cost ~1-2 ms CPU
            instance = clone_instance(self._template(overrides))
            secret = credentials.api_secret or ""
            if "-----BEGIN" in secret and "\\n" in secret:  # a PEM pasted on one line
                secret = secret.replace("\\n", "\n")
            given = {
                "apiKey": credentials.api_key,
                "secret": secret,
                "password": credentials.api_passphrase,
            }
            for name, value in given.items():
                if value and name not in overrides:  # the `ccxt` table wins, as it always did
                    setattr(instance, name, value)
        instance.timeout_on_exit = 0  # ccxt sleeps 250 ms in close() otherwise
        # `verbose` prints every request, API key and signature included, on stdout: never,
        # whatever the `ccxt` table says (the config loader owns that table's checks)
        instance.verbose = False
        instance.logger = self._wire_log
        if credentials is not None and self.quirks.exact_balances:
            instance.number = str
        # every request goes through a `GuardedSession` of ours, never a session ccxt builds
        if _OWN_TRANSPORT_KEYS & set(overrides):
            instance.session = self._own_session(instance)
        else:
            instance.ssl_context = shared_ssl_context()
            instance.session = self._new_session()
        instance.own_session = False
        self._limit(instance)
        return instance

    def _config(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        config: dict[str, Any] = deep_merge(
            self.quirks.ccxt_config(),
            {"enableRateLimit": True, "timeout": int(self.settings.timeout * 1000)},
        )
        return deep_merge(config, overrides)

    def _template(self, overrides: Mapping[str, Any]) -> Any:
        """The keyless instance (never opened) that the per-key instances are cloned from."""
        import ccxt.async_support as ccxt_async

        key = self._table_key(overrides)
        if key not in self._templates:
            self._templates[key] = getattr(ccxt_async, self.exchange)(self._config(overrides))
        return self._templates[key]

    def _new_session(self) -> GuardedSession:
        import aiohttp

        if self._connector is None:
            self._connector = aiohttp.TCPConnector(
                ssl=shared_ssl_context(),
                limit=max(1, self.max_in_flight),
                family=socket.AF_UNSPEC,
                happy_eyeballs_delay=0,
            )
        # one session (own cookies) per instance, one connection pool for all of them
        session = aiohttp.ClientSession(connector=self._connector, connector_owner=False)
        self._sessions.append(session)
        return GuardedSession(session, self.exchange)

    def _own_session(self, instance: Any) -> GuardedSession:
        """A session with its own connector for an instance whose `ccxt` table sets how TLS
        is checked (`verify`, `cafile`) or asks for the environment's proxies, as ccxt's
        `open()` would build it."""
        import aiohttp

        context = ssl.create_default_context(cafile=instance.cafile) if instance.verify else False
        instance.ssl_context = context
        connector = aiohttp.TCPConnector(
            ssl=context,
            limit=max(1, self.max_in_flight),
            family=socket.AF_UNSPEC,
            happy_eyeballs_delay=0,
        )
        session = aiohttp.ClientSession(
            connector=connector, trust_env=bool(instance.aiohttp_trust_env)
        )
        self._sessions.append(session)
        return GuardedSession(session, self.exchange)

    def _limit(self, instance: Any) -> None:
        """Hold a request slot around every HTTP request; reject answers that are not JSON,
        and balance answers that are not a balance (before ccxt reads them as empty)."""
        slots = request_slots(self.exchange, self.max_in_flight)
        fetch = instance.fetch
        exchange = self.exchange
        checks = self.quirks.answer_checks

        async def limited_fetch(
            url: str, method: str = "GET", headers: Any = None, body: Any = None
        ) -> Any:
            async with slots:
                response = await fetch(url, method, headers, body)
            if not isinstance(response, (dict, list)):
                start = clean_message(str(response), (), limit=60) or "an empty body"
                raise AdapterError(
                    Status.ERROR, f"{exchange} sent a response that is not JSON: {start}"
                )
            if checks:
                path = urlsplit(url).path
                for suffix, check in checks.items():
                    if path.endswith(suffix):
                        check_answer(check, response, exchange)
            return response

        instance.fetch = limited_fetch
