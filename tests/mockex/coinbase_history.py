"""Coinbase's history endpoints (JWT bearer, checked like `/api/v3/brokerage/accounts`).

- Advanced Trade `GET /api/v3/brokerage/orders/historical/fills` (ccxt `fetch_my_trades`):
  `{"fills": [...], "cursor": "..."}` newest first, `limit` (default 100, max 1000) and the
  opaque `cursor` of the previous page (`""` on the last one); `product_id` (what ccxt
  sends) or `product_ids`, `order_id`, `start_sequence_timestamp` (inclusive) and
  `end_sequence_timestamp` (exclusive), RFC 3339.
- v2 wallet `GET /v2/accounts/{account_id}/deposits`, `/withdrawals` (fiat only; ccxt
  `fetch_deposits` / `fetch_withdrawals`) and `/transactions` (crypto `send`s with their
  network fee, fiat as `fiat_deposit` / `fiat_withdrawal`; ccxt `fetch_ledger` and the
  `currencyType: crypto` variants): `{"pagination": {..., "next_starting_after"}, "data"}`,
  newest first (`order=asc` reverses), `limit` (default 25, max 100), `starting_after` /
  `ending_before` with a record id. `account_id` is the wallet's `uuid` from
  `/api/v3/brokerage/accounts`; every currency of a balance or a flow has a wallet.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .base import PATH_ARGS, Account, json_response
from .history import MockFlow, iso_ms, newest_first, plain

if TYPE_CHECKING:
    from .coinbase import CoinbaseMock

FILLS_PAGE, FILLS_MAX = 100, 1000
V2_PAGE, V2_MAX = 25, 100
FIAT = frozenset({"USD", "EUR", "GBP"})
V2_STATUS = {"ok": "completed", "pending": "created", "failed": "canceled", "canceled": "canceled"}
NETWORK_STATUS = {"ok": "confirmed", "pending": "pending", "failed": "failed", "canceled": "failed"}


def wallet_id(code: str) -> str:
    """The `uuid` of the account (wallet) holding `code`."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, code))


def not_found() -> web.Response:
    return json_response({"errors": [{"id": "not_found", "message": "Not found"}]}, 404)


def _money(amount: str | Decimal, currency: str) -> dict[str, str]:
    return {"amount": plain(Decimal(amount)), "currency": currency}


class CoinbaseHistory:
    """Mixed into `CoinbaseMock`: the history routes."""

    def setup_history_routes(self: CoinbaseMock) -> None:
        self.route("GET", "/api/v3/brokerage/orders/historical/fills", self._fills)
        for kind in ("deposits", "withdrawals", "transactions"):
            self.route_pattern("GET", "/v2/accounts/{account_id}/" + kind, self._v2_list)

    # ------------------------------------------------------------------ fills

    async def _fills(self: CoinbaseMock, request: web.Request) -> web.StreamResponse:
        from .coinbase import product_id

        account = self._authenticate(request)
        if not isinstance(account, Account):
            return account
        query = request.query
        products = set(query.getall("product_ids", [])) | set(query.getall("product_id", []))
        orders = set(query.getall("order_ids", [])) | set(query.getall("order_id", []))
        start = query.get("start_sequence_timestamp")
        end = query.get("end_sequence_timestamp")
        fills = [
            t
            for t in newest_first(account.trades)
            if (not products or product_id(t.symbol) in products)
            and (not orders or t.order in orders)
            and (start is None or iso_ms(t.time) >= _norm(start))
            and (end is None or iso_ms(t.time) < _norm(end))
        ]
        offset = int(query.get("cursor") or 0)
        size = self.history_limit(query.get("limit"), FILLS_PAGE, FILLS_MAX)
        page = fills[offset : offset + size]
        more = offset + size < len(fills)
        rows = [
            {
                "entry_id": hashlib.sha256(t.id.encode()).hexdigest(),
                "trade_id": t.id,
                "order_id": t.order,
                "trade_time": iso_ms(t.time, 6),
                "trade_type": "FILL",
                "price": t.price,
                "size": t.amount,
                "commission": t.fee,
                "product_id": product_id(t.symbol),
                "sequence_timestamp": iso_ms(t.time, 6),
                "liquidity_indicator": "MAKER" if t.maker else "TAKER",
                "size_in_quote": False,
                "user_id": "11111111-1111-1111-1111-111111111111",
                "side": t.side.upper(),
                "retail_portfolio_id": "00000000-0000-0000-0000-000000000000",
            }
            for t in page
        ]
        return json_response({"fills": rows, "cursor": str(offset + size) if more else ""})

    # ------------------------------------------------------------------ v2 wallet

    async def _v2_list(self: CoinbaseMock, request: web.Request) -> web.StreamResponse:
        account = self._authenticate(request)
        if not isinstance(account, Account):
            return account
        account_id = request[PATH_ARGS]["account_id"]
        codes = {wallet_id(c): c for c in self.wallet_codes(account)}
        code = codes.get(account_id)
        if code is None:
            return not_found()
        kind = request.path.rsplit("/", 1)[1]
        flows = [f for f in newest_first(account.flows) if f.currency == code]
        if kind == "transactions":
            rows = [_transaction(f, account_id) for f in flows]
        else:  # the deposits / withdrawals resources list bank (fiat) transfers only
            wanted = kind.removesuffix("s")
            rows = [_transfer(f, account_id) for f in flows if f.kind == wanted and code in FIAT]
        return json_response(self._v2_page(request, rows))

    def _v2_page(self: CoinbaseMock, request: web.Request, rows: Sequence[dict[str, Any]]) -> Any:
        query = request.query
        order = query.get("order", "desc")
        ordered = list(rows) if order == "desc" else list(reversed(rows))
        ids = [r["id"] for r in ordered]
        after, before = query.get("starting_after"), query.get("ending_before")
        if after is not None:
            ordered = ordered[ids.index(after) + 1 :] if after in ids else []
        elif before is not None:
            ordered = ordered[: ids.index(before)] if before in ids else []
        size = self.history_limit(query.get("limit"), V2_PAGE, V2_MAX)
        page = ordered[:size]
        next_id = page[-1]["id"] if len(ordered) > size else None
        next_uri = f"{request.path}?limit={size}&starting_after={next_id}" if next_id else None
        pagination = {
            "ending_before": before,
            "starting_after": after,
            "previous_ending_before": page[0]["id"] if page else None,
            "next_starting_after": next_id,
            "limit": size,
            "order": order,
            "previous_uri": None,
            "next_uri": next_uri,
        }
        return {"pagination": pagination, "data": page}


