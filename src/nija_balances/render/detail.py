"""Per-connection detail: `nija user` (assets with prices) and `nija status` (health)."""

from __future__ import annotations

from decimal import Decimal

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from nija_balances.domain.models import AccountReport, Portfolio, Status
from nija_balances.render.markers import age, marker, money, shown_balance, status_text, style
from nija_balances.render.table import counted_words, total_text


def _amount(value: Decimal) -> str:
    """An asset amount without trailing zeros: `0.025`, `1,900`."""
    text = f"{value.normalize():,f}"
    return text


def user_detail(user: AccountReport, quote: str) -> Group:
    """One user: per connection its assets (free, held, total, price, value) and the subtotal."""
    parts: list[RenderableType] = []
    title = f"👤 User: {user.id}" + (f" ({user.name})" if user.name != user.id else "")
    if not user.enabled:
        title += " — disabled, not in totals"
    parts.append(Text(title, style="bold"))
    for conn in user.connections:
        heading = Text()
        heading.append(f"{marker(conn.status)} ", style=style(conn.status))
        heading.append(f"{conn.connection.upper()}", style="bold")
        heading.append(f"  {conn.exchange}  ", style="dim")
        heading.append(status_text(conn), style=style(conn.status))
        heading.append(f"  {shown_balance(conn, quote)}")
        parts += [Text(""), heading]
        if conn.error and conn.status is not Status.DISABLED:
            parts.append(Text(f"  {conn.error}", style="dim"))
        if not conn.assets:
            if conn.counted:
                parts.append(Text("  (no assets)", style="dim"))
            continue
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1))
        for name in ("currency", "free", "held", "total", "price", "value"):
            table.add_column(name, justify="left" if name == "currency" else "right")
        for asset in conn.assets:
            table.add_row(
                asset.currency,
                _amount(asset.free),
                _amount(asset.used),
                _amount(asset.total),
                "—" if asset.price is None else _amount(asset.price),
                Text("unpriced", style="yellow")
                if asset.value is None
                else money(asset.value, quote),
            )
        parts.append(table)
        if conn.unpriced:
            parts.append(
                Text(f"  unpriced (not in the value): {', '.join(conn.unpriced)}", style="yellow")
            )
    subtotal = Text(f"SUBTOTAL  {total_text(user, quote)}", style="bold")
    words = counted_words(user) or ("no connections" if not user.connections else None)
    if words is not None:  # a total says what it covers
        subtotal.append(f"  ({words})", style="yellow" if user.enabled else "dim")
    parts += [Text(""), subtotal]
    return Group(*parts)


def status_table(portfolio: Portfolio) -> Group:
    """Every connection: marker, account, connection, exchange, status, age, latency; then
    the errors, one full-width line each."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1))
    table.add_column("", width=1)
    table.add_column("account")
    table.add_column("connection")
    table.add_column("exchange", style="dim")
    table.add_column("status", no_wrap=True)
    table.add_column("age", justify="right")
    table.add_column("latency", justify="right")
    errors = Text()
    for conn in portfolio.connections:
        table.add_row(
            Text(marker(conn.status), style=style(conn.status)),
            conn.account,
            conn.connection,
            conn.exchange,
            Text(conn.status.value, style=style(conn.status)),
            age(conn.age_s),
            "" if conn.latency_s is None else f"{conn.latency_s * 1000:.0f} ms",
        )
        if conn.error and conn.status is not Status.DISABLED:
            if errors:
                errors.append("\n")
            errors.append(f"{marker(conn.status)} {conn.key}: ", style=style(conn.status))
            errors.append(conn.error, style="dim")
    s = portfolio.summary
    counted = Text(f"{s.connections_counted} of {s.connections_total} connections counted")
    return Group(table, counted, Text(""), errors) if errors else Group(table, counted)
