"""Each exchange's own paging of trades and flows, through ccxt's unified methods.

A pager is an async generator over `Step`s: one request, what it read (as `Record`s), and
where the stream stands. It keeps its position in `stream.pos` before each yield, so the
cursor of the page it yields resumes right after it. Which pager an exchange uses is data
(`quirks.HistoryPaging`; the table of pagers is in `history`). Kraken's, Coinbase's and
Binance's are here, OKX's, Alpaca's and the generic one in `history_paging_more`:

- `kraken_trades` / `kraken_ledger`: newest first with `ofs` inside the window `start`
  (exclusive, the newest time stored) .. `end` (the newest time on the pass's first page),
  until an empty page. With nothing new: one request. The ledger (every type, one request)
  gives the flows: DepositStatus/WithdrawStatus cannot be paged back in time.
- `coinbase_fills`: newest first with the answer's `cursor`, from the watermark.
- `coinbase_transactions`: each wallet's v2 transactions oldest first (`order=asc`,
  `starting_after`), the wallets of the account's currencies.
- `binance_trades`: one stream per symbol, oldest first with `fromId`.
- `binance_flows`: deposits and withdrawals in 90-day windows from the watermark, newest
  first inside a window with `offset`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from functools import partial
from typing import Any

from nija_balances.adapters.ccxt.history_records import (
    Context,
    Record,
    Step,
    Streams,
    advance,
    answer_rows,
    decimal,
    fill_record,
    flow_record,
    info_of,
    now_ms,
    record_id,
    rereads,
    transaction_record,
)
from nija_balances.adapters.interface import AdapterError
from nija_balances.domain.models import Status

#: quotes a Binance symbol is looked for against, beside the valuation currency
STABLE_QUOTES = ("USDT", "USDC", "FDUSD")


# ---------------------------------------------------------------------------- Kraken


def _kraken_flow(entry: Mapping[str, Any], ctx: Context) -> Record:
    info = info_of(entry)
    ident = record_id(info.get("id") or entry.get("id"), ctx.exchange)
    kind = info.get("type")
    if kind not in ("deposit", "withdrawal"):  # trade legs, transfers, staking...
        return Record(ident, int(entry.get("timestamp") or 0), None)
    return flow_record(
        info.get("refid") or ident,
        kind,
        entry.get("timestamp"),
        entry.get("currency"),
        info.get("amount"),
        info.get("fee"),
        "ok",  # a ledger entry is booked: it moved the balance
        ctx.exchange,
    )


async def _kraken_scan(ctx: Context, streams: Streams, name: str) -> AsyncIterator[Step]:
    stream = streams[name]
    stream.begin()
    ex, pos = ctx.ex, stream.pos
    fetch = ex.fetch_my_trades if name == "trades" else ex.fetch_ledger
    while True:
        params: dict[str, Any] = {k: pos[k] for k in ("start", "end") if k in pos}
        params["ofs"] = pos.get("ofs", 0)
        shape = "result.trades:dict" if name == "trades" else "result.ledger:dict"
        rows = answer_rows(await ctx.call(partial(fetch, params=params), shape), name, ctx)
        if not rows:
            stream.pos = (
                {"start": pos["top"]}
                if "top" in pos
                else {k: pos[k] for k in ("start",) if k in pos}
            )
            yield Step(stream, [], done=True)
            return
        if name == "trades":
            records = [fill_record(t, ctx.exchange) for t in rows]
        else:
            records = [_kraken_flow(e, ctx) for e in rows]
        if "top" not in pos:  # the pass's window ends at the newest record it first saw
            times = [info_of(r).get("time") for r in rows]
            newest = max((t for t in times if isinstance(t, (int, float))), default=None)
            if newest is None:
                raise AdapterError(Status.ERROR, f"{ctx.exchange} sent {name} without times")
            pos["top"] = pos["end"] = repr(newest)
        pos["ofs"] = int(params["ofs"]) + len(rows)
        yield Step(stream, records, dedupe=False)


def kraken_trades(ctx: Context, streams: Streams) -> AsyncIterator[Step]:
    return _kraken_scan(ctx, streams, "trades")


def kraken_ledger(ctx: Context, streams: Streams) -> AsyncIterator[Step]:
    return _kraken_scan(ctx, streams, "ledger")


# ---------------------------------------------------------------------------- Coinbase


async def coinbase_fills(ctx: Context, streams: Streams) -> AsyncIterator[Step]:
    stream = streams["fills"]
    stream.begin()
    pos = stream.pos
    since = stream.since()
    while True:
        params = {k: pos[k] for k in ("until", "cursor") if k in pos}
        answer = await ctx.call(
            partial(ctx.ex.fetch_my_trades, None, since, ctx.limit("fills"), params), "fills:list"
        )
        rows = answer_rows(answer, "fills", ctx)
        records = [fill_record(t, ctx.exchange) for t in rows]
        if records and "until" not in pos:  # the pass's window: up to its first newest fill
            pos["until"] = max(r.ms for r in records) + 1
        following = next(
            (str(info_of(t)["cursor"]) for t in rows if info_of(t).get("cursor")), None
        )
        if following:
            pos["cursor"] = following
            yield Step(stream, records)
            continue
        covered = pos["until"] - 1 if "until" in pos else None
        stream.pos = {}
        yield Step(stream, records, covered=covered, done=True)
        return


_COINBASE_FLOW_TYPES = frozenset(
    {
        "send",
        "fiat_deposit",
        "fiat_withdrawal",
        "exchange_deposit",
        "exchange_withdrawal",
        "pro_deposit",
        "pro_withdrawal",
    }
)


def _coinbase_flow(entry: Mapping[str, Any], ctx: Context) -> Record:
    info = info_of(entry)
    ident = record_id(info.get("id") or entry.get("id"), ctx.exchange)
    ms = entry.get("timestamp")
    if info.get("type") not in _COINBASE_FLOW_TYPES:  # buys, sells, staking...
        return Record(ident, int(ms or 0), None)
    money = info.get("amount")
    if not isinstance(money, Mapping):
        raise AdapterError(Status.ERROR, f"{ctx.exchange} sent flow {ident} without an amount")
    signed = decimal(money.get("amount"), f"amount of flow {ident}", ctx.exchange)
    network = info.get("network")
    network = network if isinstance(network, Mapping) else {}
    fee_money, sent = network.get("transaction_fee"), network.get("transaction_amount")
    fee = fee_money.get("amount") if isinstance(fee_money, Mapping) else None
    amount: Any = abs(signed)
    if signed < 0 and isinstance(sent, Mapping) and sent.get("amount") is not None:
        amount = sent["amount"]  # the total leaving includes the network fee
    elif signed < 0 and fee is not None:
        amount = abs(signed) - decimal(fee, f"fee of flow {ident}", ctx.exchange)
    return flow_record(
        ident,
        "deposit" if signed > 0 else "withdrawal",
        ms,
        money.get("currency") or entry.get("currency"),
        amount,
        fee if signed < 0 else None,
        info.get("status"),
        ctx.exchange,
    )


async def coinbase_transactions(ctx: Context, streams: Streams) -> AsyncIterator[Step]:
    ex = ctx.ex
    await ctx.call(ex.load_accounts)
    wallets = {a.get("code"): a.get("id") for a in ex.accounts or [] if isinstance(a, Mapping)}
    wanted = sorted({*ctx.request.currencies, ctx.request.quote} & {c for c in wallets if c})
    for code in wanted:
        stream = streams[f"tx:{code}"]
        stream.begin()
        after = stream.pos.get("after")
        while True:
            params: dict[str, Any] = {"account_id": wallets[code], "order": "asc"}
            if after:
                params["starting_after"] = after
            answer = await ctx.call(
                partial(ex.fetch_ledger, code, None, ctx.limit("transactions"), params),
                "data:list",
            )
            rows = answer_rows(answer, "transactions", ctx)
            records = [_coinbase_flow(e, ctx) for e in rows]
            advance(stream, records, "after", lambda r: r.id)
            following = next(
                (
                    str(info_of(e)["next_starting_after"])
                    for e in rows
                    if info_of(e).get("next_starting_after")
                ),
                None,
            )
            dedupe = rereads(stream, records)
            if not following:
                yield Step(stream, records, done=True, dedupe=dedupe)
                break
            after = following
            yield Step(stream, records, dedupe=dedupe)


# ---------------------------------------------------------------------------- Binance


def binance_symbols(ctx: Context) -> list[str]:
    """The markets of the account's currencies against the quote assets, and the
    connection's `trade_symbols` (each must be a market of the exchange)."""
    markets: Mapping[str, Any] = ctx.ex.markets or {}
    chosen: set[str] = set()
    for symbol in ctx.connection.options.get("trade_symbols") or ():
        if symbol not in markets:
            raise AdapterError(
                Status.ERROR,
                f"{ctx.exchange} has no market {symbol} (trade_symbols of {ctx.connection.name})",
            )
        chosen.add(symbol)
    currencies = set(ctx.request.currencies)
    quotes = {ctx.request.quote, *STABLE_QUOTES, *currencies}
    for base in currencies:
        for quote in quotes:
            symbol = f"{base}/{quote}"
            if base != quote and symbol in markets and markets[symbol].get("spot", True):
                chosen.add(symbol)
    return sorted(chosen)


