"""Coinbase Advanced Trade REST: brokerage accounts (JWT bearer, CDP keys) and public products.

ccxt's coinbase loads markets from `/api/v3/brokerage/market/products` (spot, then
`product_type=FUTURE`), currencies from `/v2/currencies`, `/v2/currencies/crypto` and
`/v2/exchange-rates`, tickers from the same products endpoint with `product_ids`, and
balances from `/api/v3/brokerage/accounts` (with the option `fetchBalance =
v3PrivateGetBrokerageAccounts`; ccxt's default is the v2 wallet API).

History (coinbase_history.py): fills from `/api/v3/brokerage/orders/historical/fills`
paged with `cursor` (`limit` default 100); deposits, withdrawals and transactions from the
v2 wallet `/v2/accounts/{account_id}/deposits|withdrawals|transactions` paged with
`starting_after` (`pagination.next_starting_after`, `limit` default 25).
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any, ClassVar

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .base import Account, MockExchange, json_response, symbol_parts
from .coinbase_history import CoinbaseHistory, wallet_id

FIAT = {"USD": "US Dollar", "EUR": "Euro", "GBP": "British Pound"}


def new_cdp_key(name: str | None = None) -> tuple[str, str]:
    """A fresh CDP API key: (key name `organizations/.../apiKeys/...`, EC P-256 private PEM)."""
    key_name = name or f"organizations/{uuid.uuid4()}/apiKeys/{uuid.uuid4()}"
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return key_name, pem


@cache
def _public_key(pem: str) -> Any:
    private = serialization.load_pem_private_key(pem.encode(), password=None)
    return private.public_key()


def product_id(symbol: str) -> str:
    return symbol.replace("/", "-")


class CoinbaseMock(CoinbaseHistory, MockExchange):
    exchange_id = "coinbase"
    default_prices: ClassVar[dict[str, str]] = {
        "BTC/USD": "60000.00",
        "ETH/USD": "3000.00",
        "SOL/USDC": "150.00",
        "USDT/USD": "1.0001",
    }
    #: accounts per page of `/api/v3/brokerage/accounts` (ccxt follows `cursor`)
    page_size = 250

    def setup_routes(self) -> None:
        self.route("GET", "/api/v3/brokerage/market/products", self._products)
        self.route("GET", "/v2/currencies", self._fiat_currencies)
        self.route("GET", "/v2/currencies/crypto", self._crypto_currencies)
        self.route("GET", "/v2/exchange-rates", self._exchange_rates)
        self.route("GET", "/api/v3/brokerage/accounts", self._accounts)
        # ccxt's fetch_markets asks for the fee tier when the instance has a key
        self.route("GET", "/api/v3/brokerage/transaction_summary", self._transaction_summary)
        self.setup_history_routes()

    def request_key(self, request: web.Request) -> str | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not token:
            return None
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return None
        return kid if isinstance(kid, str) else None

    def auth_error(self) -> web.StreamResponse:
        return web.Response(status=401, text="Unauthorized\n")

    def permission_error(self) -> web.StreamResponse:
        body = {
            "error": "PERMISSION_DENIED",
            "error_details": "Missing required scopes",
            "message": "Missing required scopes",
        }
        return json_response(body, 403)

    def rate_limit_error(self) -> web.StreamResponse:
        body = {"error": "rate_limit_exceeded", "message": "Too many requests"}
        return json_response(body, 429)

    # ------------------------------------------------------------------ public

    def _currencies(self) -> set[str]:
        codes = {c for s in self.prices for c in symbol_parts(s)}
        for account in self.accounts.values():
            codes.update(self.wallet_codes(account))
        return codes

    @staticmethod
    def wallet_codes(account: Account) -> list[str]:
        """The account's wallets: its balances, then any other currency it moved."""
        codes = list(account.balances)
        for flow in account.flows:
            if flow.currency not in codes:
                codes.append(flow.currency)
        return codes

    async def _products(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("product_type", "SPOT") != "SPOT":
            return json_response({"products": [], "num_products": 0})
        wanted = set(request.query.getall("product_ids", []))
        products = []
        for symbol, price in self.prices.items():
            if wanted and product_id(symbol) not in wanted:
                continue
            base, quote = symbol_parts(symbol)
            products.append(
                {
                    "product_id": product_id(symbol),
                    "price": price,
                    "price_percentage_change_24h": "1.5",
                    "volume_24h": "1000",
                    "volume_percentage_change_24h": "2.0",
                    "base_increment": "0.00000001",
                    "quote_increment": "0.01",
                    "quote_min_size": "1",
                    "quote_max_size": "10000000",
                    "base_min_size": "0.00000001",
                    "base_max_size": "3400",
                    "base_name": base,
                    "quote_name": quote,
                    "status": "online",
                    "cancel_only": False,
                    "limit_only": False,
                    "post_only": False,
                    "trading_disabled": False,
                    "auction_mode": False,
                    "product_type": "SPOT",
                    "quote_currency_id": quote,
                    "base_currency_id": base,
                    "mid_market_price": "",
                    "alias": "",
                    "alias_to": [],
                    "base_display_symbol": base,
                    "quote_display_symbol": quote,
                    "view_only": False,
                    "price_increment": "0.01",
                    "display_name": product_id(symbol),
                    "product_venue": "CBE",
                }
            )
        return json_response({"products": products, "num_products": len(products)})

    async def _fiat_currencies(self, request: web.Request) -> web.StreamResponse:
        data = [
            {"id": code, "name": FIAT[code], "min_size": "0.01"}
            for code in sorted(self._currencies())
            if code in FIAT
        ]
        return json_response({"data": data})

    async def _crypto_currencies(self, request: web.Request) -> web.StreamResponse:
        data = [
            {
                "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, code)),
                "code": code,
                "name": code.title(),
                "color": "#0052FF",
                "sort_index": 100,
                "exponent": 8,
                "type": "crypto",
                "address_regex": "^.+$",
            }
            for code in sorted(self._currencies())
            if code not in FIAT
        ]
        return json_response({"data": data})

    async def _exchange_rates(self, request: web.Request) -> web.StreamResponse:
        return json_response({"data": {"currency": "USD", "rates": {"USD": "1"}}})

    # ------------------------------------------------------------------ private

    def _authenticate(self, request: web.Request) -> Account | web.StreamResponse:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip()
        key = self.request_key(request)
        account = self.accounts.get(key or "")
        if account is None or not header.startswith("Bearer "):
            return self.reject()
        try:
            claims = jwt.decode(
                token,
                _public_key(account.secret),
                algorithms=["ES256"],
                audience="retail_rest_api_proxy",
                issuer="coinbase-cloud",
                options={"require": ["exp", "nbf", "iat", "sub"]},
            )
        except (jwt.PyJWTError, ValueError):
            return self.reject()
        # ccxt strips only "https://" from the signed URI, so a plain-http mock sees the scheme
        uri = f"{request.method} {request.host}{request.path}"
        if claims.get("sub") != key or claims.get("uri") not in (uri, uri.replace(" ", " http://")):
            return self.reject()
        return account

    async def _transaction_summary(self, request: web.Request) -> web.StreamResponse:
        account = self._authenticate(request)
        if not isinstance(account, Account):
            return account
        body = {
            "total_volume": 0,
            "total_fees": 0,
            "fee_tier": {
                "pricing_tier": "Advanced 1",
                "usd_from": "0",
                "usd_to": "1000",
                "taker_fee_rate": "0.008",
                "maker_fee_rate": "0.006",
                "aop_from": "",
                "aop_to": "",
            },
            "margin_rate": None,
            "goods_and_services_tax": None,
            "advanced_trade_only_volume": 0,
            "advanced_trade_only_fees": 0,
            "coinbase_pro_volume": 0,
            "coinbase_pro_fees": 0,
            "total_balance": "",
            "has_promo_fee": False,
        }
        return json_response(body)

    async def _accounts(self, request: web.Request) -> web.StreamResponse:
        account = self._authenticate(request)
        if not isinstance(account, Account):
            return account
        rows = [
            {
                "uuid": wallet_id(code),
                "name": f"{code} Wallet",
                "currency": code,
                "available_balance": {"value": free, "currency": code},
                "default": True,
                "active": True,
                "created_at": "2024-01-04T06:20:06.456Z",
                "updated_at": "2024-01-04T06:20:07.181Z",
                "deleted_at": None,
                "type": "ACCOUNT_TYPE_FIAT" if code in FIAT else "ACCOUNT_TYPE_CRYPTO",
                "ready": True,
                "hold": {"value": held, "currency": code},
                "retail_portfolio_id": "00000000-0000-0000-0000-000000000000",
            }
            for code in self.wallet_codes(account)
            for free, held in [account.balances.get(code, ("0", "0"))]
        ]
        start = int(request.query.get("cursor") or 0)
        page = rows[start : start + self.page_size]
        has_next = start + self.page_size < len(rows)
        cursor = str(start + self.page_size) if has_next else ""
        body = {"accounts": page, "has_next": has_next, "cursor": cursor, "size": len(page)}
        return json_response(body)
