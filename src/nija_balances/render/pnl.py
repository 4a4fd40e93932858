"""`nija pnl`: every P&L figure per account and connection, as a table or the JSON document
of DESIGN §10, both from the `Figures` model.

JSON: `{"schema_version", "timestamp", "quote", "timezone", "users": {id: figures},
"platform": figures | null}`, where figures are `{"balance", "daily_pnl", "total_pnl",
"realized", "unrealized", "fees", "net_flow", "unexplained", "total_trades", "fills",
"wins", "losses", "draws", "win_rate", "complete", "incomplete_reasons"}` (money as numbers
rounded to cents, `null` where unknown; `win_rate` a fraction to 4 places) and, for an
account, `"connections": {name: figures}`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from nija_balances.domain.pnl import PnL
from nija_balances.engine.figures import AccountFigures, Figures
from nija_balances.render.json_doc import SCHEMA_VERSION, cents, utc_iso
from nija_balances.render.markers import Glyphs, glyphs, money

MONEY_FIELDS = (
    "balance",
    "daily_pnl",
    "total_pnl",
    "realized",
    "unrealized",
    "fees",
    "net_flow",
    "unexplained",
)
COUNT_FIELDS = ("total_trades", "fills", "wins", "losses", "draws")


COLUMNS = (
    "Account",
    "Balance",
    "Today",
    "Total",
    "Realized",
    "Unrealized",
    "Fees",
    "Flows",
    "Win rate",
    "Trades",
)
#: Given up, in this order, when the terminal is too narrow for every column.
OPTIONAL = ("Unrealized", "Realized", "Fees", "Flows", "Trades")


def rate_fraction(rate: Decimal | None) -> float | None:
    return None if rate is None else float(rate.quantize(Decimal("0.0001"), ROUND_HALF_EVEN))


def pnl_dict(pnl: PnL) -> dict[str, Any]:
    """The §10 fields of one connection or account."""
    doc: dict[str, Any] = {}
    for name in MONEY_FIELDS:
        amount: Decimal | None = getattr(pnl, name)
        doc[name] = None if amount is None else cents(amount)
    for name in COUNT_FIELDS:
        doc[name] = getattr(pnl, name)
    doc["win_rate"] = rate_fraction(pnl.win_rate)
    doc["complete"] = pnl.complete
    doc["incomplete_reasons"] = list(pnl.incomplete_reasons)
    return doc


def account_dict(account: AccountFigures) -> dict[str, Any]:
    return {
        **pnl_dict(account.pnl),
        "connections": {c.connection.name: pnl_dict(c.pnl) for c in account.connections},
    }


def pnl_document(figures: Figures) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "timestamp": utc_iso(figures.generated_at),
        "quote": figures.quote,
        "timezone": figures.timezone,
        "users": {uid: account_dict(a) for uid, a in figures.users.items()},
        "platform": None if figures.platform is None else account_dict(figures.platform),
    }


def win_rate_text(pnl: PnL, g: Glyphs) -> str:
    """`62% (31/50)`: the rate with its counts; `—` without a closing order."""
    if pnl.wins is None or pnl.losses is None:
        return g.none
    decided = pnl.wins + pnl.losses
    if pnl.win_rate is None:
        return g.none
    percent = (pnl.win_rate * 100).quantize(Decimal(1), ROUND_HALF_EVEN)
    return f"{percent}% ({pnl.wins}/{decided})"


def signed(amount: Decimal | None, quote: str, g: Glyphs) -> Text:
    """Money with its sign, green up and red down; `—` when unknown."""
    if amount is None:
        return Text(g.none, style="dim")
    text = money(amount, quote)
    if amount > 0:
        return Text(f"+{text}", style="green")
    return Text(text, style="red" if amount < 0 else "")


class PnLTable:
    """One row per account and, indented under it, one per connection; incomplete figures
    are `—` and their reasons are listed under the table."""

    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        g = glyphs(options)
        f = self.figures
        yield Text(f"P&L in {f.quote} (days in {f.timezone})", style="bold")
        rows: list[tuple[list[str | Text], bool]] = []
        notes: list[str] = []
        for account in f.accounts:
            label = "platform" if account.account.kind == "platform" else account.account.id
            rows.append((self._row(label, account.pnl, g), True))
            if len(account.connections) > 1:
                for part in account.connections:
                    rows.append((self._row(f"  {part.connection.name}", part.pnl, g), False))
            notes += [f"{label}: {reason}" for reason in account.pnl.incomplete_reasons]
        shown = self._columns_that_fit(rows, options.max_width)
        table = Table(box=g.head, pad_edge=False, show_edge=False, padding=(0, 1, 0, 0))
        for i in shown:
            name = COLUMNS[i]
            if name == "Account":
                table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=24)
            else:
                table.add_column(name, justify="right", no_wrap=True)
        for cells, bold in rows:
            table.add_row(*(cells[i] for i in shown), style="bold" if bold else None)
        yield table
        left = [COLUMNS[i].lower() for i in range(len(COLUMNS)) if i not in shown]
        if left:
            yield Text(f"Not shown at this width: {', '.join(left)} (--json has every figure)")
        if notes:
            yield Text(f"{g.warn} incomplete figures are shown as {g.none}:", style="yellow")
            for note in notes:
                yield Text(f"  {note}", style="yellow")

    @staticmethod
    def _columns_that_fit(rows: list[tuple[list[str | Text], bool]], width: int) -> list[int]:
        """The columns to show: all that fit in `width`, the optional ones given up first."""
        need = [
            max([len(name)] + [Text.assemble(cells[i]).cell_len for cells, _ in rows])
            for i, name in enumerate(COLUMNS)
        ]
        shown = list(range(len(COLUMNS)))
        for name in OPTIONAL:
            if sum(need[i] + 2 for i in shown) <= width:
                break
            shown.remove(COLUMNS.index(name))
        return shown

    def _row(self, label: str, pnl: PnL, g: Glyphs) -> list[str | Text]:
        quote = self.figures.quote
        balance = g.none if pnl.balance is None else money(pnl.balance, quote)
        fees = g.none if pnl.fees is None else money(pnl.fees, quote)
        trades = g.none if pnl.total_trades is None else str(pnl.total_trades)
        return [
            label,
            balance,
            signed(pnl.daily_pnl, quote, g),
            signed(pnl.total_pnl, quote, g),
            signed(pnl.realized, quote, g),
            signed(pnl.unrealized, quote, g),
            fees,
            signed(pnl.net_flow, quote, g),
            win_rate_text(pnl, g),
            trades,
        ]
