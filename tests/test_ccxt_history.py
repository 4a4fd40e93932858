"""Trades and flows through `CcxtAdapter.history_pages`, over HTTP to the five mock exchanges:
several pages equal the mock's records exactly, the final cursor brings nothing twice, new
records are picked up, a fault mid-paging resumes without duplicates, pending flows wait.

Each mock serves the account's records with its exchange's real paging;
`history_page_size = 2` makes a handful of records several pages.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from mockex import MOCKS, MockExchange, MockFlow, MockTrade
from mockex.base import Account
from mockex.harness import add_account, connection
from nija_balances.adapters.ccxt.adapter import CcxtAdapter
from nija_balances.adapters.ccxt.history import unsupported_reason
from nija_balances.adapters.ccxt.quirks import HistoryPaging, quirks_for
from nija_balances.adapters.interface import (
    AdapterError,
    HistoryAdapter,
    HistoryKind,
    HistoryPage,
    HistoryRequest,
    HistoryUnsupported,
)
from nija_balances.domain.history import Fill, Flow
from nija_balances.domain.models import ConnectionConfig, Settings, Status
from nija_balances.domain.secrets import Credentials

pytestmark = pytest.mark.network_mock

D = Decimal
EXCHANGES = sorted(MOCKS)
MIN, DAY = 60_000, 86_400_000
#: whole days (Alpaca's cash activities carry a date only), recent (Binance's windows)
T0 = (int(time.time() * 1000) // DAY - 20) * DAY
SYMBOL = {"binance": "BTC/USDT", "okx": "BTC/USDT"}
FILL_PATH = {
    "kraken": "/0/private/TradesHistory",
    "coinbase": "/api/v3/brokerage/orders/historical/fills",
    "binance": "/api/v3/myTrades",
    "okx": "/api/v5/trade/fills-history",
    "alpaca": "/v2/account/activities",
}
FLOW_PATH = {
    "kraken": "/0/private/Ledgers",
    "coinbase": "/v2/accounts/",
    "binance": "/sapi/v1/capital/deposit/hisrec",
    "okx": "/api/v5/asset/deposit-history",
    "alpaca": "/v2/account/activities",
}
CURRENCIES = frozenset({"BTC", "USD", "USDT"})


def trade_id(exchange: str, n: int) -> str:
    return {
        "kraken": f"T{n:04d}Q-TYUIO-PASDF{n}",
        "coinbase": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"fill{n}")),
        "binance": str(28457 + n),
        "okx": str(107601752 + n),
        "alpaca": f"{n:05d}::{uuid.uuid5(uuid.NAMESPACE_DNS, f'a{n}')}",
    }[exchange]


def trades(exchange: str, count: int = 5, first: int = 0, at: int = T0) -> list[MockTrade]:
    """`count` fills a minute apart (fill 0 at `at`), two per order, fees in the quote."""
    return [
        MockTrade(
            id=trade_id(exchange, n),
            order=str(900 + n // 2) if exchange == "binance" else f"order-{n // 2}",
            time=at + (n - first) * MIN + 7,
            symbol=SYMBOL.get(exchange, "BTC/USD"),
            side="buy" if n % 2 == 0 else "sell",
            amount=f"0.{n + 1}25",
            price=f"6000{n % 10}.5",
            fee=f"0.0{n % 9 + 1}",
            maker=n == 0,
        )
        for n in range(first, first + count)
    ]


def flows(exchange: str, at: int = T0, tag: str = "") -> list[MockFlow]:
    """Completed deposits and withdrawals (with fees where the exchange shows them), one
    pending deposit and one failed withdrawal; times in whole seconds."""
    cash = "USD" if exchange in ("kraken", "coinbase", "alpaca") else "USDT"
    crypto = "USDT" if exchange == "alpaca" else "BTC"  # Alpaca's wallets: not its cash
    cash_fee = "0" if exchange in ("coinbase", "alpaca") else "2.5"
    out = [
        MockFlow(f"dep{tag}-1", "deposit", cash, "1000", at + 1 * DAY),
        MockFlow(f"dep{tag}-2", "deposit", crypto, "0.5", at + 2 * DAY, txid="0xa"),
        MockFlow(f"wd{tag}-1", "withdrawal", crypto, "0.1", at + 3 * DAY, fee="0.0005"),
        MockFlow(f"wd{tag}-2", "withdrawal", cash, "200", at + 4 * DAY, fee=cash_fee),
        MockFlow(f"dep{tag}-3", "deposit", cash, "7.25", at + 5 * DAY, status="pending"),
        MockFlow(f"wd{tag}-3", "withdrawal", cash, "9", at + 6 * DAY, status="failed"),
    ]
    if exchange == "okx":  # OKX ids are numbers
        out = [replace(f, id=str(4703879 + n)) for n, f in enumerate(out)]
    return out


def as_fill(t: MockTrade) -> Fill:
    return Fill(
        id=t.id,
        order=t.order,
        time=datetime.fromtimestamp(t.time / 1000, UTC),
        symbol=t.symbol,
        side="buy" if t.side == "buy" else "sell",
        amount=D(t.amount),
        price=D(t.price),
        cost=D(t.amount) * D(t.price),
        fee=D(t.fee),
        fee_currency=t.fee_code,
    )


def as_flow(f: MockFlow) -> Flow:
    return Flow(
        id=f.id,
        kind="deposit" if f.kind == "deposit" else "withdrawal",
        time=datetime.fromtimestamp(f.time / 1000, UTC),
        currency=f.currency,
        amount=D(f.amount),
        fee=D(f.fee),
    )


def exact(items: list[Any]) -> list[tuple[Any, ...]]:
    """Items with their Decimals as text: `Decimal` equality would hide a lost digit."""
    return sorted(
        tuple(str(v.normalize()) if isinstance(v, Decimal) else v for v in vars(i).values())
        for i in items
    )


@dataclass
class Sync:
    adapter: CcxtAdapter
    mock: MockExchange
    creds: Credentials
    conn: ConnectionConfig

    @property
    def account(self) -> Account:
        assert self.creds.api_key is not None
        return self.mock.accounts[self.creds.api_key]

    async def pages(self, kind: HistoryKind, cursor: str | None = None) -> list[HistoryPage]:
        request = HistoryRequest(kind, cursor, CURRENCIES, "USD")
        return [p async for p in self.adapter.history_pages(self.conn, self.creds, request)]


@asynccontextmanager
async def synced(
    exchange: str, mock_trades: list[MockTrade], mock_flows: list[MockFlow], **options: Any
) -> AsyncIterator[Sync]:
    async with MOCKS[exchange]() as mock:
        mock.history_page_size = 2
        creds = add_account(mock, trades=mock_trades, flows=mock_flows)
        conn = replace(connection(mock), options=options)
        adapter = CcxtAdapter(exchange, Settings(timeout=5.0), None)
        try:
            yield Sync(adapter, mock, creds, conn)
        finally:
            await adapter.aclose()
        assert mock.unexpected == []
        assert mock.auth_rejections == 0


def items(pages: list[HistoryPage]) -> list[Any]:
    return [i for p in pages for i in (*p.fills, *p.flows)]


def completed(records: list[MockFlow]) -> list[Flow]:
    return [as_flow(f) for f in records if f.status == "ok"]


# ---------------------------------------------------------------------------- all five


@pytest.mark.parametrize("exchange", EXCHANGES)
async def test_trades_across_pages_equal_the_mock_exactly_and_then_nothing_new(
    exchange: str,
) -> None:
    records = trades(exchange)
    async with synced(exchange, records, []) as s:
        assert isinstance(s.adapter, HistoryAdapter)
        pages = await s.pages("trades")
        assert len([p for p in pages if p.fills]) >= 3  # page size 2
        assert exact(items(pages)) == exact([as_fill(t) for t in records])
        assert all(p.cursor for p in pages)

        before, every = s.mock.requests[FILL_PATH[exchange]], s.mock.count("/")
        assert await s.pages("trades", pages[-1].cursor) == []
        again = s.mock.requests[FILL_PATH[exchange]] - before
        assert again == 1  # one request per symbol / listing, answered with nothing new
        assert s.mock.count("/") - every == 1  # and no other (markets are loaded)

        s.account.trades.extend(trades(exchange, 3, first=5, at=T0 + 10 * MIN))
        newer = await s.pages("trades", pages[-1].cursor)
        assert exact(items(newer)) == exact(
            [as_fill(t) for t in trades(exchange, 3, 5, T0 + 10 * MIN)]
        )
        assert await s.pages("trades", newer[-1].cursor) == []


@pytest.mark.parametrize("exchange", EXCHANGES)
async def test_flows_count_completed_ones_with_fees_and_then_nothing_new(exchange: str) -> None:
    records = flows(exchange)
    async with synced(exchange, trades(exchange, 2), records) as s:
        pages = await s.pages("flows")
        assert exact(items(pages)) == exact(completed(records))
        assert len([p for p in pages if p.flows]) >= 2
        cursor = pages[-1].cursor

        counted = s.mock.count("/")
        assert await s.pages("flows", cursor) == []
        if exchange == "kraken":  # one private request for the whole kind
            assert s.mock.count("/") - counted == 1

        later = flows(exchange, at=T0 + 8 * DAY, tag="-later")
        if exchange == "okx":
            later = [replace(f, id=str(5703879 + n)) for n, f in enumerate(later)]
        s.account.flows.extend(later)
        newer = await s.pages("flows", cursor)
        assert exact(items(newer)) == exact(completed(later))
        assert await s.pages("flows", newer[-1].cursor) == []


@pytest.mark.parametrize("exchange", [e for e in EXCHANGES if e != "kraken"])
async def test_a_pending_flow_is_counted_once_it_completes(exchange: str) -> None:
    """Kraken's ledger books a deposit when it is credited, so it has no pending ones."""
    records = flows(exchange)
    async with synced(exchange, [], records) as s:
        pages = await s.pages("flows")
        pending = next(f for f in records if f.status == "pending")
        assert pending.id not in {i.id for i in items(pages)}
        again = await s.pages("flows", pages[-1].cursor)
        assert items(again) == []  # still pending: nothing counted twice either

        s.account.flows[s.account.flows.index(pending)] = replace(pending, status="ok")
        cursor = again[-1].cursor if again else pages[-1].cursor
        done = await s.pages("flows", cursor)
        assert exact(items(done)) == exact([as_flow(replace(pending, status="ok"))])
        assert await s.pages("flows", done[-1].cursor) == []


