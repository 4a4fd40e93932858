"""`nija trades`: recent fills with the realized P&L of the lots they closed, as a table, the
JSON document of DESIGN §10 or CSV, all from the same `TradeRow`s (newest first).

JSON: `{"schema_version", "timestamp", "quote", "trades": [fill...]}`, each fill `{"time",
"account", "connection", "exchange", "id", "order", "symbol", "side", "amount", "price",
"cost", "fee", "fee_currency", "realized_pnl"}`: amounts and prices as exact decimal
strings (a fill's amount can be finer than a float holds), `realized_pnl` a number rounded
to cents or `null` when the fill closed no lot (or their cost is unknown).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from nija_balances.domain.models import to_cents
from nija_balances.engine.figures import Figures, TradeRow
from nija_balances.render.json_doc import SCHEMA_VERSION, amount_number, cents, utc_iso
from nija_balances.render.markers import glyphs
from nija_balances.render.pnl import signed

FIELDS = (
    "time",
    "account",
    "connection",
    "exchange",
    "id",
    "order",
    "symbol",
    "side",
    "amount",
    "price",
    "cost",
    "fee",
    "fee_currency",
    "realized_pnl",
)


def plain(amount: Decimal) -> str:
    """An exact decimal without exponent or trailing zeros: `0.5`, `61000`."""
    text = f"{amount.normalize():f}" if amount.is_finite() else str(amount)
    return "0" if text in ("-0", "") else text


def trade_dict(row: TradeRow, quote: str) -> dict[str, Any]:
    fill = row.fill
    return {
        "time": utc_iso(fill.time),
        "account": row.account,
        "connection": row.connection,
        "exchange": row.exchange,
        "id": fill.id,
        "order": fill.order or None,
        "symbol": fill.symbol,
        "side": fill.side,
        "amount": amount_number(fill.amount),
        "price": amount_number(fill.price),
        "cost": amount_number(fill.cost),
        "fee": amount_number(fill.fee),
        "fee_currency": fill.fee_currency or fill.quote or quote,
        "realized_pnl": None if row.realized is None else cents(row.realized),
    }


def trades_document(rows: Sequence[TradeRow], *, quote: str, now: datetime) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "timestamp": utc_iso(now),
        "quote": quote,
        "trades": [trade_dict(r, quote) for r in rows],
    }


def trades_csv(rows: Sequence[TradeRow], *, quote: str) -> str:
    """The JSON document's fields as CSV columns; unknown realized P&L is empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for row in rows:
        fill = row.fill
        realized = "" if row.realized is None else f"{to_cents(row.realized):f}"
        writer.writerow(
            [
                utc_iso(fill.time),
                row.account,
                row.connection,
                row.exchange,
                fill.id,
                fill.order,
                fill.symbol,
                fill.side,
                plain(fill.amount),
                plain(fill.price),
                plain(fill.cost),
                plain(fill.fee),
                fill.fee_currency or fill.quote or quote,
                realized,
            ]
        )
    return out.getvalue()


class TradesTable:
    """Fills newest first: time, account/connection, side, amount, symbol, price, fee and the
    realized P&L of the lots each closed."""

    def __init__(self, rows: Sequence[TradeRow], *, quote: str, total: int) -> None:
        self.rows, self.quote, self.total = rows, quote, total

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        g = glyphs(options)
        if not self.rows:
            yield Text("No trades stored yet: `nija sync` fetches them.")
            return
        shown = f"{len(self.rows)} of {self.total}" if self.total > len(self.rows) else "All"
        yield Text(f"{shown} fills, newest first ({self.quote})", style="bold")
        table = Table(box=g.head, pad_edge=False, show_edge=False, padding=(0, 1, 0, 0))
        table.add_column("Time (UTC)", no_wrap=True)
        table.add_column("Account", no_wrap=True, overflow="ellipsis", max_width=22)
        table.add_column("Side", no_wrap=True)
        table.add_column("Amount", justify="right", no_wrap=True)
        table.add_column("Symbol", no_wrap=True)
        table.add_column("Price", justify="right", no_wrap=True)
        table.add_column("Fee", justify="right", no_wrap=True)
        table.add_column("Realized", justify="right", no_wrap=True)
        for row in self.rows:
            fill = row.fill
            fee_code = fill.fee_currency or fill.quote
            table.add_row(
                fill.time.strftime("%Y-%m-%d %H:%M"),
                f"{row.account}/{row.connection}",
                Text(fill.side, style="green" if fill.side == "buy" else "red"),
                plain(fill.amount),
                fill.symbol,
                plain(fill.price),
                f"{plain(fill.fee)} {fee_code}",
                signed(row.realized, self.quote, g) if row.realized is not None else "",
            )
        yield table
        if self.total > len(self.rows):
            yield Text(f"{self.total - len(self.rows)} older fills: --limit 0 shows all")


def flows_document(figures: Figures) -> dict[str, Any]:
    """Every stored deposit and withdrawal, newest first: `{"schema_version", "timestamp",
    "quote", "flows": [{"time", "account", "connection", "exchange", "id", "kind",
    "currency", "amount", "fee", "fee_currency", "value"}...]}` (`value` in the quote
    currency when the exchange gave it, else null)."""
    rows = [
        (part.connection, flow)
        for account in figures.accounts
        for part in account.connections
        for flow in part.flows
    ]
    rows.sort(key=lambda row: (row[1].time, row[1].id), reverse=True)
    return {
        "schema_version": SCHEMA_VERSION,
        "timestamp": utc_iso(figures.generated_at),
        "quote": figures.quote,
        "flows": [
            {
                "time": utc_iso(flow.time),
                "account": conn.account,
                "connection": conn.name,
                "exchange": conn.exchange,
                "id": flow.id,
                "kind": flow.kind,
                "currency": flow.currency,
                "amount": amount_number(flow.amount),
                "fee": amount_number(flow.fee),
                "fee_currency": flow.fee_currency or flow.currency,
                "value": None if flow.value is None else cents(flow.value),
            }
            for conn, flow in rows
        ],
    }
