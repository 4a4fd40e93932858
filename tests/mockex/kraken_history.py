"""Kraken's history endpoints, all `POST /0/private/*` form bodies signed with `API-Sign`.

- `TradesHistory` (ccxt `fetch_my_trades`): `{"trades": {txid: trade}, "count": n}`, newest
  first, 50 per page, paged with `ofs`; `start` (exclusive) / `end` (inclusive) are unix
  seconds, `count` is every match, not the page.
- `Ledgers` (ccxt `fetch_ledger`): `{"ledger": {ledger_id: entry}, "count": n}`, same paging
  (`ofs`, 50 per page, `start`/`end`); `asset` (comma list of ids or altnames), `type`
  (`all`, `trade`, `deposit`, `withdrawal`). A fill is two `trade` entries (base and quote,
  the fee on the fee currency's); `balance` is the running balance after each entry.
- `DepositStatus` / `WithdrawStatus` (ccxt `fetch_deposits` / `fetch_withdrawals`): a list,
  newest first, `time` in whole seconds; with `cursor` (`true` or the last `next_cursor`)
  `{"deposit"|"withdrawals": [...], "next_cursor": ...}`, `limit` per page (default 25).
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web

from .base import Account, json_response
from .history import MockFlow, MockTrade, fixed, newest_first, plain, seconds

if TYPE_CHECKING:
    from .kraken import KrakenMock

TRADES_PAGE = 50  # fixed by Kraken: no `limit` parameter
STATUS_PAGE = 25  # DepositStatus / WithdrawStatus `limit` default with `cursor`

FLOW_STATUS = {"ok": "Success", "pending": "Pending", "failed": "Failure", "canceled": "Failure"}
METHODS = {"BTC": "Bitcoin", "ETH": "Ether (Hex)", "USD": "Bank Frick (SWIFT)"}


def kraken_id(prefix: str, seed: str) -> str:
    """A Kraken-looking id (`LABCDE-FGHIJ-KLMNOP`) derived from `seed`."""
    code = base64.b32encode(hashlib.sha1(seed.encode()).digest()).decode()
    return f"{prefix}{code[:5]}-{code[5:10]}-{code[10:16]}"


def _in_window(ms: int, form: dict[str, str]) -> bool:
    """Kraken's `start` is exclusive, `end` inclusive, both unix seconds (may be fractional)."""
    t = Decimal(ms) / 1000
    start, end = form.get("start"), form.get("end")
    return (start is None or t > Decimal(start)) and (end is None or t <= Decimal(end))


