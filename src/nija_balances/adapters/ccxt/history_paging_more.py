"""The pagers of OKX, Alpaca and any other exchange (see `history_paging` for what a pager is).

- `okx_fills` (`before` = newest `billId` stored) and `okx_flows` (`before` = watermark ms).
- `alpaca_activities`: FILL and CFEE activities oldest first with `page_token`; each fee
  joins its fill. `alpaca_flows`: CSD/CSW activities the same way, and the wallet transfers.
- `since`: any other exchange, by `since` from the watermark, until a page brings nothing new.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from nija_balances.adapters.ccxt.history_records import (
    Context,
    Record,
    Step,
    Stream,
    Streams,
    advance,
    answer_rows,
    decimal,
    fill_record,
    flow_record,
    info_of,
    record_id,
    rereads,
    transaction_record,
)
from nija_balances.adapters.interface import AdapterError
from nija_balances.domain.history import Fill
from nija_balances.domain.models import Status

# ---------------------------------------------------------------------------- OKX


async def okx_fills(ctx: Context, streams: Streams) -> AsyncIterator[Step]:
    stream = streams["fills"]
    stream.begin()
    while True:
        params = {"before": stream.pos.get("before", "0")}
        answer = await ctx.call(
            partial(ctx.ex.fetch_my_trades, None, None, ctx.limit("fills"), params), "data:list"
        )
        rows = answer_rows(answer, "fills", ctx)
        if not rows:
            yield Step(stream, [], done=True)
            return
        bills = [int(info_of(t).get("billId") or 0) for t in rows]
        stream.pos = {"before": str(max(bills))}
        yield Step(stream, [fill_record(t, ctx.exchange) for t in rows], dedupe=False)


async def okx_flows(ctx: Context, streams: Streams) -> AsyncIterator[Step]:
    for kind in ("deposit", "withdrawal"):
        fetch = ctx.ex.fetch_deposits if kind == "deposit" else ctx.ex.fetch_withdrawals
        stream = streams[kind]
        stream.begin()
        at = stream.wm or 0
        while True:
            params = {"before": at}
            answer = await ctx.call(
                partial(fetch, None, None, ctx.limit("flows"), params), "data:list"
            )
            rows = answer_rows(answer, f"{kind}s", ctx)
            if not rows:
                yield Step(stream, [], done=True)
                break
            records = [transaction_record(t, ctx.exchange) for t in rows]
            at = max(r.ms for r in records)
            yield Step(stream, records, covered=at)


# ---------------------------------------------------------------------------- Alpaca


def _day_ms(row: Mapping[str, Any], ctx: Context) -> int:
    text = row.get("transaction_time") or row.get("date")
    if not isinstance(text, str):
        raise AdapterError(Status.ERROR, f"{ctx.exchange} sent an activity without a time")
    if len(text) == 10:
        text += "T00:00:00Z"
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    return round(moment.timestamp() * 1000)


def _alpaca_fill(row: Mapping[str, Any], ctx: Context) -> Record:
    trade = ctx.ex.parse_trade(dict(row))
    symbol = str(trade.get("symbol") or row.get("symbol") or "")
    if "/" not in symbol:
        symbol += "/USD"  # equities trade in USD
    exact = {**trade, "symbol": symbol, "amount": row.get("qty"), "price": row.get("price")}
    exact["cost"], exact["fee"] = None, None
    if not isinstance(exact.get("timestamp"), int):
        exact["timestamp"] = _day_ms(row, ctx)
    return fill_record(exact, ctx.exchange)


def _with_fees(rows: list[Mapping[str, Any]], ctx: Context) -> list[Record]:
    """FILL activities as fills, each CFEE joined to the latest fill of its pair before it
    (a fee in the asset received is a quantity, in dollars a net amount)."""
    records: list[Record] = []
    for row in rows:
        kind = row.get("activity_type")
        ident = record_id(row.get("id"), ctx.exchange)
        if kind == "FILL":
            records.append(_alpaca_fill(row, ctx))
            continue
        records.append(Record(ident, _day_ms(row, ctx), None))  # passed over, but read
        if kind != "CFEE":
            continue
        pair = str(row.get("symbol") or "")
        for record in reversed(records):
            fill = record.item
            if isinstance(fill, Fill) and fill.symbol.replace("/", "") == pair and not fill.fee:
                qty = decimal(row.get("qty") or "0", f"fee {ident}", ctx.exchange)
                cash = decimal(row.get("net_amount") or "0", f"fee {ident}", ctx.exchange)
                fee, currency = (abs(qty), fill.base) if qty else (abs(cash), "USD")
                record.item = _replace_fee(fill, fee, currency)
                break
    return records


def _replace_fee(fill: Fill, fee: Decimal, currency: str) -> Fill:
    return replace(fill, fee=fee, fee_currency=currency)


async def _activities(
    ctx: Context, stream: Stream, types: str, convert: Callable[[list[Any], Context], list[Record]]
) -> AsyncIterator[Step]:
    stream.begin()
    token = stream.pos.get("token")
    while True:
        params: dict[str, Any] = {"activity_types": types, "direction": "asc"}
        params["page_size"] = ctx.limit("activities")
        if token:
            params["page_token"] = token
        answer = await ctx.call(
            partial(ctx.ex.traderPrivateGetV2AccountActivities, params), ":list"
        )
        rows = [r for r in answer_rows(answer, "activities", ctx) if isinstance(r, Mapping)]
        if not rows:
            yield Step(stream, [], done=True)
            return
        if len(rows) > 1 and rows[-1].get("activity_type") == "FILL":
            rows = rows[:-1]  # its fee may open the next page: read it again from there
        records = convert(rows, ctx)
        token = str(rows[-1].get("id"))
        advance(stream, records, "token", lambda r: r.id)
        yield Step(stream, records, dedupe=rereads(stream, records))


def alpaca_activities(ctx: Context, streams: Streams) -> AsyncIterator[Step]:
    return _activities(ctx, streams["fills"], "FILL,CFEE", _with_fees)


def _cash_flows(rows: list[Mapping[str, Any]], ctx: Context) -> list[Record]:
    return [
        flow_record(
            row.get("id"),
            {"CSD": "deposit", "CSW": "withdrawal"}.get(str(row.get("activity_type"))),
            _day_ms(row, ctx),
            "USD",
            row.get("net_amount"),
            None,
            {"executed": "ok"}.get(str(row.get("status")), row.get("status")),
            ctx.exchange,
        )
        for row in rows
    ]


async def alpaca_flows(ctx: Context, streams: Streams) -> AsyncIterator[Step]:
    async for step in _activities(ctx, streams["cash"], "CSD,CSW", _cash_flows):
        yield step
    stream = streams["wallet"]
    stream.begin()
    answer = await ctx.call(ctx.ex.fetch_deposits_withdrawals, ":list")
    since = stream.since()
    records = []
    for tx in answer_rows(answer, "transfers", ctx):
        info = info_of(tx)
        fee = (
            info.get("fees") if info.get("fees") is not None else (tx.get("fee") or {}).get("cost")
        )
        exact = {**tx, "amount": info.get("amount", tx.get("amount")), "fee": {"cost": fee}}
        record = transaction_record(exact, ctx.exchange)
        if since is None or record.ms >= since:
            records.append(record)
    covered = max((r.ms for r in records), default=stream.wm)
    yield Step(stream, records, covered=covered, done=True)


# ---------------------------------------------------------------------------- any other


def _as_fill(trade: Any, exchange: str) -> Record:
    return fill_record(trade, exchange)


def _as_transaction(tx: Any, exchange: str) -> Record:
    return transaction_record(tx, exchange)


async def _since_list(
    ctx: Context, stream: Stream, fetch: Any, convert: Callable[[Any], Record]
) -> AsyncIterator[Step]:
    stream.begin()
    while True:
        since = stream.since()
        rows = answer_rows(await ctx.call(partial(fetch, None, since)), "history", ctx)
        records = [convert(r) for r in rows]
        fresh = [r for r in records if r.id not in stream.seen and not r.pending]
        top = max((r.ms for r in records), default=None)
        if not fresh or top is None:
            yield Step(stream, records, covered=top if top is not None else None, done=True)
            return
        yield Step(stream, records, covered=top)


async def since(ctx: Context, streams: Streams) -> AsyncIterator[Step]:
    ex = ctx.ex
    if ctx.request.kind == "trades":
        calls: dict[str, Any] = {"trades": ex.fetch_my_trades}
        convert: Callable[[Any], Record] = partial(_as_fill, exchange=ctx.exchange)
    else:
        calls = {
            kind: getattr(ex, method)
            for kind, method, cap in (
                ("deposit", "fetch_deposits", "fetchDeposits"),
                ("withdrawal", "fetch_withdrawals", "fetchWithdrawals"),
            )
            if ex.has.get(cap)
        }
        convert = partial(_as_transaction, exchange=ctx.exchange)
    for name, fetch in calls.items():
        async for step in _since_list(ctx, streams[name], fetch, convert):
            yield step
