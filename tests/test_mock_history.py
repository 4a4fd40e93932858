"""History through ccxt's own async clients to the mock exchanges: fills and flows over several
pages with each exchange's paging, exact parsed values, and faults in the middle of paging.

Every ccxt instance is keyed (so `load_markets` makes the private calls a keyed instance
makes), reads amounts as strings (`number = str`, as the adapter does) and is pointed at its
mock by `mock.ccxt_overrides()`. `history_page_size = 2` turns five records into three pages.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from ccxt.base import errors

from mockex import MOCKS, MockFlow, MockTrade
from mockex.harness import ccxt_client as client
from mockex.harness import new_credentials

pytestmark = pytest.mark.network_mock

D = Decimal
T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z
MIN, DAY = 60_000, 86_400_000
#: Binance serves flows from a window ending now: its flows are recent
RECENT = (int(time.time() * 1000) // DAY - 10) * DAY
SYMBOL = {"binance": "BTC/USDT", "okx": "BTC/USDT"}
FILL_PATH = {
    "kraken": "/0/private/TradesHistory",
    "coinbase": "/api/v3/brokerage/orders/historical/fills",
    "binance": "/api/v3/myTrades",
    "okx": "/api/v5/trade/fills-history",
    "alpaca": "/v2/account/activities/FILL",
}


def trade_id(exchange: str, n: int) -> str:
    return {
        "kraken": f"T{n}QWER-TYUIO-PASDF{n}",
        "coinbase": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"fill{n}")),
        "binance": str(28457 + n),
        "okx": str(107601752 + n),
        "alpaca": f"2023111422{n:02d}20000::{uuid.uuid5(uuid.NAMESPACE_DNS, f'a{n}')}",
    }[exchange]


def fills(exchange: str, count: int = 5) -> list[MockTrade]:
    """`count` fills a minute apart; orders of two fills; fill 0 a maker buy."""
    return [
        MockTrade(
            id=trade_id(exchange, n),
            order=str(900 + n // 2) if exchange == "binance" else f"order-{n // 2}",
            time=T0 + n * MIN + 7,
            symbol=SYMBOL.get(exchange, "BTC/USD"),
            side="buy" if n % 2 == 0 else "sell",
            amount=f"0.{n + 1}25",
            price=f"6000{n}.5",
            fee=f"0.0{n + 1}",
            maker=n == 0,
        )
        for n in range(count)
    ]


async def walk_fills(ex: Any, exchange: str) -> list[list[dict[str, Any]]]:
    """Every page of fills, following the exchange's own paging as a caller must."""
    pages: list[list[dict[str, Any]]] = []
    params: dict[str, Any] = {"fromId": 0} if exchange == "binance" else {}
    for _ in range(10):
        page = await ex.fetch_my_trades(SYMBOL.get(exchange), params=dict(params))
        if not page or any(t["id"] is None for t in page):  # the end, or not fills at all
            return [*pages, page] if page else pages
        pages.append(page)
        raw = [t["info"] for t in page]
        if exchange == "kraken":  # offsets into the newest-first list
            params["ofs"] = sum(len(p) for p in pages)
        elif exchange == "coinbase":  # ccxt puts the response's cursor on one fill's info
            cursor = next((i["cursor"] for i in raw if i.get("cursor")), None)
            if cursor is None:
                return pages
            params["cursor"] = cursor
        elif exchange == "binance":  # ids are per symbol, ascending
            params["fromId"] = max(int(t["id"]) for t in page) + 1
        elif exchange == "okx":  # older than the oldest billId seen
            params["after"] = min(int(i["billId"]) for i in raw)
        else:  # alpaca: the id of the page's last (oldest) activity
            params["page_token"] = page[0]["id"]
    raise AssertionError(f"paging never ended: {params}")


# ---------------------------------------------------------------------------- fills, all five


