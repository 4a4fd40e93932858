"""Local mock exchange servers speaking each exchange's REST protocol, for ccxt over HTTP.

    accounts = {"key": Account(secret=..., balances={"BTC": ("1.5", "0.25")})}
    async with KrakenMock(accounts=accounts) as mock:
        ccxt_table = mock.ccxt_overrides()   # the connection's `ccxt` table
        ...
        mock.requests["/0/private/BalanceEx"]  # requests per path

Faults: `mock.inject(kind, key=None, path=None, times=None, seconds=2.0, status=None,
after=0)` with `kind` one of `FAULT_KINDS`; `after=N` lets the first N matching requests
through (a fault on page N + 1). History: `Account.trades` (`MockTrade`) and `Account.flows`
(`MockFlow`), rendered and paged per exchange; `mock.history_page_size` shrinks every history
page so few records make several pages. Nothing here ever talks to a real exchange.
"""

from __future__ import annotations

from typing import Any

from .alpaca import AlpacaMock
from .base import FAULT_KINDS, Account, Fault, MockExchange, Position, ccxt_overrides
from .binance import BinanceMock
from .coinbase import CoinbaseMock, new_cdp_key
from .history import MockFlow, MockTrade
from .kraken import KrakenMock
from .okx import OkxMock

MOCKS: dict[str, type[MockExchange]] = {
    "kraken": KrakenMock,
    "coinbase": CoinbaseMock,
    "binance": BinanceMock,
    "okx": OkxMock,
    "alpaca": AlpacaMock,
}


def ccxt_table(mock: MockExchange) -> dict[str, Any]:
    """The connection's `ccxt` table pointing ccxt at `mock` (every `urls.api` entry)."""
    return mock.ccxt_overrides()


__all__ = [
    "FAULT_KINDS",
    "MOCKS",
    "Account",
    "AlpacaMock",
    "BinanceMock",
    "CoinbaseMock",
    "Fault",
    "KrakenMock",
    "MockExchange",
    "MockFlow",
    "MockTrade",
    "OkxMock",
    "Position",
    "ccxt_overrides",
    "ccxt_table",
    "new_cdp_key",
]
