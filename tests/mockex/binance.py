"""Binance spot REST: exchangeInfo, ticker/24hr (public) and account (HMAC-SHA256 signed).

ccxt's binance loads spot, linear and inverse markets by default and may call `sapi`
endpoints; the adapter's defaults (`options.fetchMarkets.types = ["spot"]`,
`options.fetchMargins = false`) keep it on `/api/v3`.

History (binance_history.py): `/api/v3/myTrades` per symbol, paged with `fromId` and `limit`
(default 500); `/sapi/v1/capital/deposit/hisrec` and `/sapi/v1/capital/withdraw/history`,
paged with `offset` and `limit` (default 1000) inside a `startTime`/`endTime` window of at
most 90 days (default: the last 90).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import ClassVar

from aiohttp import web

from .base import Account, MockExchange, json_response, symbol_parts
from .binance_history import BinanceHistory


def market_id(symbol: str) -> str:
    return symbol.replace("/", "")


def binance_error(code: int, msg: str, status: int) -> web.Response:
    return json_response({"code": code, "msg": msg}, status)


class BinanceMock(BinanceHistory, MockExchange):
    exchange_id = "binance"
    default_prices: ClassVar[dict[str, str]] = {
        "BTC/USDT": "60000.00",
        "ETH/USDT": "3000.00",
        "SOL/USDC": "150.00",
        "USDC/USDT": "1.0001",
    }

    def setup_routes(self) -> None:
        self.route("GET", "/api/v3/exchangeInfo", self._exchange_info)
        self.route("GET", "/api/v3/ticker/24hr", self._ticker_24hr)
        self.route("GET", "/api/v3/account", self._account)
        # a keyed ccxt instance's load_markets asks for coins (with `options.fetchCurrencies`)
        self.route("GET", "/sapi/v1/capital/config/getall", self._coins)
        self.setup_history_routes()

    def request_key(self, request: web.Request) -> str | None:
        return request.headers.get("X-MBX-APIKEY")

    def auth_error(self) -> web.StreamResponse:
        return binance_error(-2015, "Invalid API-key, IP, or permissions for action.", 401)

    def permission_error(self) -> web.StreamResponse:
        return binance_error(-1002, "You are not authorized to execute this request.", 401)

    def rate_limit_error(self) -> web.StreamResponse:
        msg = "Too much request weight used; current limit is 6000 request weight per 1 MINUTE."
        return binance_error(-1003, msg, 429)

    # ------------------------------------------------------------------ public

    async def _exchange_info(self, request: web.Request) -> web.StreamResponse:
        symbols = []
        for symbol in self.prices:
            base, quote = symbol_parts(symbol)
            symbols.append(
                {
                    "symbol": market_id(symbol),
                    "status": "TRADING",
                    "baseAsset": base,
                    "baseAssetPrecision": 8,
                    "quoteAsset": quote,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "baseCommissionPrecision": 8,
                    "quoteCommissionPrecision": 8,
                    "orderTypes": ["LIMIT", "MARKET"],
                    "icebergAllowed": True,
                    "ocoAllowed": True,
                    "quoteOrderQtyMarketAllowed": True,
                    "allowTrailingStop": True,
                    "cancelReplaceAllowed": True,
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": "0.01",
                            "maxPrice": "1000000.00",
                            "tickSize": "0.01",
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "minQty": "0.00001",
                            "maxQty": "9000.00",
                            "stepSize": "0.00001",
                        },
                    ],
                    "permissions": [],
                    "permissionSets": [["SPOT"]],
                    "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                    "allowedSelfTradePreventionModes": ["EXPIRE_MAKER"],
                }
            )
        body = {
            "timezone": "UTC",
            "serverTime": int(time.time() * 1000),
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": symbols,
        }
        return json_response(body)

    async def _ticker_24hr(self, request: web.Request) -> web.StreamResponse:
        by_id = {market_id(s): p for s, p in self.prices.items()}
        wanted = json.loads(request.query.get("symbols", "null")) or list(by_id)
        if any(w not in by_id for w in wanted):
            return binance_error(-1121, "Invalid symbol.", 400)
        now = int(time.time() * 1000)
        tickers = [
            {
                "symbol": w,
                "priceChange": "0",
                "priceChangePercent": "0",
                "weightedAvgPrice": by_id[w],
                "prevClosePrice": by_id[w],
                "lastPrice": by_id[w],
                "lastQty": "0.1",
                "bidPrice": by_id[w],
                "bidQty": "1",
                "askPrice": by_id[w],
                "askQty": "1",
                "openPrice": by_id[w],
                "highPrice": by_id[w],
                "lowPrice": by_id[w],
                "volume": "100",
                "quoteVolume": "1000",
                "openTime": now - 86_400_000,
                "closeTime": now,
                "firstId": 1,
                "lastId": 2,
                "count": 2,
            }
            for w in wanted
        ]
        return json_response(tickers)

    # ------------------------------------------------------------------ private

    def _authenticate(self, request: web.Request) -> Account | web.StreamResponse:
        account = self.accounts.get(request.headers.get("X-MBX-APIKEY", ""))
        if account is None:
            return self.reject()
        query = request.query_string
        payload, _, signature = query.rpartition("&signature=")
        expected = hmac.new(account.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(expected, signature):
            self.auth_rejections += 1
            return binance_error(-1022, "Signature for this request is not valid.", 400)
        if "timestamp=" not in payload:
            return binance_error(-1102, "Mandatory parameter 'timestamp' was not sent.", 400)
        return account

    async def _coins(self, request: web.Request) -> web.StreamResponse:
        account = self._authenticate(request)
        if not isinstance(account, Account):
            return account
        codes = {c for s in self.prices for c in symbol_parts(s)}
        for each in self.accounts.values():
            codes.update(each.balances)
            codes.update(f.currency for f in each.flows)
        coins = [
            {
                "coin": code,
                "name": code,
                "depositAllEnable": True,
                "withdrawAllEnable": True,
                "trading": True,
                "isLegalMoney": False,
                "free": "0",
                "locked": "0",
                "networkList": [
                    {
                        "network": code,
                        "coin": code,
                        "name": code,
                        "isDefault": True,
                        "depositEnable": True,
                        "withdrawEnable": True,
                        "withdrawFee": "0.0001",
                        "withdrawMin": "0.001",
                        "withdrawMax": "1000000",
                        "withdrawIntegerMultiple": "0.00000001",
                        "depositDust": "0.00000001",
                    }
                ],
            }
            for code in sorted(codes)
        ]
        return json_response(coins)

    async def _account(self, request: web.Request) -> web.StreamResponse:
        account = self._authenticate(request)
        if not isinstance(account, Account):
            return account
        body = {
            "makerCommission": 10,
            "takerCommission": 10,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": int(time.time() * 1000),
            "accountType": "SPOT",
            "balances": [
                {"asset": code, "free": free, "locked": held}
                for code, (free, held) in account.balances.items()
            ],
            "permissions": ["SPOT"],
            "uid": 354937868,
        }
        return json_response(body)