@pytest.mark.parametrize("exchange", sorted(MOCKS))
async def test_fills_are_paged_and_parsed_exactly(exchange: str) -> None:
    async with client(exchange, trades=fills(exchange)) as (ex, mock):
        pages = await walk_fills(ex, exchange)
        ids = [[t["id"] for t in page] for page in pages]
        want = [trade_id(exchange, n) for n in range(5)]
        if exchange == "binance":  # oldest first from fromId
            assert ids == [want[0:2], want[2:4], want[4:5]]
        else:  # newest first, each page sorted oldest first by ccxt
            assert ids == [want[3:5], want[1:3], want[0:1]]
        requests = mock.requests[FILL_PATH[exchange]]
        assert requests == (3 if exchange == "coinbase" else 4)  # coinbase: cursor "" ends

        fill = next(t for page in pages for t in page if t["id"] == trade_id(exchange, 1))
        assert fill["order"] == ("900" if exchange == "binance" else "order-0")
        assert (fill["timestamp"], fill["symbol"], fill["side"]) == (
            T0 + MIN + 7,
            SYMBOL.get(exchange, "BTC/USD"),
            "sell",
        )
        assert (D(fill["amount"]), D(fill["price"])) == (D("0.225"), D("60001.5"))
        assert D(fill["cost"]) == D("13500.3375")
        if exchange == "alpaca":  # the fee is a separate CFEE activity
            assert fill["fee"] == {"cost": None, "currency": None}
        else:
            quote = SYMBOL.get(exchange, "BTC/USD").split("/")[1]
            assert (D(fill["fee"]["cost"]), fill["fee"]["currency"]) == (D("0.02"), quote)
        maker = next(t for page in pages for t in page if t["id"] == trade_id(exchange, 0))
        assert maker["takerOrMaker"] == ("taker" if exchange == "alpaca" else "maker")


#: what ccxt raises when the second page of fills meets each fault (observed, ccxt 4.5)
FILL_FAULTS: dict[str, dict[str, type[Exception]]] = {
    "kraken": {
        "auth": errors.AuthenticationError,
        "permission": errors.PermissionDenied,
        "ratelimit": errors.DDoSProtection,  # "EAPI:Rate limit exceeded" is exact-matched
        "http429": errors.RateLimitExceeded,
    },
    "coinbase": {
        "auth": errors.AuthenticationError,
        "permission": errors.PermissionDenied,
        "ratelimit": errors.RateLimitExceeded,
        "http429": errors.RateLimitExceeded,
    },
    "binance": {
        "auth": errors.DDoSProtection,  # -2015: ccxt reads it as a temporary IP ban
        "permission": errors.AuthenticationError,  # -1002 with HTTP 401
        "ratelimit": errors.DDoSProtection,  # any 418/429 is DDoSProtection first
        "http429": errors.DDoSProtection,
    },
    "okx": {
        "auth": errors.AuthenticationError,
        "permission": errors.PermissionDenied,
        "ratelimit": errors.RateLimitExceeded,
        "http429": errors.ExchangeNotAvailable,  # a bare 429 is not read as a rate limit
    },
    "alpaca": {
        "auth": errors.PermissionDenied,  # 40110000 "request is not authorized"
        "permission": errors.PermissionDenied,
        "ratelimit": errors.RateLimitExceeded,
        "http429": errors.RateLimitExceeded,
    },
}
for table in FILL_FAULTS.values():  # the same for all five
    table.update(
        http500=errors.ExchangeNotAvailable,
        http503=errors.ExchangeNotAvailable,
        html=errors.ExchangeNotAvailable,
        truncated=errors.ExchangeError,  # not a NetworkError: retrying code must know
        hang=errors.RequestTimeout,
    )