@pytest.mark.parametrize("exchange", EXCHANGES)
@pytest.mark.parametrize("kind", ["trades", "flows"])
async def test_a_fault_mid_paging_keeps_earlier_pages_and_resumes_without_duplicates(
    exchange: str, kind: HistoryKind
) -> None:
    mock_trades, mock_flows = trades(exchange, 7), flows(exchange)
    path = FILL_PATH[exchange] if kind == "trades" else FLOW_PATH[exchange]
    async with synced(exchange, mock_trades, mock_flows) as s:
        await s.pages(kind)  # a clean first sync: how many requests it makes there
        fault = s.mock.inject("http500", path=path, after=max(1, s.mock.count(path) - 2))
        got: list[HistoryPage] = []
        with pytest.raises(AdapterError) as raised:
            async for page in s.adapter.history_pages(
                s.conn, s.creds, HistoryRequest(kind, None, CURRENCIES, "USD")
            ):
                got.append(page)
        assert raised.value.status in (Status.ERROR, Status.UNREACHABLE)
        assert fault.hits == 1 and got and items(got)
        s.mock.clear_faults()
        rest = await s.pages(kind, got[-1].cursor)
        ids = [i.id for i in items(got) + items(rest)]
        assert len(ids) == len(set(ids))  # nothing twice
        want = [as_fill(t) for t in mock_trades] if kind == "trades" else completed(mock_flows)
        assert exact(items(got) + items(rest)) == exact(want)