async def binance_trades(ctx: Context, streams: Streams) -> AsyncIterator[Step]:
    for symbol in binance_symbols(ctx):
        stream = streams[f"sym:{symbol}"]
        stream.begin()
        while True:
            params = {"fromId": stream.pos.get("from", 0)}
            answer = await ctx.call(
                partial(ctx.ex.fetch_my_trades, symbol, None, ctx.limit("trades"), params),
                ":list",
            )
            rows = answer_rows(answer, "trades", ctx)
            if not rows:
                yield Step(stream, [], done=True)
                break
            records = [fill_record(t, ctx.exchange) for t in rows]
            stream.pos = {"from": max(int(r.id) for r in records) + 1}
            yield Step(stream, records, dedupe=False)


async def binance_flows(ctx: Context, streams: Streams) -> AsyncIterator[Step]:
    window = ctx.paging.window_ms or 90 * 86_400_000
    first = ctx.paging.start_ms or 0
    for kind in ("deposit", "withdrawal"):
        fetch = ctx.ex.fetch_deposits if kind == "deposit" else ctx.ex.fetch_withdrawals
        stream = streams[kind]
        stream.begin()
        pos = stream.pos
        now = now_ms()
        while True:
            since = stream.since()
            start: int = pos.get("start", first if since is None else since)
            end: int = pos.get("end", min(start + window - 1, now))
            offset = pos.get("offset", 0)
            params = {"until": end, "offset": offset}
            answer = await ctx.call(
                partial(fetch, None, start, ctx.limit("flows"), params), ":list"
            )
            rows = answer_rows(answer, f"{kind}s", ctx)
            if rows:
                pos.update(start=start, end=end, offset=offset + len(rows))
                yield Step(stream, [transaction_record(t, ctx.exchange) for t in rows])
                continue
            last = end >= now
            pos.clear()
            if not last:
                pos["start"] = end + 1
                yield Step(stream, [], covered=end)
                continue
            # the watermark stays at the newest record (or the last window's start): a sync
            # with nothing new leaves the cursor as it was
            yield Step(stream, [], covered=max(start - 1, stream.top or 0), done=True)
            break