@pytest.mark.parametrize(
    ("exchange", "kind"),
    [(e, k) for e in sorted(FILL_FAULTS) for k in sorted(FILL_FAULTS[e])],
)
async def test_a_fault_on_page_two_surfaces(exchange: str, kind: str) -> None:
    async with client(exchange, trades=fills(exchange)) as (ex, mock):
        await ex.load_markets()
        ex.timeout, mock.hang_cap = 300, 2.0  # ms; the `hang` outlasts it
        fault = mock.inject(kind, path=FILL_PATH[exchange], after=1, seconds=2.0)
        with pytest.raises(errors.BaseError) as raised:
            await walk_fills(ex, exchange)
        assert type(raised.value) is FILL_FAULTS[exchange][kind], repr(raised.value)
        assert (fault.passed, fault.hits, mock.requests[FILL_PATH[exchange]]) == (1, 1, 2)


@pytest.mark.parametrize("exchange", sorted(MOCKS))
async def test_malformed_json_on_page_two_raises_nothing_in_ccxt(exchange: str) -> None:
    """ccxt hands a body that is not JSON to the parser as a string: no exception at all."""
    async with client(exchange, trades=fills(exchange)) as (ex, mock):
        mock.inject("malformed_json", path=FILL_PATH[exchange], after=1)
        pages = await walk_fills(ex, exchange)
        assert mock.requests[FILL_PATH[exchange]] == 2
        if exchange in ("binance", "alpaca"):  # a list is expected: one "fill" per character
            assert len(pages) == 2 and len(pages[1]) == len(
                '{"result": {"BTC": {"balance": "1.0", "hold'
            )
            assert {t["id"] for t in pages[1]} == {None}
        else:  # a dict is expected: no fills, which reads as the end of the history
            assert [len(p) for p in pages] == [2]


FLOWS_CALL = {
    "kraken": ("fetch_ledger", "/0/private/Ledgers"),
    "coinbase": ("fetch_ledger", "/v2/accounts/"),
    "binance": ("fetch_withdrawals", "/sapi/v1/capital/withdraw/history"),
    "okx": ("fetch_deposits", "/api/v5/asset/deposit-history"),
    "alpaca": ("fetch_withdrawals", "/v2/wallets/transfers"),
}


@pytest.mark.parametrize("exchange", sorted(MOCKS))
async def test_history_requests_are_signed_and_checked(exchange: str) -> None:
    method, flows_path = FLOWS_CALL[exchange]
    deposit = MockFlow("in-1", "deposit", "BTC", "1", T0)
    async with client(exchange, fills(exchange), [deposit]) as (ex, mock):
        await getattr(ex, method)("BTC")  # markets, currencies, Coinbase's wallet ids
        ex.secret = new_credentials(exchange).api_secret  # same key, another secret
        for call in (ex.fetch_my_trades(SYMBOL.get(exchange)), getattr(ex, method)("BTC")):
            with pytest.raises((errors.AuthenticationError, errors.PermissionDenied)):
                await call
        assert mock.auth_rejections == 2
        assert (mock.count(FILL_PATH[exchange]), mock.count(flows_path)) == (1, 2)
        mock.auth_rejections = 0  # seen; the client's own check is for unexpected ones


async def test_paginate_retries_a_failed_page_and_gives_up_after_three_retries() -> None:
    """ccxt's `paginate` swallows up to 3 errors in a row: a flaky page is simply re-asked."""
    path = FILL_PATH["coinbase"]
    async with client("coinbase", trades=fills("coinbase")) as (ex, mock):
        mock.inject("http500", path=path, after=1, times=1)
        trades = await ex.fetch_my_trades(since=T0, params={"paginate": True})
        assert sorted(t["id"] for t in trades) == sorted(trade_id("coinbase", n) for n in range(5))
        assert mock.requests[path] == 4  # pages 1, 2 (500), 2 again, 3
        mock.inject("http500", path=path, after=1)
        with pytest.raises(errors.ExchangeNotAvailable):
            await ex.fetch_my_trades(since=T0, params={"paginate": True})
        assert mock.requests[path] == 4 + 5  # page 1, then page 2 four times


# ---------------------------------------------------------------------------- flows