@pytest.mark.parametrize("exchange", EXCHANGES)
async def test_a_rate_limit_mid_paging_is_reported_as_such_without_secrets(exchange: str) -> None:
    async with synced(exchange, trades(exchange), []) as s:
        s.mock.inject("ratelimit", path=FILL_PATH[exchange], after=1)
        got: list[HistoryPage] = []
        with pytest.raises(AdapterError) as raised:
            async for page in s.adapter.history_pages(
                s.conn, s.creds, HistoryRequest("trades", None, CURRENCIES, "USD")
            ):
                got.append(page)
        assert raised.value.status is Status.RATE_LIMITED
        assert items(got)  # the first page was yielded before the failure
        for secret in s.creds.secrets():
            assert secret not in raised.value.message
            assert all(secret not in (p.cursor or "") for p in got)


@pytest.mark.parametrize("exchange", EXCHANGES)
async def test_a_malformed_body_mid_paging_is_an_error_not_the_end(exchange: str) -> None:
    async with synced(exchange, trades(exchange), []) as s:
        s.mock.inject("malformed_json", path=FILL_PATH[exchange], after=1)
        with pytest.raises(AdapterError, match="not JSON") as raised:
            await s.pages("trades")
        assert raised.value.status is Status.ERROR


#: valid JSON without the records, which ccxt reads as no records at all
WRONG_SHAPE = {
    "kraken": {"error": [], "result": {"count": 5}},
    "coinbase": {"cursor": ""},
    "binance": {"msg": "maintenance"},
    "okx": {"code": "0", "msg": ""},
    "alpaca": {"activities": None},
}


