"""Kraken spot REST: Assets, AssetPairs, Ticker (public) and BalanceEx (private, API-Sign).

History (kraken_history.py): `TradesHistory` and `Ledgers` paged with `ofs` (50 per page,
`count` = all matches, `start` exclusive / `end` inclusive in unix seconds), and
`DepositStatus` / `WithdrawStatus` (a list; with `cursor`, pages of `limit` and
`next_cursor`). All are signed POSTs checked like `BalanceEx`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl

from aiohttp import web

from .base import Account, MockExchange, add, json_response, symbol_parts
from .kraken_history import KrakenHistory

# Kraken's legacy X/Z-prefixed asset ids and their altnames.
KRAKEN_IDS = {
    "BTC": "XXBT",
    "ETH": "XETH",
    "XRP": "XXRP",
    "LTC": "XLTC",
    "USD": "ZUSD",
    "EUR": "ZEUR",
}
ALTNAMES = {
    "XXBT": "XBT",
    "XETH": "ETH",
    "XXRP": "XRP",
    "XLTC": "LTC",
    "ZUSD": "USD",
    "ZEUR": "EUR",
}


def asset_id(code: str) -> str:
    return KRAKEN_IDS.get(code, code)


def altname(asset: str) -> str:
    return ALTNAMES.get(asset, asset)


def pair_id(symbol: str) -> str:
    """`BTC/USD` -> `XXBTZUSD` (legacy pairs), `SOL/USD` -> `SOLUSD`."""
    base, quote = (asset_id(c) for c in symbol_parts(symbol))
    if base in ALTNAMES and quote in ALTNAMES:
        return base + quote
    return altname(base) + altname(quote)


def kraken_error(message: str, status: int = 200) -> web.Response:
    return json_response({"error": [message]}, status)


def sign(path: str, nonce: str, body: str, secret: str) -> str:
    """Kraken's API-Sign: HMAC-SHA512(path + SHA256(nonce + body)) keyed by base64(secret)."""
    digest = hashlib.sha256((nonce + body).encode()).digest()
    mac = hmac.new(base64.b64decode(secret), path.encode() + digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


class KrakenMock(KrakenHistory, MockExchange):
    exchange_id = "kraken"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._nonces: dict[str, int] = {}

    def setup_routes(self) -> None:
        self.route("GET", "/0/public/Assets", self._assets)
        self.route("GET", "/0/public/AssetPairs", self._asset_pairs)
        self.route("GET", "/0/public/Ticker", self._ticker)
        self.route("POST", "/0/private/BalanceEx", self._balance_ex)
        self.setup_history_routes()

    def request_key(self, request: web.Request) -> str | None:
        return request.headers.get("API-Key")

    def auth_error(self) -> web.StreamResponse:
        return kraken_error("EAPI:Invalid key")

    def permission_error(self) -> web.StreamResponse:
        return kraken_error("EGeneral:Permission denied")

    def rate_limit_error(self) -> web.StreamResponse:
        return kraken_error("EAPI:Rate limit exceeded")

    # ------------------------------------------------------------------ public

    def _assets_in_use(self) -> set[str]:
        assets = {asset_id(c) for s in self.prices for c in symbol_parts(s)}
        for account in self.accounts.values():
            assets.update(asset_id(c) for c in account.balances)
        return assets

    async def _assets(self, request: web.Request) -> web.StreamResponse:
        result = {
            asset: {
                "aclass": "currency",
                "altname": altname(asset),
                "decimals": 10 if asset == "XXBT" else 8,
                "display_decimals": 5,
                "status": "enabled",
            }
            for asset in sorted(self._assets_in_use())
        }
        return json_response({"error": [], "result": result})

    async def _asset_pairs(self, request: web.Request) -> web.StreamResponse:
        result = {}
        for symbol in self.prices:
            base, quote = (asset_id(c) for c in symbol_parts(symbol))
            result[pair_id(symbol)] = {
                "altname": altname(base) + altname(quote),
                "wsname": f"{altname(base)}/{altname(quote)}",
                "aclass_base": "currency",
                "base": base,
                "aclass_quote": "currency",
                "quote": quote,
                "lot": "unit",
                "cost_decimals": 5,
                "pair_decimals": 2,
                "lot_decimals": 8,
                "lot_multiplier": 1,
                "leverage_buy": [],
                "leverage_sell": [],
                "fees": [[0, 0.26], [50000, 0.24]],
                "fees_maker": [[0, 0.16], [50000, 0.14]],
                "fee_volume_currency": "ZUSD",
                "margin_call": 80,
                "margin_stop": 40,
                "ordermin": "0.0001",
                "costmin": "0.5",
                "tick_size": "0.01",
                "status": "online",
            }
        return json_response({"error": [], "result": result})

    async def _ticker(self, request: web.Request) -> web.StreamResponse:
        by_id = {pair_id(s): p for s, p in self.prices.items()}
        wanted = [p for p in request.query.get("pair", "").split(",") if p] or list(by_id)
        unknown = [p for p in wanted if p not in by_id]
        if unknown:
            return kraken_error("EQuery:Unknown asset pair")
        result = {
            pid: {
                "a": [by_id[pid], "1", "1.000"],
                "b": [by_id[pid], "1", "1.000"],
                "c": [by_id[pid], "0.01000000"],
                "v": ["10.0", "20.0"],
                "p": [by_id[pid], by_id[pid]],
                "t": [10, 20],
                "l": [by_id[pid], by_id[pid]],
                "h": [by_id[pid], by_id[pid]],
                "o": by_id[pid],
            }
            for pid in wanted
        }
        return json_response({"error": [], "result": result})

    # ------------------------------------------------------------------ private

    async def _authenticate(self, request: web.Request) -> Account | web.StreamResponse:
        key = request.headers.get("API-Key", "")
        account = self.accounts.get(key)
        body = await request.text()
        nonce = dict(parse_qsl(body)).get("nonce", "")
        if account is None or not nonce.isdigit():
            return self.reject()
        try:
            expected = sign(request.path, nonce, body, account.secret)
        except ValueError:  # pragma: no cover - a test account with a non-base64 secret
            return self.reject()
        if not hmac.compare_digest(expected, request.headers.get("API-Sign", "")):
            return self.reject()
        if int(nonce) <= self._nonces.get(key, 0):
            return kraken_error("EAPI:Invalid nonce")
        self._nonces[key] = int(nonce)
        return account

    async def _balance_ex(self, request: web.Request) -> web.StreamResponse:
        account = await self._authenticate(request)
        if not isinstance(account, Account):
            return account
        result = {
            asset_id(code): {"balance": add(free, held), "hold_trade": held}
            for code, (free, held) in account.balances.items()
        }
        return json_response({"error": [], "result": result})