async def test_kraken_ledger_is_paged_with_ofs_and_funding_status_is_listed() -> None:
    flows = [
        MockFlow("QCUAK-DEP-USD", "deposit", "USD", "1000", T0 - 2 * DAY),
        MockFlow("QCUAK-DEP-BTC", "deposit", "BTC", "0.5", T0 - DAY, txid="tx-in"),
        MockFlow("AGBSO-WD-BTC", "withdrawal", "BTC", "0.1", T0 + DAY + 250, fee="0.0005"),
        MockFlow(
            "AGBSO-WD-USD", "withdrawal", "USD", "200", T0 + 2 * DAY, fee="5", status="pending"
        ),
    ]
    async with client("kraken", fills("kraken", 2), flows) as (ex, mock):
        pages = [await ex.fetch_ledger(params={"ofs": ofs}) for ofs in (0, 2, 4, 6, 8)]
        assert [len(p) for p in pages] == [2, 2, 2, 2, 0]  # 4 flows + 2 fills x 2 legs
        entries = {e["referenceId"] + "/" + e["currency"]: e for p in pages for e in p}
        out = entries["AGBSO-WD-BTC/BTC"]
        assert (out["type"], out["direction"], D(out["amount"])) == ("transaction", "out", D("0.1"))
        assert (D(out["fee"]["cost"]), out["timestamp"]) == (D("0.0005"), T0 + DAY + 250)
        assert D(out["after"]) == D("0.2995")  # 0.5 + 0.125 - 0.225 - 0.1 - 0.0005
        leg = entries[trade_id("kraken", 1) + "/USD"]  # the sell's quote leg carries the fee
        assert (leg["type"], leg["direction"], D(leg["amount"])) == ("trade", "in", D("13500.3375"))
        assert D(leg["fee"]["cost"]) == D("0.02")
        btc = await ex.fetch_ledger("BTC", params={"type": "deposit"})
        assert [e["referenceId"] for e in btc] == ["QCUAK-DEP-BTC"]

        deposits = await ex.fetch_deposits()
        assert [(d["id"], d["currency"], D(d["amount"]), d["status"]) for d in deposits] == [
            ("QCUAK-DEP-BTC", "BTC", D("0.5"), "ok"),  # Kraken's order (newest first), unsorted
            ("QCUAK-DEP-USD", "USD", D(1000), "ok"),
        ]
        assert deposits[0]["timestamp"] == T0 - DAY  # whole seconds here
        mock.history_page_size = 1
        withdrawals = await ex.fetch_withdrawals(params={"paginate": True})
        assert [(w["id"], w["status"], D(w["fee"]["cost"])) for w in withdrawals] == [
            ("AGBSO-WD-USD", "pending", D(5)),  # `paginate` sorts newest first
            ("AGBSO-WD-BTC", "ok", D("0.0005")),
        ]
        assert withdrawals[1]["timestamp"] == T0 + DAY  # the 250 ms are lost
        assert mock.requests["/0/private/Ledgers"] == 6
        assert mock.requests["/0/private/WithdrawStatus"] == 2  # next_cursor followed