@pytest.mark.parametrize("exchange", EXCHANGES)
async def test_an_answer_without_its_records_mid_paging_is_an_error(exchange: str) -> None:
    async with synced(exchange, trades(exchange), []) as s:
        s.mock.inject("body", path=FILL_PATH[exchange], after=1, payload=WRONG_SHAPE[exchange])
        with pytest.raises(AdapterError) as raised:
            await s.pages("trades")
        assert raised.value.status is Status.ERROR


async def test_a_cursor_that_is_not_ours_is_an_error() -> None:
    async with synced("kraken", trades("kraken"), []) as s:
        with pytest.raises(AdapterError, match="cursor is unreadable"):
            await s.pages("trades", "{not json")


async def test_no_credentials_is_said_as_such() -> None:
    async with synced("kraken", [], []) as s:
        request = HistoryRequest("trades")
        with pytest.raises(AdapterError) as raised:
            [p async for p in s.adapter.history_pages(s.conn, Credentials(), request)]
        assert raised.value.status is Status.NO_CREDENTIALS


# ---------------------------------------------------------------------------- Binance symbols


async def test_binance_reads_trade_symbols_beside_the_accounts_currencies() -> None:
    """ETH is not among the account's currencies: only `trade_symbols` names its market."""
    eth = [replace(t, symbol="ETH/USDT", id=str(int(t.id) + 100)) for t in trades("binance", 3)]
    async with synced("binance", trades("binance") + eth, []) as s:
        assert {f.symbol for f in items(await s.pages("trades"))} == {"BTC/USDT"}
        s.conn = replace(s.conn, options={"trade_symbols": ("ETH/USDT",)})
        pages = await s.pages("trades")
        assert exact(items(pages)) == exact([as_fill(t) for t in trades("binance") + eth])
        streams = json.loads(pages[-1].cursor or "")["s"]
        assert set(streams) == {"sym:BTC/USDT", "sym:ETH/USDT"}


async def test_binance_names_an_unknown_trade_symbol() -> None:
    async with synced("binance", [], [], trade_symbols=("NOPE/USDT",)) as s:
        with pytest.raises(AdapterError, match=r"no market NOPE/USDT \(trade_symbols of binance\)"):
            await s.pages("trades")


# ---------------------------------------------------------------------------- unsupported


