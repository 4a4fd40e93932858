"""The ccxt adapter, through ccxt over HTTP to the local mock exchanges (tests/mockex)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest

from mockex import (
    MOCKS,
    KrakenMock,
    MockExchange,
    Position,
)
from mockex.harness import (
    MARKETS_PATH,
    PRIVATE_PATH,
    TICKER_PATH,
    MemoryMarketStore,
    add_account,
    connection,
    new_credentials,
    wrong_secret,
)
from nija_balances.adapters.ccxt import amounts as ccxt_amounts
from nija_balances.adapters.ccxt.adapter import CcxtAdapter
from nija_balances.adapters.ccxt.catalog import ccxt_exchange_ids
from nija_balances.adapters.ccxt.errors import clean_message, to_adapter_error
from nija_balances.adapters.ccxt.quirks import DEFAULT_QUIRKS, QUIRKS, Quirks, quirks_for
from nija_balances.adapters.ccxt.transport import shared_ssl_context
from nija_balances.adapters.interface import Adapter, AdapterError
from nija_balances.domain.models import AssetAmount, Holdings, Settings, Status
from nija_balances.domain.secrets import Credentials
from nija_balances.domain.valuation import value

pytestmark = pytest.mark.network_mock

D = Decimal
FAST = Settings(timeout=5.0)
EXCHANGES = sorted(MOCKS)
PRICED = sorted(MARKETS_PATH)  # exchanges whose prices come from markets + tickers


class Session:
    """One mock and one adapter for it, both closed at the end."""

    def __init__(self, mock: MockExchange, settings: Settings, store: Any) -> None:
        self.mock = mock
        self.adapter = CcxtAdapter(mock.exchange_id, settings, store)

    async def holdings(self, creds: Credentials, account: str = "alice") -> Holdings:
        return await self.adapter.fetch_holdings(connection(self.mock, account), creds)

    async def failure(self, creds: Credentials) -> AdapterError:
        with pytest.raises(AdapterError) as info:
            await self.holdings(creds)
        return info.value


def open_session(
    exchange: str, settings: Settings = FAST, store: Any = None, **mock_kwargs: Any
) -> Any:
    """`async with open_session("kraken") as s:` — a mock of `exchange` and its adapter."""

    @asynccontextmanager
    async def run() -> AsyncIterator[Session]:
        async with MOCKS[exchange](**mock_kwargs) as mock:
            session = Session(mock, settings, store)
            try:
                yield session
            finally:
                await session.adapter.aclose()

    return run()


def amounts(holdings: Holdings) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    return {a.currency: (a.free, a.used, a.total) for a in holdings.assets}


# ---------------------------------------------------------------------------- per exchange


async def test_kraken_balance_ex_counts_held_funds_and_prices_exactly() -> None:
    prices = {"BTC/USD": "60000.10", "ETH/USD": "3000.05", "SOL/USDT": "150.5", "USDT/USD": "1"}
    async with open_session("kraken", prices=prices) as s:
        creds = add_account(
            s.mock,
            {
                "BTC": ("1.5", "0.25"),
                "USD": ("100.10", "0"),
                "SOL": ("2", "0"),
                "DOT.S": ("3", "0"),
            },
        )
        holdings = await s.holdings(creds)
        assert amounts(holdings) == {
            "BTC": (D("1.5"), D("0.25"), D("1.75")),
            "DOT.S": (D("3"), D("0"), D("3")),
            "SOL": (D("2"), D("0"), D("2")),
            "USD": (D("100.10"), D("0"), D("100.10")),
        }
        got = await s.adapter.fetch_prices({"BTC", "SOL", "DOT.S", "USD"}, "USD")
        assert got == {"BTC": D("60000.10"), "SOL": D("150.5")}  # SOL via USDT at par
        assert all(type(p) is Decimal for p in got.values())
        valued = value(holdings, got, FAST)
        assert valued.equity == D("105000.18") + D("301.00") + D("100.10")
        assert valued.unpriced == ("DOT.S",)
        assert s.mock.requests[TICKER_PATH["kraken"]] == 1
        assert s.mock.requests["/0/private/BalanceEx"] == 1
        assert s.mock.unexpected == []


async def test_coinbase_brokerage_accounts_available_plus_hold_across_pages() -> None:
    prices = {"BTC/USD": "61234.56", "SOL/USDC": "151.25", "ETH/USD": "3100"}
    async with open_session("coinbase", prices=prices) as s:
        s.mock.page_size = 2  # type: ignore[attr-defined]
        creds = add_account(
            s.mock,
            {
                "BTC": ("0.5", "0.125"),
                "USD": ("1000.01", "50"),
                "SOL": ("4", "0"),
                "ETH": ("0", "0"),
            },
        )
        holdings = await s.holdings(creds)
        assert amounts(holdings) == {
            "BTC": (D("0.5"), D("0.125"), D("0.625")),
            "SOL": (D("4"), D("0"), D("4")),
            "USD": (D("1000.01"), D("50"), D("1050.01")),
        }  # the zero ETH wallet is left out
        assert s.mock.requests["/api/v3/brokerage/accounts"] == 2  # followed the cursor
        before = s.mock.requests[TICKER_PATH["coinbase"]]
        got = await s.adapter.fetch_prices({"BTC", "SOL"}, "USD")
        assert got == {"BTC": D("61234.56"), "SOL": D("151.25")}
        assert s.mock.requests[TICKER_PATH["coinbase"]] == before + 1
        assert s.mock.unexpected == []  # no transaction_summary, no v2 wallet accounts


async def test_coinbase_pem_pasted_on_one_line_still_signs() -> None:
    async with open_session("coinbase") as s:
        creds = add_account(s.mock, {"USD": ("12.5", "0")})
        assert creds.api_secret is not None
        one_line = Credentials(creds.api_key, creds.api_secret.replace("\n", "\\n"))
        holdings = await s.holdings(one_line)
        assert amounts(holdings) == {"USD": (D("12.5"), D("0"), D("12.5"))}


async def test_binance_spot_free_plus_locked_priced_through_usdt() -> None:
    prices = {"BTC/USDT": "60500.5", "ETH/USDC": "2999.99", "BNB/USDT": "600"}
    async with open_session("binance", prices=prices) as s:
        creds = add_account(
            s.mock, {"BTC": ("0.5", "0.1"), "ETH": ("2", "0"), "USDT": ("10.5", "1.5")}
        )
        holdings = await s.holdings(creds)
        assert amounts(holdings) == {
            "BTC": (D("0.5"), D("0.1"), D("0.6")),
            "ETH": (D("2"), D("0"), D("2")),
            "USDT": (D("10.5"), D("1.5"), D("12.0")),
        }
        got = await s.adapter.fetch_prices({"BTC", "ETH", "XRP"}, "USD")
        assert got == {"BTC": D("60500.5"), "ETH": D("2999.99")}
        assert s.mock.requests[TICKER_PATH["binance"]] == 1
        assert s.mock.unexpected == []  # no sapi, fapi or dapi call


async def test_okx_balance_with_passphrase() -> None:
    prices = {"BTC/USDT": "59999.9", "ETH/USDT": "3001.1"}
    async with open_session("okx", prices=prices) as s:
        creds = add_account(s.mock, {"BTC": ("0.25", "0.05"), "USDT": ("500", "0")})
        holdings = await s.holdings(creds)
        assert amounts(holdings) == {
            "BTC": (D("0.25"), D("0.05"), D("0.30")),
            "USDT": (D("500"), D("0"), D("500")),
        }
        assert await s.adapter.fetch_prices({"BTC", "ETH"}, "USD") == {
            "BTC": D("59999.9"),
            "ETH": D("3001.1"),
        }
        assert s.mock.unexpected == []


async def test_okx_wrong_or_missing_passphrase_is_auth_failed() -> None:
    async with open_session("okx") as s:
        creds = add_account(s.mock, {"USDT": ("1", "0")})
        wrong = Credentials(creds.api_key, creds.api_secret, "not-the-passphrase")
        error = await s.failure(wrong)
        assert error.status is Status.AUTH_FAILED
        assert "not-the-passphrase" not in error.message
        missing = await s.failure(Credentials(creds.api_key, creds.api_secret))
        assert missing.status is Status.AUTH_FAILED
        assert "password" in missing.message


async def test_alpaca_equity_cash_and_positions() -> None:
    async with open_session("alpaca") as s:
        positions = [
            Position("AAPL", "10", "190.25"),
            Position("BTCUSD", "0.5", "60000.5", asset_class="crypto"),
        ]
        creds = add_account(s.mock, cash="1000.50", positions=positions)
        holdings = await s.holdings(creds)
        assert holdings.equity == D("1000.50") + D("1902.50") + D("30000.25")
        assert holdings.cash == D("1000.50")
        assert amounts(holdings) == {
            "USD": (D("1000.5"), D("0"), D("1000.5")),
            "AAPL": (D("10"), D("0"), D("10")),
            "BTC": (D("0.5"), D("0"), D("0.5")),
        }
        assert holdings.prices == {"AAPL": D("190.25"), "BTC": D("60000.5")}
        valued = value(holdings, {}, FAST)
        assert (valued.cash, valued.equity, valued.unpriced) == (D("1000.50"), D("32903.25"), ())
        assert await s.adapter.fetch_prices({"AAPL", "BTC"}, "USD") == {}
        assert s.mock.requests == {"/v2/account": 1, "/v2/positions": 1}


# ---------------------------------------------------------------------------- auth


@pytest.mark.parametrize("exchange", EXCHANGES)
async def test_wrong_secret_is_rejected_by_the_signature_check(exchange: str) -> None:
    async with open_session(exchange) as s:
        creds = add_account(s.mock, {"USD": ("1", "0")}, cash="1")
        bad = wrong_secret(creds, exchange)
        error = await s.failure(bad)
        assert error.status is Status.AUTH_FAILED, error.message
        # Alpaca asks for the account and the positions at once: the second request may be
        # rejected too before the first failure cancels it
        assert s.mock.auth_rejections in ({1, 2} if exchange == "alpaca" else {1})
        for secret in bad.secrets():
            assert secret not in error.message
        assert len(error.message) <= 200
        assert (await s.holdings(creds)).assets  # the right secret still works


@pytest.mark.parametrize(
    ("exchange", "secret", "expected"),
    [
        ("kraken", "not base64!", "API secret is not valid base64"),
        ("coinbase", "-----BEGIN EC PRIVATE KEY-----\nnope\n-----END EC PRIVATE KEY-----\n", "PEM"),
        ("coinbase", "just-some-text", "not a valid private key"),
    ],
)
async def test_malformed_secret_says_what_is_wrong_without_the_secret(
    exchange: str, secret: str, expected: str
) -> None:
    async with open_session(exchange) as s:
        creds = add_account(s.mock, {"USD": ("1", "0")})
        error = await s.failure(Credentials(creds.api_key, secret))
        assert error.status is Status.AUTH_FAILED
        assert expected in error.message
        assert secret.strip() not in error.message
        assert s.mock.count(PRIVATE_PATH[exchange]) == 0  # never sent


async def test_missing_secret_is_no_credentials() -> None:
    async with open_session("kraken") as s:
        error = await s.failure(Credentials("key-only", None))
        assert error.status is Status.NO_CREDENTIALS


# ---------------------------------------------------------------------------- faults

FAULTS = [
    ("auth", {}, Status.AUTH_FAILED),
    ("permission", {}, Status.AUTH_FAILED),
    ("http429", {}, Status.RATE_LIMITED),
    ("ratelimit", {}, Status.RATE_LIMITED),
    ("http500", {}, Status.UNREACHABLE),
    ("http503", {}, Status.UNREACHABLE),
    ("html", {"status": 502}, Status.UNREACHABLE),
    ("html", {"status": 200}, Status.ERROR),
    ("malformed_json", {}, Status.ERROR),
    ("truncated", {}, Status.UNREACHABLE),
]


@pytest.mark.parametrize("exchange", EXCHANGES)
@pytest.mark.parametrize(("kind", "options", "status"), FAULTS, ids=lambda v: str(v))
async def test_fault_maps_to_status(
    exchange: str, kind: str, options: dict[str, Any], status: Status
) -> None:
    async with open_session(exchange) as s:
        creds = add_account(s.mock, {"USD": ("1", "0")}, cash="1")
        s.mock.inject(kind, key=creds.api_key, path=PRIVATE_PATH[exchange], **options)
        error = await s.failure(creds)
        assert error.status is status, error.message
        assert error.message and len(error.message) <= 200
        for secret in creds.secrets():
            assert secret not in error.message
        other = add_account(s.mock, {"USD": ("2", "0")}, cash="2")
        assert (await s.holdings(other, "bob")).assets  # a fault on one key leaves others alone


@pytest.mark.parametrize("exchange", EXCHANGES)
async def test_hang_beyond_the_timeout_is_timeout(exchange: str) -> None:
    async with open_session(exchange, Settings(timeout=0.3)) as s:
        creds = add_account(s.mock, {"USD": ("1", "0")}, cash="1")
        s.mock.inject("hang", path=PRIVATE_PATH[exchange], seconds=3)
        error = await s.failure(creds)
        assert error.status is Status.TIMEOUT
        assert "0.3 s" in error.message


async def test_latency_below_the_timeout_is_fine() -> None:
    async with open_session("kraken", Settings(timeout=2)) as s:
        creds = add_account(s.mock, {"USD": ("5", "0")})
        fault = s.mock.inject("latency", seconds=0.05)
        assert amounts(await s.holdings(creds)) == {"USD": (D("5"), D("0"), D("5"))}
        assert fault.hits == 3  # Assets, AssetPairs, BalanceEx


async def test_connection_refused_is_unreachable() -> None:
    mock = KrakenMock()
    async with mock:
        conn = connection(mock)
    adapter = CcxtAdapter("kraken", FAST, None)
    try:
        with pytest.raises(AdapterError) as info:
            await adapter.fetch_holdings(conn, new_credentials("kraken"))
        assert info.value.status is Status.UNREACHABLE
        assert "loading markets failed" in info.value.message
    finally:
        await adapter.aclose()


@pytest.mark.parametrize(
    ("balances", "expected"),
    [
        ({"BTC": ("-1.5", "0")}, "negative"),
        ({"BTC": ("lots", "0")}, "non-numeric"),
        ({"BTC": ("1", "2"), "USD": ("-3", "0")}, "negative"),
    ],
)
async def test_negative_or_non_numeric_amounts_are_errors(
    balances: dict[str, tuple[str, str]], expected: str
) -> None:
    async with open_session("binance") as s:
        creds = add_account(s.mock, balances)
        error = await s.failure(creds)
        assert error.status is Status.ERROR
        assert expected in error.message


# ---------------------------------------------------------------------------- sharing


@pytest.mark.parametrize("exchange", PRICED)
async def test_markets_loaded_once_for_many_accounts_then_from_the_store(exchange: str) -> None:
    store = MemoryMarketStore()
    async with MOCKS[exchange]() as mock:
        accounts = [
            add_account(mock, {"USD": (f"{i}.5", "0"), "BTC": ("1", "0")}) for i in range(5)
        ]
        for round_ in range(2):
            adapter = CcxtAdapter(exchange, FAST, store)
            try:
                results = await asyncio.gather(
                    *(
                        adapter.fetch_holdings(connection(mock, f"user{i}"), c)
                        for i, c in enumerate(accounts)
                    )
                )
                prices = await adapter.fetch_prices({"BTC"}, "USD")
            finally:
                await adapter.aclose()
            for i, holdings in enumerate(results):  # restored markets still map ids to codes
                assert amounts(holdings)["USD"] == (D(f"{i}.5"), D("0"), D(f"{i}.5"))
                assert amounts(holdings)["BTC"][2] == D("1")
            assert prices == {"BTC": D(mock.prices.get("BTC/USD") or mock.prices["BTC/USDT"])}
            if exchange != "coinbase":  # coinbase tickers share the markets endpoint
                assert mock.requests[MARKETS_PATH[exchange]] == 1, f"round {round_}"
        assert store.saves == 1
        assert mock.count(PRIVATE_PATH[exchange]) >= 10
        assert mock.unexpected == []


async def test_stale_ccxt_version_in_the_store_reloads_markets() -> None:
    store = MemoryMarketStore()
    store.saved["kraken"] = '{"format": 1, "ccxt": "0.0.1", "markets": [{"id": "x"}]}'
    async with open_session("kraken", store=store) as s:
        creds = add_account(s.mock, {"BTC": ("1", "0")})
        assert amounts(await s.holdings(creds))["BTC"][2] == D("1")
        assert s.mock.requests[MARKETS_PATH["kraken"]] == 1
        assert store.saves == 1


async def test_a_broken_store_never_stops_a_refresh() -> None:
    class Broken(MemoryMarketStore):
        def load_markets(self, exchange: str, max_age: float) -> dict[str, Any] | None:
            raise OSError("disk on fire")

        def save_markets(self, exchange: str, markets: dict[str, Any]) -> None:
            raise OSError("disk on fire")

    async with open_session("kraken", store=Broken()) as s:
        creds = add_account(s.mock, {"BTC": ("1", "0")})
        assert amounts(await s.holdings(creds))["BTC"][2] == D("1")


async def test_failed_market_load_fails_every_account_with_one_attempt() -> None:
    async with open_session("kraken") as s:
        s.mock.inject("http503", path=MARKETS_PATH["kraken"])
        accounts = [add_account(s.mock, {"USD": ("1", "0")}) for _ in range(4)]
        outcomes = await asyncio.gather(
            *(s.holdings(c, f"u{i}") for i, c in enumerate(accounts)), return_exceptions=True
        )
        assert all(isinstance(o, AdapterError) for o in outcomes)
        assert {o.status for o in outcomes if isinstance(o, AdapterError)} == {Status.UNREACHABLE}
        assert s.mock.requests[MARKETS_PATH["kraken"]] == 1
        assert s.mock.count(PRIVATE_PATH["kraken"]) == 0
        with pytest.raises(AdapterError):
            await s.adapter.fetch_prices({"BTC"}, "USD")


@pytest.mark.parametrize("exchange", PRICED)
async def test_one_ticker_call_per_refresh(exchange: str) -> None:
    async with open_session(exchange) as s:
        creds = add_account(s.mock, {"BTC": ("1", "0"), "ETH": ("1", "0"), "SOL": ("1", "0")})
        await s.holdings(creds)
        before = s.mock.requests[TICKER_PATH[exchange]]
        got = await s.adapter.fetch_prices({"BTC", "ETH", "SOL", "NOPE"}, "USD")
        assert set(got) == {"BTC", "ETH", "SOL"}
        assert s.mock.requests[TICKER_PATH[exchange]] == before + 1


async def test_prices_without_any_market_make_no_call() -> None:
    async with open_session("kraken") as s:
        creds = add_account(s.mock, {"BTC": ("1", "0")})
        await s.holdings(creds)
        assert await s.adapter.fetch_prices({"NOPE", "USD"}, "USD") == {}
        assert await s.adapter.fetch_prices(set(), "USD") == {}
        assert s.mock.requests[TICKER_PATH["kraken"]] == 0


async def test_same_key_shares_one_instance_and_nonces_stay_in_order() -> None:
    async with open_session("kraken") as s:
        creds = add_account(s.mock, {"BTC": ("1", "0")})
        results = await asyncio.gather(*(s.holdings(creds, f"u{i}") for i in range(6)))
        assert all(amounts(r)["BTC"][2] == D("1") for r in results)
        assert len(s.adapter._instances) == 1
        assert s.mock.requests["/0/private/BalanceEx"] == 6


async def test_max_in_flight_caps_concurrent_requests_across_accounts_and_adapters() -> None:
    settings = Settings(timeout=5, max_in_flight=3)
    async with KrakenMock() as mock:
        accounts = [add_account(mock, {"USD": ("1", "0")}) for _ in range(12)]
        mock.inject("latency", path="/0/private/", seconds=0.05)
        first, second = CcxtAdapter("kraken", settings, None), CcxtAdapter("kraken", settings, None)
        try:
            results = await asyncio.gather(
                *(
                    (first if i % 2 else second).fetch_holdings(connection(mock, f"u{i}"), c)
                    for i, c in enumerate(accounts)
                )
            )
        finally:
            await first.aclose()
            await second.aclose()
        assert len(results) == 12
        assert mock.requests["/0/private/BalanceEx"] == 12
        assert mock.max_in_flight == 3


async def test_instances_share_one_ssl_context_and_one_connector() -> None:
    async with open_session("kraken") as s:
        a, b = add_account(s.mock, {"USD": ("1", "0")}), add_account(s.mock, {"USD": ("2", "0")})
        await asyncio.gather(s.holdings(a, "a"), s.holdings(b, "b"))
        instances = [*s.adapter._instances.values(), *s.adapter._publics]
        assert len(instances) == 3
        assert all(i.ssl_context is shared_ssl_context() for i in instances)
        assert len({id(i.session.connector) for i in instances}) == 1
        assert all(i.timeout_on_exit == 0 for i in instances)
        sessions = [i.session for i in instances]
    assert all(session.closed for session in sessions)
    assert s.adapter._connector is None


async def test_aclose_is_safe_twice_and_before_any_use() -> None:
    adapter = CcxtAdapter("kraken", FAST, None)
    assert isinstance(adapter, Adapter)
    await adapter.aclose()
    await adapter.aclose()


def test_ccxt_is_not_imported_with_the_package() -> None:
    code = (
        "import sys, nija_balances, nija_balances.adapters.registry, "
        "nija_balances.adapters.ccxt.adapter, nija_balances.adapters.ccxt.errors; "
        "assert 'ccxt' not in sys.modules, 'ccxt imported'; "
        "assert 'aiohttp' not in sys.modules, 'aiohttp imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------- quirks


def test_quirks_are_data_per_ccxt_exchange_with_defaults() -> None:
    assert set(QUIRKS) <= ccxt_exchange_ids()
    assert quirks_for("bitfinex") is DEFAULT_QUIRKS == Quirks()
    assert (DEFAULT_QUIRKS.exact_balances, DEFAULT_QUIRKS.ticker_prices) == (False, True)
    assert quirks_for("kraken").exact_balances and not quirks_for("kraken").passphrase
    assert quirks_for("okx").passphrase and not quirks_for("alpaca").ticker_prices
    config = quirks_for("binance").ccxt_config()
    assert config["options"]["fetchMarkets"] == {"types": ["spot"]}
    config["options"]["defaultType"] = "future"  # a fresh copy: ccxt writes into its options
    assert quirks_for("binance").ccxt_config()["options"]["defaultType"] == "spot"
    with pytest.raises(TypeError):
        quirks_for("binance").ccxt_defaults["options"]["x"] = 1  # type: ignore[index]


# ---------------------------------------------------------------------------- error mapping


def test_error_mapping_without_network() -> None:
    from ccxt.base import errors

    secrets = ("KEY123456", "SECRET987654")
    cases = [
        (
            errors.BadRequest(
                'binance {"code":-1022,"msg":"Signature for this request is not valid."}'
            ),
            Status.AUTH_FAILED,
        ),
        (errors.AccountSuspended("kraken ETrade:User Locked"), Status.AUTH_FAILED),
        (errors.OnMaintenance("okx 50001 maintenance"), Status.UNREACHABLE),
        (errors.InvalidNonce("kraken EAPI:Invalid nonce"), Status.ERROR),
        (errors.DDoSProtection("binance 418"), Status.RATE_LIMITED),
        (errors.ExchangeError("kraken EGeneral:Invalid arguments"), Status.ERROR),
        (TimeoutError(), Status.TIMEOUT),
        (ConnectionRefusedError("refused"), Status.UNREACHABLE),
        (KeyError("result"), Status.ERROR),
    ]
    for exc, status in cases:
        assert to_adapter_error(exc, "x", secrets, 15).status is status, exc
    nonce = to_adapter_error(errors.InvalidNonce("EAPI:Invalid nonce"), "kraken", (), 15)
    assert "another program" in nonce.message
    long = errors.ExchangeError(
        "okx GET https://h.example/api?sign=SECRET987654&k=KEY123456 401 " + "x" * 500
    )
    message = to_adapter_error(long, "okx", secrets).message
    assert len(message) <= 200 and "SECRET" not in message and "?" not in message
    assert clean_message("a\n  b SECRET987654", secrets) == "a b ***"


def test_balance_parsing_rules() -> None:
    balance = {
        "info": {},
        "BTC": {"free": "0.1", "used": None, "total": "0.3"},
        "ETH": {"free": 1.1, "used": 0.0, "total": None},
        "ZERO": {"free": 0, "used": 0, "total": 0},
        "free": {},
    }
    assert ccxt_amounts.assets_from_balance(balance, "x") == (
        AssetAmount("BTC", D("0.1"), D("0.2"), D("0.3")),
        AssetAmount("ETH", D("1.1"), D("0.0"), D("1.1")),
    )
    with pytest.raises(AdapterError, match="inconsistent"):
        ccxt_amounts.assets_from_balance({"BTC": {"free": "2", "total": "1"}}, "x")
    with pytest.raises(AdapterError, match="non-numeric"):
        ccxt_amounts.assets_from_balance({"BTC": {"total": float("nan")}}, "x")
    assert ccxt_amounts.ticker_price({"last": None, "bid": 1.0, "ask": 3.0}, "x") == D(2)
    assert ccxt_amounts.ticker_price({"last": 0, "close": None}, "x") is None
    assert ccxt_amounts.ticker_price({"last": "junk", "close": -1}, "x") is None
