"""The mock exchanges themselves: their signature checks, faults, counters and ccxt table."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import jwt
import pytest

from mockex import (
    FAULT_KINDS,
    MOCKS,
    Account,
    AlpacaMock,
    BinanceMock,
    CoinbaseMock,
    KrakenMock,
    OkxMock,
    ccxt_table,
    new_cdp_key,
)
from mockex import kraken as kraken_mod
from mockex import okx as okx_mod

pytestmark = pytest.mark.network_mock

KRAKEN_SECRET = base64.b64encode(b"k" * 64).decode()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def get_json(
    http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, Any]:
    async with http.request(method, url, **kwargs) as response:
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text


def urls_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [u for v in value.values() for u in urls_in(v)]
    return [value] if isinstance(value, str) and "://" in value else []


# ---------------------------------------------------------------------------- ccxt table


@pytest.mark.parametrize("exchange", sorted(MOCKS))
async def test_ccxt_table_points_every_api_url_at_the_mock(exchange: str) -> None:
    async with MOCKS[exchange]() as mock:
        table = ccxt_table(mock)
        urls = urls_in(table["urls"]["api"])
        assert urls and all(u.startswith(mock.url + "/") or u == mock.url for u in urls)
        assert json.loads(json.dumps(table)) == table  # fits a TOML/JSON config
        assert table["rateLimit"] < 100


# ---------------------------------------------------------------------------- kraken


def kraken_request(path: str, nonce: int, secret: str, key: str = "k1") -> dict[str, Any]:
    body = urlencode({"nonce": str(nonce)})
    headers = {
        "API-Key": key,
        "API-Sign": kraken_mod.sign(path, str(nonce), body, secret),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return {"data": body, "headers": headers}


async def test_kraken_checks_api_sign_and_nonce(http: aiohttp.ClientSession) -> None:
    accounts = {"k1": Account(KRAKEN_SECRET, {"BTC": ("1.5", "0.5"), "USD": ("10", "0")})}
    async with KrakenMock(accounts) as mock:
        url = mock.url + "/0/private/BalanceEx"
        path = "/0/private/BalanceEx"
        status, body = await get_json(http, "POST", url, **kraken_request(path, 10, KRAKEN_SECRET))
        assert (status, body["error"]) == (200, [])
        assert body["result"] == {
            "XXBT": {"balance": "2.0", "hold_trade": "0.5"},
            "ZUSD": {"balance": "10", "hold_trade": "0"},
        }
        replay = kraken_request(path, 10, KRAKEN_SECRET)
        assert (await get_json(http, "POST", url, **replay))[1] == {"error": ["EAPI:Invalid nonce"]}
        other = base64.b64encode(b"x" * 64).decode()
        wrong = kraken_request(path, 11, other)
        assert (await get_json(http, "POST", url, **wrong))[1] == {"error": ["EAPI:Invalid key"]}
        unknown = kraken_request(path, 12, KRAKEN_SECRET, key="nobody")
        assert (await get_json(http, "POST", url, **unknown))[1]["error"] == ["EAPI:Invalid key"]
        assert mock.auth_rejections == 2
        assert mock.requests[path] == 4
        assert mock.requests_by_key == {"k1": 3, "nobody": 1}


async def test_kraken_public_endpoints(http: aiohttp.ClientSession) -> None:
    async with KrakenMock(prices={"BTC/USD": "60000.5", "SOL/USD": "150"}) as mock:
        _, pairs = await get_json(http, "GET", mock.url + "/0/public/AssetPairs")
        assert set(pairs["result"]) == {"XXBTZUSD", "SOLUSD"}
        assert pairs["result"]["XXBTZUSD"]["altname"] == "XBTUSD"
        _, assets = await get_json(http, "GET", mock.url + "/0/public/Assets")
        assert assets["result"]["XXBT"]["altname"] == "XBT"
        _, ticker = await get_json(http, "GET", mock.url + "/0/public/Ticker?pair=XXBTZUSD")
        assert ticker["result"]["XXBTZUSD"]["c"][0] == "60000.5"
        _, missing = await get_json(http, "GET", mock.url + "/0/public/Ticker?pair=NOPE")
        assert missing == {"error": ["EQuery:Unknown asset pair"]}


# ---------------------------------------------------------------------------- coinbase


def cdp_token(name: str, pem: str, uri: str, *, age: float = 0.0) -> str:
    now = int(time.time() - age)
    claims = {
        "aud": ["retail_rest_api_proxy"],
        "iss": "coinbase-cloud",
        "nbf": now,
        "exp": now + 120,
        "sub": name,
        "iat": now,
        "uri": uri,
    }
    headers = {"kid": name, "nonce": uuid.uuid4().hex}
    return jwt.encode(claims, pem, algorithm="ES256", headers=headers)


async def test_coinbase_verifies_the_jwt(http: aiohttp.ClientSession) -> None:
    name, pem = new_cdp_key()
    _, other_pem = new_cdp_key()
    async with CoinbaseMock({name: Account(pem, {"BTC": ("0.5", "0.1")})}) as mock:
        path = "/api/v3/brokerage/accounts"
        uri = f"GET {mock.url.removeprefix('http://')}{path}"

        async def call(token: str | None) -> tuple[int, Any]:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return await get_json(http, "GET", mock.url + path, headers=headers)

        status, body = await call(cdp_token(name, pem, uri))
        assert status == 200
        assert body["accounts"][0]["available_balance"] == {"value": "0.5", "currency": "BTC"}
        assert body["accounts"][0]["hold"] == {"value": "0.1", "currency": "BTC"}
        assert (await call(cdp_token(name, other_pem, uri)))[0] == 401  # other key's signature
        assert (await call(cdp_token(name, pem, uri, age=600)))[0] == 401  # expired
        assert (await call(cdp_token(name, pem, "GET elsewhere/api/v3/x")))[0] == 401
        assert (await call(None))[0] == 401
        assert mock.auth_rejections == 4


async def test_coinbase_products_filter_and_futures(http: aiohttp.ClientSession) -> None:
    async with CoinbaseMock(prices={"BTC/USD": "1", "ETH/USD": "2"}) as mock:
        url = mock.url + "/api/v3/brokerage/market/products"
        _, body = await get_json(http, "GET", url + "?product_ids=ETH-USD")
        assert [p["product_id"] for p in body["products"]] == ["ETH-USD"]
        _, futures = await get_json(http, "GET", url + "?product_type=FUTURE")
        assert futures["products"] == []


# ---------------------------------------------------------------------- binance, okx, alpaca


async def test_binance_checks_the_hmac_signature(http: aiohttp.ClientSession) -> None:
    async with BinanceMock({"bk": Account("bsecret", {"BTC": ("1", "0.5")})}) as mock:
        query = f"timestamp={int(time.time() * 1000)}&recvWindow=10000"
        good = hmac.new(b"bsecret", query.encode(), hashlib.sha256).hexdigest()
        headers = {"X-MBX-APIKEY": "bk"}
        url = f"{mock.url}/api/v3/account?{query}"
        status, body = await get_json(http, "GET", f"{url}&signature={good}", headers=headers)
        assert status == 200
        assert body["balances"] == [{"asset": "BTC", "free": "1", "locked": "0.5"}]
        status, body = await get_json(http, "GET", f"{url}&signature=00", headers=headers)
        assert (status, body["code"]) == (400, -1022)
        status, body = await get_json(http, "GET", f"{url}&signature={good}")
        assert (status, body["code"]) == (401, -2015)


async def test_okx_checks_sign_and_passphrase(http: aiohttp.ClientSession) -> None:
    async with OkxMock({"ok": Account("osecret", {"BTC": ("1", "0.5")}, passphrase="pp")}) as mock:
        path = "/api/v5/account/balance"

        def headers(secret: str, passphrase: str) -> dict[str, str]:
            ts = "2026-01-21T16:00:00.000Z"
            return {
                "OK-ACCESS-KEY": "ok",
                "OK-ACCESS-SIGN": okx_mod.sign(ts, "GET", path, "", secret),
                "OK-ACCESS-TIMESTAMP": ts,
                "OK-ACCESS-PASSPHRASE": passphrase,
            }

        status, body = await get_json(
            http, "GET", mock.url + path, headers=headers("osecret", "pp")
        )
        detail = body["data"][0]["details"][0]
        assert (status, detail["eq"], detail["availBal"], detail["frozenBal"]) == (
            200,
            "1.5",
            "1",
            "0.5",
        )
        status, body = await get_json(http, "GET", mock.url + path, headers=headers("x", "pp"))
        assert (status, body["code"]) == (401, "50113")
        status, body = await get_json(
            http, "GET", mock.url + path, headers=headers("osecret", "no")
        )
        assert (status, body["code"]) == (401, "50105")


async def test_alpaca_checks_the_key_headers(http: aiohttp.ClientSession) -> None:
    async with AlpacaMock({"ak": Account("asecret", cash="5")}) as mock:
        ok = {"APCA-API-KEY-ID": "ak", "APCA-API-SECRET-KEY": "asecret"}
        status, body = await get_json(http, "GET", mock.url + "/v2/account", headers=ok)
        assert (status, body["cash"], body["equity"]) == (200, "5", "5")
        bad = {**ok, "APCA-API-SECRET-KEY": "nope"}
        status, body = await get_json(http, "GET", mock.url + "/v2/positions", headers=bad)
        assert (status, body["code"]) == (401, 40110000)


# ---------------------------------------------------------------------------- faults & counters

EXPECTED_FAULTS: dict[str, tuple[int, str]] = {
    "auth": (200, "EAPI:Invalid key"),
    "permission": (200, "EGeneral:Permission denied"),
    "ratelimit": (200, "EAPI:Rate limit exceeded"),
    "http429": (429, "Too Many Requests"),
    "http500": (500, "Internal Server Error"),
    "http503": (503, "Service Unavailable"),
    "html": (502, "<html>"),
    "malformed_json": (200, '{"result": {'),
}


@pytest.mark.parametrize("kind", sorted(EXPECTED_FAULTS))
async def test_fault_bodies(http: aiohttp.ClientSession, kind: str) -> None:
    async with KrakenMock() as mock:
        mock.inject(kind, times=1)
        url = mock.url + "/0/public/Assets"
        async with http.get(url) as response:
            status, text = response.status, await response.text()
        assert (status, EXPECTED_FAULTS[kind][1] in text) == (EXPECTED_FAULTS[kind][0], True)
        assert (await get_json(http, "GET", url))[0] == 200  # `times=1`: only the first request


async def test_truncated_body_breaks_the_response(http: aiohttp.ClientSession) -> None:
    async with KrakenMock() as mock:
        mock.inject("truncated")
        with pytest.raises(aiohttp.ClientPayloadError):
            async with http.get(mock.url + "/0/public/Assets") as response:
                await response.read()


async def test_hang_is_bounded_and_latency_delays(http: aiohttp.ClientSession) -> None:
    async with KrakenMock(hang_cap=0.05) as mock:
        fault = mock.inject("hang", seconds=60)
        status, _ = await asyncio.wait_for(get_json(http, "GET", mock.url + "/0/public/Assets"), 5)
        assert status == 200 and fault.hits == 1


async def test_faults_scope_by_key_and_path(http: aiohttp.ClientSession) -> None:
    async with KrakenMock() as mock:
        mock.inject("http503", key="k-bad")
        mock.inject("http500", path="/0/public/Ticker")
        url = mock.url + "/0/public/Assets"
        assert (await get_json(http, "GET", url, headers={"API-Key": "k-bad"}))[0] == 503
        assert (await get_json(http, "GET", url, headers={"API-Key": "k-good"}))[0] == 200
        assert (await get_json(http, "GET", mock.url + "/0/public/Ticker"))[0] == 500
        mock.clear_faults()
        assert (await get_json(http, "GET", mock.url + "/0/public/Ticker"))[0] == 200
        with pytest.raises(ValueError, match="unknown fault"):
            mock.inject("gremlins")
        assert "gremlins" not in FAULT_KINDS


async def test_counters_and_unexpected_paths(http: aiohttp.ClientSession) -> None:
    async with KrakenMock() as mock:
        mock.inject("latency", seconds=0.05)
        await asyncio.gather(
            *(get_json(http, "GET", mock.url + "/0/public/Assets") for _ in range(4))
        )
        status, _ = await get_json(http, "GET", mock.url + "/sapi/v1/capital/config/getall")
        assert status == 404
        assert mock.unexpected == ["GET /sapi/v1/capital/config/getall"]
        assert mock.requests["/0/public/Assets"] == 4
        assert mock.count("/0/") == 4 and mock.count() == 5
        assert mock.max_in_flight == 4 and mock.in_flight == 0