def test_an_exchange_without_the_ccxt_calls_is_unsupported_naming_them() -> None:
    paging = quirks_for("somewhere").history
    assert unsupported_reason("x", paging, {"fetchMyTrades": False}, "trades") == (
        "x has no fetch_my_trades in ccxt"
    )
    assert "fetch_deposits, fetch_withdrawals or fetch_ledger" in (
        unsupported_reason("x", paging, {}, "flows") or ""
    )
    assert unsupported_reason("x", paging, {"fetchDeposits": True}, "flows") == (
        "x cannot list withdrawals through ccxt"  # deposits alone would read as profit
    )
    both = {"fetchDeposits": True, "fetchWithdrawals": True}
    assert unsupported_reason("x", paging, both, "flows") is None
    kraken = quirks_for("kraken").history  # its own pager reads the ledger
    assert unsupported_reason("kraken", kraken, {"fetchLedger": True}, "flows") is None
    none = HistoryPaging(trades=None, unsupported={"trades": "x lists no trades"})
    assert unsupported_reason("x", none, {"fetchMyTrades": True}, "trades") == "x lists no trades"


async def test_unsupported_is_raised_before_any_history_request() -> None:
    async with synced("kraken", [], []) as s:
        s.adapter.quirks = replace(s.adapter.quirks, history=HistoryPaging(flows=None))
        with pytest.raises(HistoryUnsupported, match="cannot list flows"):
            await s.pages("flows")
        assert s.mock.count("/0/private/") == 0


# ---------------------------------------------------------------------------- any other exchange


class FakeExchange:
    """A ccxt-like instance listing trades by `since`, oldest first, two at a time."""

    def __init__(self, records: list[dict[str, Any]], needs_symbol: bool = False) -> None:
        self.records, self.needs_symbol, self.calls = records, needs_symbol, 0
        self.has = {"fetchMyTrades": True, "fetchDeposits": True}

    async def fetch_my_trades(self, symbol: str | None = None, since: int | None = None) -> Any:
        from ccxt.base.errors import ArgumentsRequired

        self.calls += 1
        if self.needs_symbol:
            raise ArgumentsRequired("somewhere fetchMyTrades() requires a symbol argument")
        return [r for r in self.records if since is None or r["timestamp"] >= since][:2]


class FakeSource:
    """What `history_pages` needs of the adapter, around a `FakeExchange`."""

    def __init__(self, ex: FakeExchange) -> None:
        self.ex, self.exchange = ex, "somewhere"
        self.quirks, self.settings = quirks_for("somewhere"), Settings(timeout=5.0)

    async def history_instance(self, connection: Any, credentials: Any) -> Any:
        import asyncio

        return self.ex, asyncio.Lock()


def ccxt_trade(n: int) -> dict[str, Any]:
    return {
        "id": f"t{n}",
        "order": f"o{n}",
        "timestamp": T0 + n * MIN,
        "symbol": "BTC/EUR",
        "side": "buy",
        "amount": "0.1",
        "price": f"5000{n}.25",
        "cost": None,
        "fee": {"cost": "0.5", "currency": "EUR"},
    }


async def test_another_exchange_is_read_by_since_until_nothing_is_new() -> None:
    from nija_balances.adapters.ccxt.history import history_pages

    floats = {"amount": 0.1, "price": 70000.3, "cost": 0.1 * 70000.3}  # 7000.030000000001
    ex = FakeExchange([ccxt_trade(n) for n in range(4)] + [{**ccxt_trade(4), **floats}])
    conn = ConnectionConfig(account="a", name="somewhere", exchange="somewhere")
    creds = Credentials(api_key="k", api_secret="s")
    request = HistoryRequest("trades")
    pages = [p async for p in history_pages(FakeSource(ex), conn, creds, request)]
    assert [f.id for f in items(pages)] == [f"t{n}" for n in range(5)]
    assert items(pages)[1].cost == D("0.1") * D("50001.25")
    assert str(items(pages)[4].cost) == "7000.03"  # not ccxt's float product
    calls = ex.calls
    again = HistoryRequest("trades", pages[-1].cursor)
    assert [p async for p in history_pages(FakeSource(ex), conn, creds, again)] == []
    assert ex.calls - calls == 1

    ex.needs_symbol = True
    with pytest.raises(HistoryUnsupported, match="requires a symbol"):
        [p async for p in history_pages(FakeSource(ex), conn, creds, request)]
