"""OKX's history endpoints (signed like `/api/v5/account/balance`: HMAC over the path + query).

- `GET /api/v5/trade/fills-history` (ccxt `fetch_my_trades`; `instType` required) and
  `GET /api/v5/trade/fills` (the same data here; on OKX only the last 3 days): newest first,
  `limit` (default and max 100), cursor paging by `billId`: `after` gives older records
  than that id, `before` newer ones (the `limit` nearest it, still newest first); `begin` /
  `end` filter on `ts` (ms, inclusive), `instId`, `ordId`. The fee is negative (a cost).
- `GET /api/v5/asset/deposit-history` (ccxt `fetch_deposits`) and
  `GET /api/v5/asset/withdrawal-history` (ccxt `fetch_withdrawals`): newest first, `limit`
  (default and max 100), paging by time: `after` (ms) gives older records, `before` (ms)
  newer ones (the `limit` nearest it); `ccy`. Deposits carry `depId`, withdrawals `wdId`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .base import Account, json_response
from .history import MockFlow, MockTrade, newest_first, plain

if TYPE_CHECKING:
    from .okx import OkxMock

PAGE = 100
DEPOSIT_STATE = {"ok": "2", "pending": "0", "failed": "-1", "canceled": "-1"}
WITHDRAW_STATE = {"ok": "2", "pending": "0", "failed": "-1", "canceled": "-2"}


def bill_ids(trades: Sequence[MockTrade]) -> dict[str, int]:
    """Each fill's `billId`: increasing with time (stable as newer fills arrive), as OKX's are."""
    ordered = sorted(trades, key=lambda t: (t.time, t.id))
    return {t.id: t.time * 100 + n % 100 for n, t in enumerate(ordered)}


def cursor_page(rows: list[Any], key: Any, query: Any, limit: int) -> list[Any]:
    """OKX's `after` / `before` paging over `rows` (newest first) by the numeric `key(row)`."""
    after, before = query.get("after"), query.get("before")
    if after:
        rows = [r for r in rows if key(r) < int(after)]
    if before:
        rows = [r for r in rows if key(r) > int(before)]
        if not after:  # the records right after `before`, not the newest ones
            return rows[-limit:]
    return rows[:limit]


def okx_ok(data: list[dict[str, Any]]) -> web.Response:
    return json_response({"code": "0", "msg": "", "data": data})


class OkxHistory:
    """Mixed into `OkxMock`: the history routes."""

    def setup_history_routes(self: OkxMock) -> None:
        self.route("GET", "/api/v5/trade/fills-history", self._fills)
        self.route("GET", "/api/v5/trade/fills", self._fills)
        self.route("GET", "/api/v5/asset/deposit-history", self._deposits)
        self.route("GET", "/api/v5/asset/withdrawal-history", self._withdrawals)

    async def _fills(self: OkxMock, request: web.Request) -> web.StreamResponse:
        from .okx import inst_id, okx_error

        account = await self._authenticate(request)
        if not isinstance(account, Account):
            return account
        query = request.query
        if request.path.endswith("-history") and not query.get("instType"):
            return okx_error("50014", "Parameter instType can not be empty.", 400)
        if query.get("instType", "SPOT") != "SPOT":
            return okx_ok([])
        bills = bill_ids(account.trades)
        begin, end = query.get("begin"), query.get("end")
        trades = [
            t
            for t in newest_first(account.trades)
            if query.get("instId") in (None, inst_id(t.symbol))
            and query.get("ordId") in (None, t.order)
            and (begin is None or t.time >= int(begin))
            and (end is None or t.time <= int(end))
        ]
        limit = self.history_limit(query.get("limit"), PAGE, PAGE)
        page = cursor_page(trades, lambda t: bills[t.id], query, limit)
        return okx_ok([_fill_row(t, str(bills[t.id])) for t in page])

    async def _deposits(self: OkxMock, request: web.Request) -> web.StreamResponse:
        return await self._flows(request, "deposit")

    async def _withdrawals(self: OkxMock, request: web.Request) -> web.StreamResponse:
        return await self._flows(request, "withdrawal")

    async def _flows(self: OkxMock, request: web.Request, kind: str) -> web.StreamResponse:
        account = await self._authenticate(request)
        if not isinstance(account, Account):
            return account
        query = request.query
        flows = [
            f
            for f in newest_first(account.flows)
            if f.kind == kind and query.get("ccy") in (None, f.currency)
        ]
        limit = self.history_limit(query.get("limit"), PAGE, PAGE)
        page = cursor_page(flows, lambda f: f.time, query, limit)
        return okx_ok([_flow_row(f) for f in page])


def _fill_row(trade: MockTrade, bill_id: str) -> dict[str, Any]:
    from .okx import inst_id

    return {
        "instType": "SPOT",
        "instId": inst_id(trade.symbol),
        "tradeId": trade.id,
        "ordId": trade.order,
        "clOrdId": "",
        "billId": bill_id,
        "subType": "1" if trade.side == "buy" else "2",
        "tag": "",
        "fillPx": trade.price,
        "fillSz": trade.amount,
        "fillIdxPx": "",
        "fillPnl": "0",
        "fillPxVol": "",
        "fillPxUsd": "",
        "fillMarkVol": "",
        "fillFwdPx": "",
        "fillMarkPx": "",
        "side": trade.side,
        "posSide": "net",
        "execType": "M" if trade.maker else "T",
        "feeCcy": trade.fee_code,
        "fee": plain(-abs(Decimal(trade.fee))),
        "ts": str(trade.time),
        "fillTime": str(trade.time),
        "feeRate": "",
    }


def _flow_row(flow: MockFlow) -> dict[str, Any]:
    chain = f"{flow.currency}-{flow.network or flow.currency}"
    row: dict[str, Any] = {
        "ccy": flow.currency,
        "chain": chain,
        "amt": flow.amount,
        "from": "" if flow.kind == "deposit" else "example@email.com",
        "to": flow.address or "",
        "txId": flow.txid or "",
        "ts": str(flow.time),
    }
    if flow.kind == "deposit":
        row.update(
            depId=flow.id,
            state=DEPOSIT_STATE[flow.status],
            actualDepBlkConfirm="2",
            areaCodeFrom="",
            fromWdId="",
        )
    else:
        row.update(
            wdId=flow.id,
            clientId="",
            fee=flow.fee,
            feeCcy=flow.currency,
            state=WITHDRAW_STATE[flow.status],
            tag="",
            pmtId="",
            memo="",
            nonTradableAsset=False,
            areaCodeFrom="",
            areaCodeTo="",
        )
    return row
