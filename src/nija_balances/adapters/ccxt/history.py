"""An account's trades and flows through ccxt, page by page, resumable from a cursor.

`history_pages` is what `CcxtAdapter.history_pages` returns: it picks the exchange's pager
(`history_paging`, `history_paging_more`; named in `quirks.HistoryPaging`), runs each
request under the key's lock with every failure mapped by `errors.to_adapter_error`, and
yields one `HistoryPage` per request that brought something new (items converted in
`history_records`), plus one where a listing's pass ends somewhere new. Nothing is
accumulated: memory stays flat however long the history.

Imported only when a sync runs (ccxt is loaded by then).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol

from nija_balances.adapters.ccxt import history_paging as first
from nija_balances.adapters.ccxt import history_paging_more as more
from nija_balances.adapters.ccxt.errors import to_adapter_error
from nija_balances.adapters.ccxt.history_records import Context, Pager, Streams, check_shape
from nija_balances.adapters.ccxt.quirks import HistoryPaging, Quirks
from nija_balances.adapters.interface import HistoryPage, HistoryRequest, HistoryUnsupported
from nija_balances.domain.history import Fill, Flow
from nija_balances.domain.models import ConnectionConfig, Settings
from nija_balances.domain.secrets import Credentials

#: requests without anything new between two pages that only save the position
IDLE_PAGES = 20
#: ccxt capabilities of which one lists flows
FLOW_CAPS = ("fetchDeposits", "fetchWithdrawals", "fetchLedger", "fetchDepositsWithdrawals")


class HistorySource(Protocol):
    """What the sync needs of the adapter (`CcxtAdapter`)."""

    exchange: str
    quirks: Quirks
    settings: Settings

    async def history_instance(
        self, connection: ConnectionConfig, credentials: Credentials
    ) -> tuple[Any, asyncio.Lock]: ...


def unsupported_reason(
    exchange: str, paging: HistoryPaging, has: Mapping[str, Any], kind: str
) -> str | None:
    """Why `kind` cannot be listed on `exchange`, or None when it can."""
    pager = paging.trades if kind == "trades" else paging.flows
    if pager is None:
        return paging.unsupported.get(kind) or f"{exchange} cannot list {kind} through ccxt"
    if kind == "trades":
        if not has.get("fetchMyTrades"):
            return f"{exchange} has no fetch_my_trades in ccxt"
    elif not any(has.get(cap) for cap in FLOW_CAPS):
        return f"{exchange} has no fetch_deposits, fetch_withdrawals or fetch_ledger in ccxt"
    elif pager == "since":  # the generic pager reads both lists: one alone would miscount
        missing = [
            name
            for cap, name in (("fetchDeposits", "deposits"), ("fetchWithdrawals", "withdrawals"))
            if not has.get(cap)
        ]
        if missing:
            return f"{exchange} cannot list {' or '.join(missing)} through ccxt"
    return None


async def history_pages(
    adapter: HistorySource,
    connection: ConnectionConfig,
    credentials: Credentials,
    request: HistoryRequest,
) -> AsyncIterator[HistoryPage]:
    """The pages of `request.kind` after `request.cursor` (see the module docstring)."""
    exchange = adapter.exchange
    paging = adapter.quirks.history
    secrets = credentials.secrets()
    timeout = adapter.settings.timeout
    streams = Streams(request.cursor, exchange)
    try:
        ex, lock = await adapter.history_instance(connection, credentials)
    except Exception as exc:
        raise to_adapter_error(exc, exchange, secrets, timeout) from None
    reason = unsupported_reason(exchange, paging, ex.has, request.kind)
    if reason is not None:
        raise HistoryUnsupported(reason)
    name = paging.trades if request.kind == "trades" else paging.flows
    assert name is not None
    pager: Pager = PAGERS[name]

    async def call(make: Callable[[], Awaitable[Any]], shape: str | None = None) -> Any:
        try:
            async with lock:  # one request at a time per key: nonces stay in order
                ex.enableLastJsonResponse, ex.last_json_response = True, None
                answer = await make()
                raw = ex.last_json_response  # read under the lock: this request's
            if shape is not None:
                check_shape(raw, shape, exchange)
            return answer
        except Exception as exc:
            from ccxt.base.errors import ArgumentsRequired, NotSupported

            if isinstance(exc, (ArgumentsRequired, NotSupported)):
                raise HistoryUnsupported(
                    f"{exchange} cannot list {request.kind} this way: {exc}"
                ) from None
            raise to_adapter_error(exc, exchange, secrets, timeout) from None

    ctx = Context(ex, exchange, paging, request, connection, call)
    last, idle = request.cursor, 0
    async for step in pager(ctx, streams):
        new = step.stream.admit(step.records, step.dedupe)
        if step.covered is not None:
            step.stream.settle(step.covered)
        if step.done:
            step.stream.end()
        idle += 1
        # a request that brought nothing new is worth a page (a write) only when a pass
        # ends somewhere else, or now and then on a long walk, to resume near it
        if not new and not step.done and idle % IDLE_PAGES:
            continue
        cursor = streams.cursor()
        if new or cursor != last:
            fills = tuple(i for i in new if isinstance(i, Fill))
            flows = tuple(i for i in new if isinstance(i, Flow))
            yield HistoryPage(fills=fills, flows=flows, cursor=cursor)
            last, idle = cursor, 0


PAGERS: Mapping[str, Pager] = {
    "kraken_trades": first.kraken_trades,
    "kraken_ledger": first.kraken_ledger,
    "coinbase_fills": first.coinbase_fills,
    "coinbase_transactions": first.coinbase_transactions,
    "binance_trades": first.binance_trades,
    "binance_flows": first.binance_flows,
    "okx_fills": more.okx_fills,
    "okx_flows": more.okx_flows,
    "alpaca_activities": more.alpaca_activities,
    "alpaca_flows": more.alpaca_flows,
    "since": more.since,
}
