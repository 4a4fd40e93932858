"""Test helpers: credentials per exchange, connections to a mock, an in-memory MarketStore."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from nija_balances.domain.models import ConnectionConfig
from nija_balances.domain.secrets import Credentials

from .base import Account, MockExchange, Position
from .coinbase import new_cdp_key
from .history import MockFlow, MockTrade

#: Path prefix of each mock's private (balance) endpoints.
PRIVATE_PATH = {
    "kraken": "/0/private/",
    "coinbase": "/api/v3/brokerage/accounts",
    "binance": "/api/v3/account",
    "okx": "/api/v5/account/",
    "alpaca": "/v2/",
}
#: The endpoint each exchange's markets come from (Alpaca needs none).
MARKETS_PATH = {
    "kraken": "/0/public/AssetPairs",
    "coinbase": "/api/v3/brokerage/market/products",
    "binance": "/api/v3/exchangeInfo",
    "okx": "/api/v5/public/instruments",
}
#: The endpoint each exchange's tickers come from.
TICKER_PATH = {
    "kraken": "/0/public/Ticker",
    "coinbase": "/api/v3/brokerage/market/products",
    "binance": "/api/v3/ticker/24hr",
    "okx": "/api/v5/market/tickers",
}


def new_credentials(exchange: str) -> Credentials:
    """Fresh, well-formed test credentials in the shape `exchange` expects."""
    if exchange == "kraken":
        secret = base64.b64encode(secrets.token_bytes(64)).decode()
        return Credentials(api_key=f"kraken-{secrets.token_hex(8)}", api_secret=secret)
    if exchange == "coinbase":
        name, pem = new_cdp_key()
        return Credentials(api_key=name, api_secret=pem)
    passphrase = f"pass-{secrets.token_hex(4)}" if exchange == "okx" else None
    return Credentials(
        api_key=f"{exchange}-{secrets.token_hex(8)}",
        api_secret=secrets.token_hex(24),
        api_passphrase=passphrase,
    )


def wrong_secret(creds: Credentials, exchange: str) -> Credentials:
    """The same key with another well-formed secret (the server must reject the signature)."""
    other = new_credentials(exchange)
    return Credentials(creds.api_key, other.api_secret, creds.api_passphrase)


def account_for(
    creds: Credentials,
    balances: Mapping[str, tuple[str, str]] | None = None,
    *,
    cash: str = "0",
    positions: list[Position] | None = None,
    trades: list[MockTrade] | None = None,
    flows: list[MockFlow] | None = None,
) -> Account:
    return Account(
        secret=creds.api_secret or "",
        passphrase=creds.api_passphrase,
        balances=dict(balances or {}),
        cash=cash,
        positions=list(positions or []),
        trades=list(trades or []),
        flows=list(flows or []),
    )


def add_account(
    mock: MockExchange,
    balances: Mapping[str, tuple[str, str]] | None = None,
    **kwargs: Any,
) -> Credentials:
    """A new account on `mock`; returns its credentials."""
    creds = new_credentials(mock.exchange_id)
    assert creds.api_key is not None
    mock.add_account(creds.api_key, account_for(creds, balances, **kwargs))
    return creds


def connection(
    mock: MockExchange, account: str = "alice", name: str | None = None
) -> ConnectionConfig:
    """A connection of `account` pointed at `mock` through its `ccxt` table."""
    return ConnectionConfig(
        account=account,
        name=name or mock.exchange_id,
        exchange=mock.exchange_id,
        ccxt=mock.ccxt_overrides(),
    )


class MemoryMarketStore:
    """A `MarketStore` in memory that round-trips through JSON like the on-disk cache."""

    def __init__(self) -> None:
        self.saved: dict[str, str] = {}
        self.loads = 0
        self.saves = 0

    def load_markets(self, exchange: str, max_age: float) -> dict[str, Any] | None:
        self.loads += 1
        data = self.saved.get(exchange)
        markets = json.loads(data) if data is not None else None
        return markets if isinstance(markets, dict) else None

    def save_markets(self, exchange: str, markets: dict[str, Any]) -> None:
        self.saves += 1
        self.saved[exchange] = json.dumps(markets, allow_nan=False)


@asynccontextmanager
async def ccxt_client(
    exchange: str,
    trades: list[MockTrade] | None = None,
    flows: list[MockFlow] | None = None,
    *,
    page_size: int | None = 2,
    **options: Any,
) -> AsyncIterator[tuple[Any, MockExchange]]:
    """A mock of `exchange` with one account, and a keyed `ccxt.async_support` instance on it.

    The instance has the adapter's per-exchange defaults, `options` on top, reads amounts as
    strings (`number = str`) and is closed at the end; the mock must then have seen no
    unexpected path and no bad signature. `page_size` is the mock's `history_page_size`.
    """
    import ccxt.async_support as ccxt_async

    from nija_balances.adapters.ccxt.adapter import deep_merge
    from nija_balances.adapters.ccxt.quirks import quirks_for

    from . import MOCKS

    creds = new_credentials(exchange)
    assert creds.api_key is not None
    async with MOCKS[exchange]() as mock:
        mock.add_account(creds.api_key, account_for(creds, trades=trades, flows=flows))
        mock.history_page_size = page_size
        config = deep_merge(quirks_for(exchange).ccxt_config(), mock.ccxt_overrides())
        config = deep_merge(config, {"options": options})
        config.update(apiKey=creds.api_key, secret=creds.api_secret)
        if creds.api_passphrase:
            config["password"] = creds.api_passphrase
        instance = getattr(ccxt_async, exchange)(config)
        instance.number = str
        instance.timeout_on_exit = 0  # ccxt sleeps 250 ms in close() otherwise
        try:
            yield instance, mock
        finally:
            await instance.close()
        assert mock.unexpected == []
        assert mock.auth_rejections == 0
