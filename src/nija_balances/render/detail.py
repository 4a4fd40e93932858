"""Per-connection detail: `nija user` (assets with prices) and `nija status` (health).

Both open with the header every report shares (`frame.heading`) and end with a heavy rule;
they are laid out when rendered, for the width they are rendered at.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from nija_balances.domain.models import AccountReport, Portfolio, Status
from nija_balances.domain.text import safe_text
from nija_balances.render.frame import HEAVY, heading, rule, when
from nija_balances.render.layout import Column, fit_columns
from nija_balances.render.markers import (
    UNICODE,
    Glyphs,
    glyphs,
    marker,
    money,
    shown_balance,
    status_text,
    style,
)
from nija_balances.render.plain import age
from nija_balances.render.report import counted_words, total_text

GAP = 2  # between two columns: a space of padding and the box's space


def _amount(value: Decimal) -> str:
    """An asset amount without trailing zeros: `0.025`, `1,900`."""
    text = f"{value.normalize():,f}"
    return text


def fitted_table(
    headers: list[str],
    rows: list[list[Text]],
    width: int,
    columns: list[Column],
    g: Glyphs,
    right: frozenset[str] = frozenset(),
    wraps: frozenset[str] = frozenset(),
) -> Table:
    """A table with a header row whose columns get the widths of `fit_columns`."""
    widths, _ = fit_columns(columns, width, GAP)
    table = Table(box=g.head, pad_edge=False, show_edge=False, padding=(0, 1, 0, 0))
    for name, column_width in zip(headers, widths, strict=True):
        table.add_column(
            name,
            width=column_width,
            justify="right" if name in right else "left",
            no_wrap=name not in wraps,
            overflow="fold" if name in wraps else "ellipsis",
        )
    for cells in rows:
        table.add_row(*cells)
    return table


def widest_cell(headers: list[str], rows: list[list[Text]], column: int) -> int:
    """The widest cell of `column`, its header included."""
    return max(cell_len(cells[column].plain) for cells in [[Text(h) for h in headers], *rows])


def user_detail(user: AccountReport, portfolio: Portfolio) -> UserDetail:
    """One user: per connection its assets (free, held, total, price, value) and the subtotal."""
    return UserDetail(user, portfolio)


@dataclass(frozen=True)
class UserDetail:
    user: AccountReport
    portfolio: Portfolio

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Group(*self.parts(options.max_width, glyphs(options)))

    def parts(self, width: int, g: Glyphs = UNICODE) -> list[RenderableType]:
        user, quote = self.user, self.portfolio.quote
        title = f"NIJA USER: {user.id}" + (
            f" ({safe_text(user.name)})" if user.name != user.id else ""
        )
        if not user.enabled:
            title += f"{g.dash}disabled, not in totals"
        p = self.portfolio
        detail = f"{when(p.generated_at)}    Basis: {p.basis} ({quote})"
        parts: list[RenderableType] = [*heading(title, detail, width, demo=p.demo, g=g)]
        for conn in user.connections:
            head = Text()
            head.append(f"{marker(conn.status, g)} ", style=style(conn.status))
            head.append(f"{conn.connection.upper()}", style="bold")
            head.append(f"  {conn.exchange}  ", style="dim")
            head.append(status_text(conn), style=style(conn.status))
            head.append(f"  {shown_balance(conn, quote, g)}")
            parts += [Text(""), head]
            if conn.error and conn.status is not Status.DISABLED:
                parts.append(Text(f"  {conn.error}", style="dim"))
            if not conn.assets:
                if conn.counted:
                    parts.append(Text("  (no assets)", style="dim"))
                continue
            headers = ["currency", "free", "held", "total", "price", "value"]
            rows = [
                [
                    Text(asset.currency),
                    Text(_amount(asset.free)),
                    Text(_amount(asset.used)),
                    Text(_amount(asset.total)),
                    Text(g.none if asset.price is None else _amount(asset.price)),
                    Text("unpriced", style="yellow")
                    if asset.value is None
                    else Text(money(asset.value, quote)),
                ]
                for asset in conn.assets
            ]
            widest = [widest_cell(headers, rows, i) for i in range(len(headers))]
            columns = [Column(widest[0], widest[0], min(widest[0], 4), step=1)]
            columns += [Column(w, w, w) for w in widest[1:]]  # amounts are never cut
            numbers = frozenset(headers[1:])
            parts.append(fitted_table(headers, rows, width, columns, g, right=numbers))
            if conn.unpriced:
                parts.append(
                    Text(
                        f"  unpriced (not in the value): {', '.join(conn.unpriced)}",
                        style="yellow",
                    )
                )
        subtotal = Text(f"SUBTOTAL  {total_text(user, quote, g)}", style="bold")
        words = counted_words(user) or ("no connections" if not user.connections else None)
        if words is not None:  # a total says what it covers
            subtotal.append(f"  ({words})", style="yellow" if user.enabled else "dim")
        parts += [Text(""), subtotal, rule(HEAVY, width)]
        return parts


def status_table(portfolio: Portfolio) -> StatusReport:
    """Every connection: marker, account, connection, exchange, status, age, latency; then
    the errors, one full-width line each."""
    return StatusReport(portfolio)


@dataclass(frozen=True)
class StatusReport:
    portfolio: Portfolio

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Group(*self.parts(options.max_width, glyphs(options)))

    def parts(self, width: int, g: Glyphs = UNICODE) -> list[RenderableType]:
        portfolio, s = self.portfolio, self.portfolio.summary
        counted = f"{s.connections_counted} of {s.connections_total} counted"
        detail = f"{when(portfolio.generated_at)}    {counted}"
        parts: list[RenderableType] = [
            *heading("NIJA CONNECTION STATUS", detail, width, demo=portfolio.demo, g=g)
        ]
        headers = ["", "account", "connection", "exchange", "status", "age", "latency"]
        rows = [
            [
                Text(marker(conn.status, g), style=style(conn.status)),
                Text(conn.account),
                Text(conn.connection),
                Text(conn.exchange, style="dim"),
                Text(conn.status.value, style=style(conn.status)),
                Text(age(conn.age_s)),
                Text("" if conn.latency_s is None else f"{conn.latency_s * 1000:.0f} ms"),
            ]
            for conn in portfolio.connections
        ]
        widest = [widest_cell(headers, rows, i) for i in range(len(headers))]
        columns = [
            Column(widest[0], widest[0], widest[0]),
            Column(widest[1], widest[1], min(widest[1], 8), step=1),
            Column(widest[2], widest[2], min(widest[2], 8), step=1),
            Column(widest[3], widest[3], min(widest[3], 6), step=1),
            *(Column(w, w, w) for w in widest[4:]),  # status, age, latency: whole
        ]
        right = frozenset({"age", "latency"})
        parts.append(fitted_table(headers, rows, width, columns, g, right=right))
        errors = Text()
        for conn in portfolio.connections:
            if conn.error and conn.status is not Status.DISABLED:
                if errors:
                    errors.append("\n")
                errors.append(f"{marker(conn.status, g)} {conn.key}: ", style=style(conn.status))
                errors.append(conn.error, style="dim")
        if errors:
            parts.append(errors)
        parts.append(rule(HEAVY, width))
        return parts