def _norm(stamp: str) -> str:
    """An RFC 3339 bound compared as text with `iso_ms` (UTC `Z`, milliseconds)."""
    head, _, frac = stamp.rstrip("Z").partition(".")
    return f"{head}.{frac[:3].ljust(3, '0')}Z"


def _transfer(flow: MockFlow, account_id: str) -> dict[str, Any]:
    """A fiat deposit / withdrawal resource: `amount` is net, `subtotal` before the fee."""
    amount, fee = Decimal(flow.amount), Decimal(flow.fee)
    net, gross = (amount - fee, amount) if flow.kind == "deposit" else (amount, amount + fee)
    resource = flow.kind
    when = iso_ms(flow.time, 0)
    return {
        "id": flow.id,
        "status": V2_STATUS[flow.status],
        "payment_method": {"id": "a022b31d-f9c7-5043-98f2", "resource": "payment_method"},
        "transaction": {"id": wallet_id("tx/" + flow.id), "resource": "transaction"},
        "user_reference": flow.id[:6].upper(),
        "created_at": when,
        "updated_at": when,
        "resource": resource,
        "resource_path": f"/v2/accounts/{account_id}/{resource}s/{flow.id}",
        "committed": flow.status != "pending",
        "payout_at": when,
        "instant": False,
        "fee": _money(fee, flow.currency),
        "amount": _money(net, flow.currency),
        "subtotal": _money(gross, flow.currency),
        "hold_until": None,
        "hold_days": 0,
        "next_step": None,
    }


def _transaction(flow: MockFlow, account_id: str) -> dict[str, Any]:
    """A `/transactions` row: a crypto `send` (network fee inside) or a fiat transfer."""
    when = iso_ms(flow.time, 0)
    row: dict[str, Any] = {
        "id": flow.id,
        "status": V2_STATUS[flow.status],
        "native_amount": _money("0", "USD"),
        "description": None,
        "created_at": when,
        "updated_at": when,
        "resource": "transaction",
        "resource_path": f"/v2/accounts/{account_id}/transactions/{flow.id}",
        "instant_exchange": False,
    }
    if flow.currency in FIAT:
        kind = "fiat_" + flow.kind
        total = flow.signed if flow.kind == "deposit" else plain(-Decimal(flow.amount))
        row.update(type=kind, amount=_money(total, flow.currency))
        row[kind] = {"id": wallet_id("fiat/" + flow.id), "resource": kind}
        return row
    network: dict[str, Any] = {
        "status": NETWORK_STATUS[flow.status],
        "hash": flow.txid,
        "network_name": (flow.network or flow.currency).lower(),
    }
    if flow.kind == "deposit":
        row.update(type="send", amount=_money(flow.amount, flow.currency))
        row["from"] = {"resource": "bitcoin_network", "currency": flow.currency}
    else:
        total = -(Decimal(flow.amount) + Decimal(flow.fee))
        row.update(type="send", amount=_money(total, flow.currency), idem=flow.id)
        network["transaction_fee"] = _money(flow.fee, flow.currency)
        network["transaction_amount"] = _money(flow.amount, flow.currency)
        row["to"] = {"resource": "address", "address": flow.address, "currency": flow.currency}
    row["network"] = network
    return row
