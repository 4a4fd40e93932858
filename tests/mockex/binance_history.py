"""Binance's history endpoints (HMAC-SHA256 `signature`, checked like `/api/v3/account`).

- `GET /api/v3/myTrades` (ccxt `fetch_my_trades`, which needs a symbol): one `symbol` per
  call, oldest first, `limit` (default 500, max 1000). `fromId` gives trades with id >=
  it; else `startTime` gives the first trades from then, `endTime` alone the last ones up
  to then, nothing the most recent. `fromId` with a time is -1128, a time span over 24 h is
  -1127, a missing `symbol` -1102.
- `GET /sapi/v1/capital/deposit/hisrec` (ccxt `fetch_deposits`) and
  `GET /sapi/v1/capital/withdraw/history` (ccxt `fetch_withdrawals`): newest first,
  `offset` + `limit` (default and max 1000), `coin`, and a time window: `startTime` /
  `endTime` default to the 90 days before now and may not span more than 90 days (-1127),
  so records older than 90 days need a `since`. Withdrawals give `applyTime` as
  `YYYY-MM-DD HH:MM:SS` UTC (whole seconds).
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .base import Account, json_response
from .history import MockFlow, MockTrade, chronological, fixed, newest_first

if TYPE_CHECKING:
    from .binance import BinanceMock

TRADES_PAGE, TRADES_MAX = 500, 1000
FLOWS_PAGE = 1000
DAY_MS = 86_400_000
WINDOW_MS = 90 * DAY_MS
DEPOSIT_STATUS = {"ok": 1, "pending": 0, "failed": 7, "canceled": 7}
WITHDRAW_STATUS = {"ok": 6, "pending": 4, "failed": 5, "canceled": 1}


def error(code: int, msg: str) -> web.Response:
    return json_response({"code": code, "msg": msg}, 400)


def _int(query: Any, name: str) -> int | None:
    value = query.get(name)
    return int(value) if value not in (None, "") else None


class BinanceHistory:
    """Mixed into `BinanceMock`: the history routes."""

    def setup_history_routes(self: BinanceMock) -> None:
        self.route("GET", "/api/v3/myTrades", self._my_trades)
        self.route("GET", "/sapi/v1/capital/deposit/hisrec", self._deposits)
        self.route("GET", "/sapi/v1/capital/withdraw/history", self._withdrawals)

    async def _my_trades(self: BinanceMock, request: web.Request) -> web.StreamResponse:
        from .binance import market_id

        account = self._authenticate(request)
        if not isinstance(account, Account):
            return account
        query = request.query
        symbol = query.get("symbol")
        if not symbol:
            msg = "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
            return error(-1102, msg)
        from_id = _int(query, "fromId")
        start, end = _int(query, "startTime"), _int(query, "endTime")
        order_id = query.get("orderId")
        if from_id is not None and (start is not None or end is not None):
            return error(-1128, "Combination of optional parameters invalid.")
        if start is not None and end is not None and end - start > DAY_MS:
            return error(-1127, "More than 24 hours between startTime and endTime.")
        trades = [
            t
            for t in chronological(account.trades)
            if market_id(t.symbol) == symbol and (order_id is None or t.order == order_id)
        ]
        limit = self.history_limit(query.get("limit"), TRADES_PAGE, TRADES_MAX)
        if from_id is not None:
            page = [t for t in trades if int(t.id) >= from_id][:limit]
        elif start is not None:
            page = [t for t in trades if t.time >= start and (end is None or t.time <= end)]
            page = page[:limit]
        elif end is not None:
            page = [t for t in trades if t.time <= end][-limit:]
        else:
            page = trades[-limit:]
        return json_response([_trade_row(t, symbol) for t in page])

    async def _deposits(self: BinanceMock, request: web.Request) -> web.StreamResponse:
        return await self._flows(request, "deposit")

    async def _withdrawals(self: BinanceMock, request: web.Request) -> web.StreamResponse:
        return await self._flows(request, "withdrawal")

    async def _flows(self: BinanceMock, request: web.Request, kind: str) -> web.StreamResponse:
        account = self._authenticate(request)
        if not isinstance(account, Account):
            return account
        query = request.query
        end = _int(query, "endTime")
        start = _int(query, "startTime")
        if end is None:
            end = int(time.time() * 1000) if start is None else start + WINDOW_MS
        if start is None:
            start = end - WINDOW_MS
        if end - start > WINDOW_MS:
            return error(-1127, "More than 90 days between startTime and endTime.")
        coin = query.get("coin")
        flows = [
            f
            for f in newest_first(account.flows)
            if f.kind == kind and start <= f.time <= end and coin in (None, f.currency)
        ]
        offset = _int(query, "offset") or 0
        limit = self.history_limit(query.get("limit"), FLOWS_PAGE, FLOWS_PAGE)
        page = flows[offset : offset + limit]
        render = _deposit_row if kind == "deposit" else _withdrawal_row
        return json_response([render(f) for f in page])


def _trade_row(trade: MockTrade, symbol: str) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "id": int(trade.id),
        "orderId": int(trade.order) if trade.order.isdigit() else trade.order,
        "orderListId": -1,
        "price": fixed(trade.price, 8),
        "qty": fixed(trade.amount, 8),
        "quoteQty": fixed(trade.cost, 8),
        "commission": fixed(trade.fee, 8),
        "commissionAsset": trade.fee_code,
        "time": trade.time,
        "isBuyer": trade.side == "buy",
        "isMaker": trade.maker,
        "isBestMatch": True,
    }


def _deposit_row(flow: MockFlow) -> dict[str, Any]:
    return {
        "id": flow.id,
        "amount": flow.amount,
        "coin": flow.currency,
        "network": flow.network or flow.currency,
        "status": DEPOSIT_STATUS[flow.status],
        "address": flow.address or "",
        "addressTag": "",
        "txId": flow.txid or f"Internal transfer {_digits(flow.id)}",
        "insertTime": flow.time,
        "completeTime": flow.time,
        "transferType": 0 if flow.txid else 1,
        "confirmTimes": "1/1",
        "unlockConfirm": 0,
        "walletType": 0,
    }


def _withdrawal_row(flow: MockFlow) -> dict[str, Any]:
    applied = datetime.fromtimestamp(flow.time // 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return {
        "id": flow.id,
        "amount": flow.amount,
        "transactionFee": flow.fee,
        "coin": flow.currency,
        "status": WITHDRAW_STATUS[flow.status],
        "address": flow.address or "",
        "txId": flow.txid or "",
        "applyTime": applied,
        "network": flow.network or flow.currency,
        "transferType": 0,
        "info": "",
        "confirmNo": 1,
        "walletType": 0,
        "txKey": "",
        "completeTime": applied,
    }


def _digits(seed: str) -> str:
    return str(int(hashlib.sha1(seed.encode()).hexdigest()[:10], 16))
