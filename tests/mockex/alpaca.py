"""Alpaca trading REST: `/v2/account` (cash, equity) and `/v2/positions` (APCA-API-* headers).

An `Account` here uses `cash` and `positions`; equity is cash plus the positions' market value.

History (alpaca_history.py): `/v2/account/activities[/{activity_type}]` (FILL, CFEE, CSD,
CSW) paged with `page_token` (the last activity's id), `page_size` (<= 100) and
`direction`; `/v2/wallets/transfers` (crypto transfers, unpaged); `/v2/assets` for ccxt's
markets.
"""

from __future__ import annotations

import hmac
from decimal import Decimal
from typing import ClassVar

from aiohttp import web

from .alpaca_history import AlpacaHistory
from .base import Account, MockExchange, json_response


def _money(value: Decimal) -> str:
    return format(value.normalize(), "f")


class AlpacaMock(AlpacaHistory, MockExchange):
    exchange_id = "alpaca"
    default_prices: ClassVar[dict[str, str]] = {}

    def setup_routes(self) -> None:
        self.route("GET", "/v2/account", self._account)
        self.route("GET", "/v2/positions", self._positions)
        self.setup_history_routes()

    def request_key(self, request: web.Request) -> str | None:
        return request.headers.get("APCA-API-KEY-ID")

    def auth_error(self) -> web.StreamResponse:
        return json_response({"code": 40110000, "message": "request is not authorized"}, 401)

    def permission_error(self) -> web.StreamResponse:
        return json_response({"message": "forbidden."}, 403)

    def rate_limit_error(self) -> web.StreamResponse:
        return json_response({"code": 42910000, "message": "rate limit exceeded"}, 429)

    def _authenticate(self, request: web.Request) -> Account | web.StreamResponse:
        account = self.accounts.get(request.headers.get("APCA-API-KEY-ID", ""))
        given = request.headers.get("APCA-API-SECRET-KEY", "")
        if account is None or not hmac.compare_digest(account.secret, given):
            return self.reject()
        return account

    async def _account(self, request: web.Request) -> web.StreamResponse:
        account = self._authenticate(request)
        if not isinstance(account, Account):
            return account
        cash = Decimal(account.cash)
        positions = sum((p.market_value for p in account.positions), Decimal(0))
        equity = cash + positions
        body = {
            "id": "43a01bde-4eb1-4a4b-8c9e-6a1b7a0c2c26",
            "account_number": "744873727",
            "status": "ACTIVE",
            "crypto_status": "ACTIVE",
            "currency": "USD",
            "buying_power": _money(cash),
            "regt_buying_power": _money(cash),
            "non_marginable_buying_power": _money(cash),
            "cash": _money(cash),
            "accrued_fees": "0",
            "portfolio_value": _money(equity),
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "created_at": "2022-06-13T14:59:18.318096Z",
            "multiplier": "1",
            "shorting_enabled": False,
            "equity": _money(equity),
            "last_equity": _money(equity),
            "long_market_value": _money(positions),
            "short_market_value": "0",
            "position_market_value": _money(positions),
            "initial_margin": "0",
            "maintenance_margin": "0",
            "daytrade_count": 0,
        }
        return json_response(body)

    async def _positions(self, request: web.Request) -> web.StreamResponse:
        account = self._authenticate(request)
        if not isinstance(account, Account):
            return account
        rows = [
            {
                "asset_id": "64bbff51-59d6-4b3c-9351-13ad85e3c752",
                "symbol": p.symbol,
                "exchange": "CRYPTO" if p.asset_class == "crypto" else "NASDAQ",
                "asset_class": p.asset_class,
                "asset_marginable": p.asset_class != "crypto",
                "qty": p.qty,
                "avg_entry_price": p.price,
                "side": "long" if Decimal(p.qty) >= 0 else "short",
                "market_value": _money(p.market_value),
                "cost_basis": _money(p.market_value),
                "unrealized_pl": "0",
                "unrealized_plpc": "0",
                "current_price": p.price,
                "lastday_price": p.price,
                "change_today": "0",
                "qty_available": p.qty,
            }
            for p in account.positions
        ]
        return json_response(rows)
