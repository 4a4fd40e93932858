"""OKX v5 REST: public instruments and tickers, account balance (HMAC-SHA256 base64 + passphrase).

ccxt's okx loads spot, future, swap and option instruments by default; the adapter's default
`options.fetchMarkets.types = ["spot"]` keeps it on `instType=SPOT`.

History (okx_history.py): `/api/v5/trade/fills-history` (and `/trade/fills`) paged by
`billId` with `after` (older) / `before` (newer), `limit` <= 100; `/api/v5/asset/
deposit-history` and `/withdrawal-history` paged the same way by timestamp (ms).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import ClassVar

from aiohttp import web

from .base import Account, MockExchange, add, json_response, symbol_parts
from .okx_history import OkxHistory


def inst_id(symbol: str) -> str:
    return symbol.replace("/", "-")


def okx_error(code: str, msg: str, status: int) -> web.Response:
    return json_response({"code": code, "msg": msg, "data": []}, status)


def sign(timestamp: str, method: str, path_and_query: str, body: str, secret: str) -> str:
    message = (timestamp + method + path_and_query + body).encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


class OkxMock(OkxHistory, MockExchange):
    exchange_id = "okx"
    default_prices: ClassVar[dict[str, str]] = {
        "BTC/USDT": "60000.0",
        "ETH/USDT": "3000.0",
        "SOL/USDC": "150.0",
        "USDC/USDT": "1.0001",
    }

    def setup_routes(self) -> None:
        self.route("GET", "/api/v5/public/instruments", self._instruments)
        self.route("GET", "/api/v5/market/tickers", self._tickers)
        self.route("GET", "/api/v5/account/balance", self._balance)
        # a keyed ccxt instance's load_markets asks for currencies (private) first
        self.route("GET", "/api/v5/asset/currencies", self._currencies)
        self.setup_history_routes()

    def request_key(self, request: web.Request) -> str | None:
        return request.headers.get("OK-ACCESS-KEY")

    def auth_error(self) -> web.StreamResponse:
        return okx_error("50111", "Invalid OK-ACCESS-KEY", 401)

    def permission_error(self) -> web.StreamResponse:
        msg = "Your IP 127.0.0.1 is not included in your API key's IP whitelist."
        return okx_error("50110", msg, 401)

    def rate_limit_error(self) -> web.StreamResponse:
        return okx_error("50011", "Too Many Requests", 429)

    # ------------------------------------------------------------------ public

    async def _instruments(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("instType") != "SPOT":
            return okx_error("51000", "Parameter instType error", 400)
        data = []
        for symbol in self.prices:
            base, quote = symbol_parts(symbol)
            data.append(
                {
                    "instType": "SPOT",
                    "instId": inst_id(symbol),
                    "uly": "",
                    "instFamily": "",
                    "baseCcy": base,
                    "quoteCcy": quote,
                    "settleCcy": "",
                    "ctVal": "",
                    "ctMult": "",
                    "ctValCcy": "",
                    "optType": "",
                    "stk": "",
                    "listTime": "1606468572000",
                    "expTime": "",
                    "lever": "10",
                    "tickSz": "0.1",
                    "lotSz": "0.00000001",
                    "minSz": "0.00001",
                    "ctType": "",
                    "alias": "",
                    "state": "live",
                    "maxLmtSz": "9999999999",
                    "maxMktSz": "1000000",
                }
            )
        return json_response({"code": "0", "msg": "", "data": data})

    async def _tickers(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("instType") != "SPOT":
            return okx_error("51000", "Parameter instType error", 400)
        ts = str(int(time.time() * 1000))
        data = [
            {
                "instType": "SPOT",
                "instId": inst_id(symbol),
                "last": price,
                "lastSz": "0.1",
                "askPx": price,
                "askSz": "1",
                "bidPx": price,
                "bidSz": "1",
                "open24h": price,
                "high24h": price,
                "low24h": price,
                "volCcy24h": "1000",
                "vol24h": "10",
                "ts": ts,
                "sodUtc0": price,
                "sodUtc8": price,
            }
            for symbol, price in self.prices.items()
        ]
        return json_response({"code": "0", "msg": "", "data": data})

    # ------------------------------------------------------------------ private

    async def _authenticate(self, request: web.Request) -> Account | web.StreamResponse:
        account = self.accounts.get(request.headers.get("OK-ACCESS-KEY", ""))
        if account is None:
            return self.reject()
        timestamp = request.headers.get("OK-ACCESS-TIMESTAMP", "")
        body = await request.text()
        expected = sign(timestamp, request.method, request.path_qs, body, account.secret)
        if not timestamp or not hmac.compare_digest(
            expected, request.headers.get("OK-ACCESS-SIGN", "")
        ):
            self.auth_rejections += 1
            return okx_error("50113", "Invalid Sign", 401)
        if request.headers.get("OK-ACCESS-PASSPHRASE") != account.passphrase:
            self.auth_rejections += 1
            return okx_error("50105", 'Request header "OK-ACCESS-PASSPHRASE" incorrect.', 401)
        return account

    async def _currencies(self, request: web.Request) -> web.StreamResponse:
        account = await self._authenticate(request)
        if not isinstance(account, Account):
            return account
        codes = {c for s in self.prices for c in symbol_parts(s)}
        for each in self.accounts.values():
            codes.update(each.balances)
            codes.update(f.currency for f in each.flows)
        data = [
            {
                "ccy": code,
                "chain": f"{code}-{code}",
                "name": code,
                "canDep": True,
                "canWd": True,
                "canInternal": True,
                "minWd": "0.0001",
                "maxWd": "1000000",
                "fee": "0.0001",
                "minFee": "0.0001",
                "maxFee": "0.0001",
                "wdTickSz": "8",
                "mainNet": True,
            }
            for code in sorted(codes)
        ]
        return json_response({"code": "0", "msg": "", "data": data})

    async def _balance(self, request: web.Request) -> web.StreamResponse:
        account = await self._authenticate(request)
        if not isinstance(account, Account):
            return account
        now = str(int(time.time() * 1000))
        details = []
        for code, (free, held) in account.balances.items():
            total = add(free, held)
            details.append(
                {
                    "ccy": code,
                    "eq": total,
                    "cashBal": total,
                    "availBal": free,
                    "availEq": free,
                    "frozenBal": held,
                    "ordFrozen": held,
                    "disEq": "",
                    "eqUsd": "",
                    "upl": "0",
                    "uTime": now,
                }
            )
        data = [{"adjEq": "", "details": details, "imr": "", "totalEq": "", "uTime": now}]
        return json_response({"code": "0", "msg": "", "data": data})
