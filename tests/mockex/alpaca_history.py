"""Alpaca's history endpoints (the `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers).

- `GET /v2/account/activities/{activity_type}` (ccxt `fetch_my_trades`: `FILL`) and
  `GET /v2/account/activities?activity_types=CSD,CSW,TRANS` (ccxt `fetch_deposits` /
  `fetch_withdrawals` with `options.sandboxMode`): `direction` (`desc` by default),
  `page_size` (default and max 100), `page_token` = the `id` of the previous page's last
  activity, `after` / `until` (RFC 3339, exclusive) or `date`. Fills are `FILL` trade
  activities with `transaction_time`; a fill's fee is a separate `CFEE` activity (ccxt's
  trade has no fee). Cash flows are `CSD` / `CSW` with a `date` only (no time of day).
- `GET /v2/wallets/transfers` (ccxt `fetch_deposits` / `fetch_withdrawals` by default): the
  crypto transfers (non-USD flows), newest first, no paging.
- `GET /v2/assets?asset_class=crypto` (ccxt `load_markets`): the crypto pairs of the fills.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .base import PATH_ARGS, Account, json_response
from .history import MockFlow, MockTrade, chronological, iso_ms, plain

if TYPE_CHECKING:
    from .alpaca import AlpacaMock

PAGE = 100
ACTIVITY_TYPES = frozenset({"FILL", "CFEE", "CSD", "CSW", "TRANS", "DIV", "FEE", "INT", "JNLC"})
CASH_STATUS = {"ok": "executed", "pending": "pending", "failed": "canceled", "canceled": "canceled"}
WALLET_STATUS = {
    "ok": "COMPLETE",
    "pending": "PROCESSING",
    "failed": "FAILED",
    "canceled": "FAILED",
}


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _stamp(text: str) -> int:
    """An RFC 3339 time or a date, as ms."""
    if len(text) == 10:
        text += "T00:00:00Z"
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


class AlpacaHistory:
    """Mixed into `AlpacaMock`: the history routes."""

    def setup_history_routes(self: AlpacaMock) -> None:
        self.route("GET", "/v2/assets", self._assets)
        self.route("GET", "/v2/account/activities", self._activities)
        self.route_pattern("GET", "/v2/account/activities/{activity_type}", self._activities)
        self.route("GET", "/v2/wallets/transfers", self._transfers)

    async def _assets(self: AlpacaMock, request: web.Request) -> web.StreamResponse:
        account = self._authenticate(request)
        if not isinstance(account, Account):
            return account
        pairs = {t.symbol for a in self.accounts.values() for t in a.trades if "/" in t.symbol}
        if request.query.get("asset_class", "crypto") != "crypto":
            pairs = set()
        rows = [
            {
                "id": f"00000000-0000-4000-8000-{n:012d}",
                "class": "crypto",
                "exchange": "CRYPTO",
                "symbol": pair,
                "name": pair,
                "status": "active",
                "tradable": True,
                "marginable": False,
                "maintenance_margin_requirement": 100,
                "shortable": False,
                "easy_to_borrow": False,
                "fractionable": True,
                "attributes": [],
                "min_order_size": "0.000001",
                "min_trade_increment": "0.000000001",
                "price_increment": "0.01",
            }
            for n, pair in enumerate(sorted(pairs))
        ]
        return json_response(rows)

    async def _activities(self: AlpacaMock, request: web.Request) -> web.StreamResponse:
        account = self._authenticate(request)
        if not isinstance(account, Account):
            return account
        query = request.query
        one = request.get(PATH_ARGS, {}).get("activity_type")
        listed = query.get("activity_types")
        wanted = {one} if one else set(listed.split(",")) if listed else set(ACTIVITY_TYPES)
        if not wanted <= ACTIVITY_TYPES:
            return json_response({"code": 42210000, "message": "invalid activity type"}, 422)
        if "TRANS" in wanted:
            wanted |= {"CSD", "CSW"}
        rows = [(ms, row) for ms, row in _activity_rows(account) if row["activity_type"] in wanted]
        after, until, date = query.get("after"), query.get("until"), query.get("date")
        rows = [
            (ms, row)
            for ms, row in rows
            if (after is None or ms > _stamp(after))
            and (until is None or ms < _stamp(until))
            and (date is None or _day(ms) == date)
        ]
        if query.get("direction", "desc") == "desc":
            rows.reverse()
        token = query.get("page_token")
        if token is not None:
            ids = [row["id"] for _, row in rows]
            rows = rows[ids.index(token) + 1 :] if token in ids else []
        size = self.history_limit(query.get("page_size"), PAGE, PAGE)
        return json_response([row for _, row in rows[:size]])

    async def _transfers(self: AlpacaMock, request: web.Request) -> web.StreamResponse:
        account = self._authenticate(request)
        if not isinstance(account, Account):
            return account
        flows = [f for f in chronological(account.flows) if f.currency != "USD"]
        return json_response([_transfer_row(f) for f in reversed(flows)])


def _activity_rows(account: Account) -> list[tuple[int, dict[str, Any]]]:
    """Every activity of `account`, oldest first, with the time it sorts by."""
    rows: list[tuple[int, dict[str, Any]]] = []
    events: list[MockTrade | MockFlow] = [*account.trades, *account.flows]
    for event in sorted(events, key=lambda e: (e.time, e.id)):
        if isinstance(event, MockTrade):
            rows.append((event.time, _fill_row(event)))
            if Decimal(event.fee):
                rows.append((event.time, _fee_row(event)))
        elif event.currency == "USD":
            rows.append((event.time, _cash_row(event)))
    return rows


def _fill_row(trade: MockTrade) -> dict[str, Any]:
    return {
        "id": trade.id,
        "activity_type": "FILL",
        "transaction_time": iso_ms(trade.time, 6),
        "type": "fill",
        "price": trade.price,
        "qty": trade.amount,
        "side": trade.side,
        "symbol": trade.symbol,
        "leaves_qty": "0",
        "order_id": trade.order,
        "cum_qty": trade.amount,
        "order_status": "filled",
    }


def _fee_row(trade: MockTrade) -> dict[str, Any]:
    """A fill's fee: the quantity of the fee asset, or the USD amount."""
    in_usd = trade.fee_code == "USD"
    return {
        "id": trade.id + "::CFEE",
        "activity_type": "CFEE",
        "date": _day(trade.time),
        "net_amount": plain(-Decimal(trade.fee)) if in_usd else "0",
        "description": "Coin Pair Transaction Fee",
        "symbol": trade.symbol.replace("/", ""),
        "qty": "0" if in_usd else plain(-Decimal(trade.fee)),
        "price": trade.price,
        "status": "executed",
    }


def _cash_row(flow: MockFlow) -> dict[str, Any]:
    return {
        "id": flow.id,
        "activity_type": "CSD" if flow.kind == "deposit" else "CSW",
        "date": _day(flow.time),
        "net_amount": flow.signed,
        "description": "",
        "status": CASH_STATUS[flow.status],
    }


def _transfer_row(flow: MockFlow) -> dict[str, Any]:
    return {
        "id": flow.id,
        "tx_hash": flow.txid,
        "direction": "INCOMING" if flow.kind == "deposit" else "OUTGOING",
        "amount": flow.amount,
        "usd_value": "0",
        "chain": flow.network or flow.currency,
        "asset": flow.currency,
        "from_address": None if flow.kind == "withdrawal" else flow.address,
        "to_address": flow.address if flow.kind == "withdrawal" else None,
        "status": WALLET_STATUS[flow.status],
        "created_at": iso_ms(flow.time, 6),
        "network_fee": "0",
        "fees": flow.fee,
    }