COINBASE_FLOWS = [
    MockFlow("dep-usd-1", "deposit", "USD", "1000", T0 - 3 * DAY, fee="1.5"),
    MockFlow("dep-usd-2", "deposit", "USD", "250", T0 - 2 * DAY),
    MockFlow("dep-usd-3", "deposit", "USD", "40", T0 - DAY, status="pending"),
    MockFlow("wd-usd-1", "withdrawal", "USD", "100", T0 + DAY, fee="0.15"),
    MockFlow("send-in-1", "deposit", "BTC", "0.2", T0 - DAY, txid="0xin1"),
    MockFlow("send-in-2", "deposit", "BTC", "0.3", T0 - DAY // 2, txid="0xin2"),
    MockFlow("send-out-1", "withdrawal", "BTC", "0.1", T0 + 2 * DAY, fee="0.0005", txid="0xo"),
]


async def test_coinbase_v2_transfers_page_with_starting_after() -> None:
    async with client("coinbase", flows=COINBASE_FLOWS) as (ex, mock):
        first = await ex.fetch_deposits("USD")
        assert [d["id"] for d in first] == ["dep-usd-2", "dep-usd-3"]
        # the page's last record in Coinbase's order (newest first) is ccxt's first
        second = await ex.fetch_deposits("USD", params={"starting_after": first[0]["id"]})
        assert [(d["id"], D(d["amount"]), D(d["fee"]["cost"])) for d in second] == [
            ("dep-usd-1", D(1000), D("1.5"))  # `subtotal`: before the fee
        ]
        assert (second[0]["timestamp"], first[1]["status"]) == (T0 - 3 * DAY, "pending")
        (withdrawal,) = await ex.fetch_withdrawals("USD")
        assert (D(withdrawal["amount"]), D(withdrawal["fee"]["cost"])) == (D("100.15"), D("0.15"))

        ledger = await ex.fetch_ledger("BTC", since=T0 - 10 * DAY, params={"paginate": True})
        assert [(e["id"], e["direction"], D(e["amount"])) for e in ledger] == [
            ("send-out-1", "out", D("0.1005")),  # the amount includes the network fee
            ("send-in-2", "in", D("0.3")),  # `paginate` sorts newest first
            ("send-in-1", "in", D("0.2")),
        ]
        assert D(ledger[0]["fee"]["cost"]) == D("0.0005")
        btc_wallet = [p for p in mock.requests if p.endswith("/transactions")]
        assert [mock.requests[p] for p in btc_wallet] == [2]
        # ccxt reads a send by its positive `transaction_amount`: every send is a "deposit"
        crypto = {"currencyType": "crypto"}
        assert await ex.fetch_withdrawals("BTC", params=crypto) == []
        sends = await ex.fetch_deposits("BTC", params=crypto)  # the newest page of two
        assert [(s["id"], s["type"]) for s in sends] == [
            ("send-in-2", "deposit"),
            ("send-out-1", "deposit"),
        ]


async def test_binance_flows_page_with_offset_inside_a_90_day_window() -> None:
    flows = [
        MockFlow("dep-1", "deposit", "USDT", "1000", RECENT + 1000, txid="0xa"),
        MockFlow("dep-2", "deposit", "BTC", "0.5", RECENT + 2000, txid="0xb"),
        MockFlow("dep-3", "deposit", "USDT", "7.25", RECENT + 3000, status="pending"),
        MockFlow("dep-old", "deposit", "USDT", "5", RECENT - 100 * DAY, txid="0xc"),
        MockFlow("wd-1", "withdrawal", "BTC", "0.1", RECENT + 4250, fee="0.0005", txid="0xd"),
    ]
    async with client("binance", fills("binance"), flows) as (ex, mock):
        first = await ex.fetch_deposits()
        second = await ex.fetch_deposits(params={"offset": 2})
        assert [d["id"] for d in first] == ["dep-2", "dep-3"]
        assert [(d["id"], d["txid"], d["timestamp"]) for d in second] == [
            ("dep-1", "0xa", RECENT + 1000)
        ]
        assert (first[1]["status"], D(first[1]["amount"])) == ("pending", D("7.25"))
        old = await ex.fetch_deposits(since=RECENT - 110 * DAY)  # that 90-day window only
        assert [d["id"] for d in old] == ["dep-old"]
        (withdrawal,) = await ex.fetch_withdrawals()
        assert (withdrawal["id"], withdrawal["status"], D(withdrawal["fee"]["cost"])) == (
            "wd-1",
            "ok",
            D("0.0005"),
        )
        assert withdrawal["timestamp"] == RECENT + 4000  # applyTime has whole seconds
        assert mock.requests["/sapi/v1/capital/deposit/hisrec"] == 3
        with pytest.raises(errors.BadRequest, match="-1128"):  # fromId and a time
            await ex.fetch_my_trades("BTC/USDT", since=T0, params={"fromId": 1})


async def test_okx_flows_page_by_time_with_after_and_before() -> None:
    flows = [
        MockFlow("4703879", "deposit", "USDT", "1000", T0 + 1000, txid="0xa"),
        MockFlow("4703880", "deposit", "BTC", "0.5", T0 + 2000, txid="0xb"),
        MockFlow("4703881", "deposit", "USDT", "7.25", T0 + 3000, status="pending"),
        MockFlow("25147041", "withdrawal", "USDT", "54.561", T0 + 4000, fee="0.8", txid="0xc"),
    ]
    async with client("okx", flows=flows) as (ex, mock):
        first = await ex.fetch_deposits()
        assert [d["id"] for d in first] == ["4703880", "4703881"]
        older = await ex.fetch_deposits(params={"after": first[0]["timestamp"]})
        assert [(d["id"], D(d["amount"]), d["fee"]["cost"]) for d in older] == [
            ("4703879", D(1000), 0)
        ]
        newer = await ex.fetch_deposits(params={"before": T0 + 1000})
        assert [d["id"] for d in newer] == ["4703880", "4703881"]  # the two right after
        (withdrawal,) = await ex.fetch_withdrawals()
        assert (withdrawal["type"], D(withdrawal["amount"]), D(withdrawal["fee"]["cost"])) == (
            "withdrawal",
            D("54.561"),
            D("0.8"),
        )
        assert (withdrawal["timestamp"], withdrawal["status"]) == (T0 + 4000, "ok")
        assert mock.requests["/api/v5/asset/deposit-history"] == 3


async def test_alpaca_cash_flows_page_with_page_token_and_crypto_is_a_wallet_transfer() -> None:
    flows = [
        MockFlow("20231110::csd-1", "deposit", "USD", "1000", T0 - 4 * DAY),
        MockFlow("20231111::csd-2", "deposit", "USD", "250.5", T0 - 3 * DAY),
        MockFlow("20231112::csw-1", "withdrawal", "USD", "100", T0 - 2 * DAY + 77),
        MockFlow("e27b70a6", "withdrawal", "USDT", "20", T0 - DAY, fee="0.1", txid="0xe"),
    ]
    equity = MockTrade("20231114221400000::eq", "o-eq", T0 + 40_000, "AAPL", "buy", "3", "189.25")
    async with client("alpaca", [*fills("alpaca", 1), equity], flows) as (ex, mock):
        (stock,) = await ex.fetch_my_trades(since=T0 + 10_000)  # `after`: exclusive
        assert (stock["symbol"], D(stock["amount"]), D(stock["cost"])) == ("AAPL", 3, D("567.75"))
        (transfer,) = await ex.fetch_withdrawals()  # the live path: crypto wallet transfers
        assert (transfer["id"], transfer["currency"], D(transfer["fee"]["cost"])) == (
            "e27b70a6",
            "USDT",
            D("0.1"),
        )
        assert await ex.fetch_deposits() == []

    options = {"sandboxMode": True}  # ccxt's paper path: account activities CSD/CSW/TRANS
    async with client("alpaca", fills("alpaca", 1), flows, **options) as (ex, mock):
        first = await ex.fetch_deposits()
        assert [d["id"] for d in first] == ["20231111::csd-2"]  # the page also held the CSW
        token = "20231111::csd-2"  # the page's last activity, newest first
        second = await ex.fetch_deposits(params={"page_token": token})
        assert [(d["id"], D(d["amount"]), d["currency"]) for d in second] == [
            ("20231110::csd-1", D(1000), "USD")
        ]
        (cash_out,) = await ex.fetch_withdrawals()
        assert (cash_out["id"], D(cash_out["amount"]), cash_out["status"]) == (
            "20231112::csw-1",
            D(100),
            "ok",
        )
        assert cash_out["timestamp"] == (T0 - 2 * DAY) // DAY * DAY  # a date, no time of day
        assert mock.requests["/v2/account/activities"] == 3