class KrakenHistory:
    """Mixed into `KrakenMock`: the history routes."""

    def setup_history_routes(self: KrakenMock) -> None:
        self.route("POST", "/0/private/TradesHistory", self._trades_history)
        self.route("POST", "/0/private/Ledgers", self._ledgers)
        self.route("POST", "/0/private/DepositStatus", self._deposit_status)
        self.route("POST", "/0/private/WithdrawStatus", self._withdraw_status)

    async def _signed_form(
        self: KrakenMock, request: web.Request
    ) -> tuple[Account, dict[str, str]] | web.StreamResponse:
        account = await self._authenticate(request)
        if not isinstance(account, Account):
            return account
        return account, dict(parse_qsl(await request.text()))

    def _offset_page(
        self: KrakenMock, rows: Sequence[tuple[str, dict[str, Any]]], form: dict[str, str]
    ) -> dict[str, dict[str, Any]]:
        ofs = int(form.get("ofs") or 0)
        size = self.history_limit(None, TRADES_PAGE)
        return dict(rows[ofs : ofs + size])

    # ------------------------------------------------------------------ trades

    async def _trades_history(self: KrakenMock, request: web.Request) -> web.StreamResponse:
        from .kraken import pair_id

        signed = await self._signed_form(request)
        if not isinstance(signed, tuple):
            return signed
        account, form = signed
        trades = [t for t in newest_first(account.trades) if _in_window(t.time, form)]
        ofs = int(form.get("ofs") or 0)
        size = self.history_limit(None, TRADES_PAGE)
        rows = []  # only the page's fills are rendered: paging 10,000 stays linear
        for number, trade in enumerate(trades[ofs : ofs + size], start=ofs):
            row = {
                "ordertxid": trade.order,
                "postxid": kraken_id("T", "pos" + trade.id),
                "pair": pair_id(trade.symbol),
                "time": seconds(trade.time),
                "type": trade.side,
                "ordertype": "limit",
                "price": fixed(trade.price, 5),
                "cost": fixed(trade.cost, 5),
                "fee": fixed(trade.fee, 5),
                "vol": fixed(trade.amount, 8),
                "margin": "0.00000",
                "leverage": "0",
                "misc": "",
                "trade_id": len(trades) - number,
                "maker": trade.maker,
            }
            rows.append((trade.id, row))
        result = {"trades": dict(rows), "count": len(trades)}
        return json_response({"error": [], "result": result})

    # ------------------------------------------------------------------ ledger

    def _ledger_entries(self: KrakenMock, account: Account) -> list[tuple[str, dict[str, Any]]]:
        """Every ledger entry of `account`, newest first, with its running balance."""
        from .kraken import asset_id

        entries: list[tuple[int, str, dict[str, Any]]] = []
        # the ledger books what moved the balance: no failed or canceled flow, and no
        # deposit before it is credited (a pending withdrawal is already debited)
        booked = [
            f
            for f in account.flows
            if f.status == "ok" or (f.status == "pending" and f.kind == "withdrawal")
        ]
        events: list[MockTrade | MockFlow] = [*account.trades, *booked]
        for event in sorted(events, key=lambda e: (e.time, e.id)):
            if isinstance(event, MockFlow):
                moves = [(event.kind, event.currency, event.signed, event.fee)]
            else:
                sign = Decimal(1) if event.side == "buy" else Decimal(-1)
                base_fee = event.fee if event.fee_code == event.base else "0"
                quote_fee = event.fee if event.fee_code == event.quote else "0"
                moves = [
                    ("trade", event.base, plain(sign * Decimal(event.amount)), base_fee),
                    ("trade", event.quote, plain(-sign * Decimal(event.cost)), quote_fee),
                ]
            for kind, code, amount, fee in moves:
                entry = {
                    "refid": event.id,
                    "time": seconds(event.time),
                    "type": kind,
                    "subtype": "",
                    "aclass": "currency",
                    "asset": asset_id(code),
                    "amount": fixed(amount, 4),
                    "fee": fixed(fee, 4),
                }
                entries.append((event.time, kraken_id("L", f"{event.id}/{code}"), entry))
        balances: dict[str, Decimal] = defaultdict(Decimal)
        for _, _, entry in entries:
            change = Decimal(entry["amount"]) - Decimal(entry["fee"])
            balances[entry["asset"]] += change
            entry["balance"] = fixed(plain(balances[entry["asset"]]), 4)
        return [(ledger_id, entry) for _, ledger_id, entry in reversed(entries)]

    async def _ledgers(self: KrakenMock, request: web.Request) -> web.StreamResponse:
        from .kraken import altname

        signed = await self._signed_form(request)
        if not isinstance(signed, tuple):
            return signed
        account, form = signed
        assets = {a for a in form.get("asset", "all").split(",") if a and a != "all"}
        kind = form.get("type", "all")
        rows = [
            (ledger_id, entry)
            for ledger_id, entry in self._ledger_entries(account)
            if (not assets or entry["asset"] in assets or altname(entry["asset"]) in assets)
            and kind in ("all", entry["type"])
            and _in_window(round(entry["time"] * 1000), form)
        ]
        result = {"ledger": self._offset_page(rows, form), "count": len(rows)}
        return json_response({"error": [], "result": result})

    # ------------------------------------------------------------------ funding

    async def _deposit_status(self: KrakenMock, request: web.Request) -> web.StreamResponse:
        return await self._funding_status(request, "deposit", "deposit")

    async def _withdraw_status(self: KrakenMock, request: web.Request) -> web.StreamResponse:
        return await self._funding_status(request, "withdrawal", "withdrawals")

    async def _funding_status(
        self: KrakenMock, request: web.Request, kind: str, list_key: str
    ) -> web.StreamResponse:
        from .kraken import altname, asset_id

        signed = await self._signed_form(request)
        if not isinstance(signed, tuple):
            return signed
        account, form = signed
        wanted = form.get("asset")
        rows = [
            _funding_row(flow, asset_id, kind)
            for flow in newest_first(account.flows)
            if flow.kind == kind
            and (wanted is None or wanted in (asset_id(flow.currency), altname(flow.currency)))
            and _in_window(flow.time, form)
        ]
        cursor = form.get("cursor")
        if cursor is None or cursor.lower() == "false":
            return json_response({"error": [], "result": rows})
        try:  # ccxt sends `True` (Python's spelling) for `true`
            start = 0 if cursor.lower() == "true" else int(base64.b64decode(cursor).decode())
        except ValueError:
            return json_response({"error": ["EGeneral:Invalid arguments:cursor"]})
        size = self.history_limit(form.get("limit"), STATUS_PAGE, 500)
        end = start + size
        next_cursor = base64.b64encode(str(end).encode()).decode() if end < len(rows) else None
        result = {list_key: rows[start:end], "next_cursor": next_cursor}
        return json_response({"error": [], "result": result})


def _funding_row(flow: MockFlow, asset_id: Callable[[str], str], kind: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "method": METHODS.get(flow.currency, flow.currency),
        "aclass": "currency",
        "asset": asset_id(flow.currency),
        "refid": flow.id,
        "txid": flow.txid or "",
        "info": flow.address or "",
        "amount": fixed(flow.amount, 8),
        "fee": fixed(flow.fee, 8),
        "time": flow.time // 1000,  # whole seconds here, unlike TradesHistory and Ledgers
        "status": FLOW_STATUS[flow.status],
    }
    if flow.status == "canceled":
        row["status-prop"] = "canceled"
    if kind == "withdrawal":
        row["key"] = "my wallet"
        row["network"] = flow.network or METHODS.get(flow.currency, flow.currency)
    return row
