"""The balance report (`report.Report`) drawn with Rich: header, platform, users, summary.

`nija show` on a terminal, `nija watch` (with the change since the previous refresh) and the
API's text report draw it here, laid out for the width it is rendered at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from decimal import Decimal
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from nija_balances.domain.models import AccountReport, ConnectionReport, Portfolio
from nija_balances.domain.text import safe_text
from nija_balances.render.frame import HEAVY, LIGHT, heading, rule, when
from nija_balances.render.layout import account_columns, fit_columns
from nija_balances.render.markers import (
    UNICODE,
    Glyphs,
    glyphs,
    marker,
    shown_balance,
    status_text,
    style,
)
from nija_balances.render.plain import COLUMN_GAP
from nija_balances.render.report import (
    NO_PLATFORM,
    BalanceReport,
    Pieces,
    balance_report,
    change_words,
    column_names,
    counted_words,
    coverage_pieces,
    figures,
    note_pieces,
    shown_users,
    total_text,
    user_title,
)


def styled(pieces: Pieces) -> Text | None:
    """Pieces of a line as one Rich `Text`; None when there are none."""
    return Text.assemble(*pieces) if pieces else None


def change_cell(change: Decimal | None, quote: str, g: Glyphs = UNICODE) -> Text:
    text, colour = change_words(change, quote, g)
    return Text(text, style=colour)


def _status_cell(report: ConnectionReport) -> Text:
    text = Text(status_text(report), style=style(report.status))
    if report.unpriced:
        text.append(f"\nunpriced: {', '.join(report.unpriced)}", style="yellow")
    return text


def notes(account: AccountReport, g: Glyphs = UNICODE) -> Text | None:
    """`report.note_pieces` as Rich text."""
    return styled(note_pieces(account, g))


def account_table(
    account: AccountReport,
    quote: str,
    total_label: str,
    changes: Mapping[str, Decimal] | None = None,
    width: int | None = None,
    g: Glyphs = UNICODE,
) -> Table:
    """One account: a row per connection with marker, balance and status, then the total
    (with what it covers when that is not every connection).

    Within `width` the marker, balance, change and status word are always whole: padding
    goes first, then the status column folds, then connection and exchange names are cut.
    """
    table, _ = _account_table(account, quote, total_label, changes, width, g)
    return table


def _account_table(
    account: AccountReport,
    quote: str,
    total_label: str,
    changes: Mapping[str, Decimal] | None,
    width: int | None,
    g: Glyphs,
) -> tuple[Table, bool]:
    """The table and whether it fits `width` (None: any width)."""
    words = counted_words(account)
    with_change = changes is not None
    rows: list[list[Text]] = []
    for report in account.connections:
        cells = [
            Text(marker(report.status, g), style=style(report.status)),
            Text(report.connection.upper()),
            Text(report.exchange),
            Text(shown_balance(report, quote, g), style="" if report.counted else "dim"),
        ]
        if changes is not None:
            cells.append(change_cell(changes.get(report.key), quote, g))
        cells.append(_status_cell(report))
        rows.append(cells)
    if not account.connections:
        empty = [Text(""), Text("(no connections)", style="dim"), Text(""), Text("")]
        rows.append([*empty, *([Text("")] if with_change else []), Text("")])
    footer = [
        Text(""),
        Text(total_label, style="bold"),
        Text(""),
        Text(total_text(account, quote, g), style="bold"),
        *([Text("")] if with_change else []),
        Text(words or "", style="yellow" if account.enabled else "dim"),
    ]
    widest = [
        max(_text_width(cells[column]) for cells in [*rows, footer])
        for column in range(len(footer))
    ]
    status_least = max((cell_len(status_text(r)) for r in account.connections), default=0)
    columns = account_columns(widest, status_least, with_change)
    if width is None:
        widths, fits = [c.natural for c in columns], True
    else:
        widths, fits = fit_columns(columns, width, gap=COLUMN_GAP)
    table = Table(
        box=g.table,
        show_header=False,
        show_footer=True,
        padding=(0, 1),
        pad_edge=False,
        show_edge=False,
    )
    for i, name in enumerate(column_names(with_change)):
        table.add_column(
            name,
            width=widths[i],
            footer=footer[i],
            justify="right" if name in ("balance", "change") else "left",
            style="dim" if name == "exchange" else "",
            no_wrap=name != "status",
            overflow="fold" if name == "status" else "ellipsis",
        )
    for cells in rows:
        table.add_row(*cells)
    return table, fits


def _text_width(text: Text) -> int:
    return max((cell_len(line) for line in text.plain.split("\n")), default=0)


def _indent(renderable: RenderableType, spaces: int) -> RenderableType:
    from rich.padding import Padding

    return Padding(renderable, (0, 0, 0, spaces), expand=False)


def coverage_line(portfolio: Portfolio, g: Glyphs = UNICODE) -> Text | None:
    """`report.coverage_pieces` as Rich text."""
    return styled(coverage_pieces(portfolio, g))


def summary_table(
    portfolio: Portfolio, platform_note: str | None = None, g: Glyphs = UNICODE
) -> Table:
    s = portfolio.summary
    shown = figures(portfolio, platform_note, g)
    table = Table.grid(padding=(0, 3))
    table.add_column()
    table.add_column()
    table.add_row("Total Users:", str(s.user_count))
    table.add_row("Total User Capital:", shown.capital)
    table.add_row("Average per User:", shown.average)
    table.add_row("Platform Total:", shown.platform)
    counted = f"{s.connections_counted} of {s.connections_total} counted"
    table.add_row("Connections:", Text(counted, style="" if s.complete else "yellow"))
    return table


class Report(BalanceReport):
    """A `BalanceReport` drawn with Rich, laid out for the width it is rendered at."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width if self.width is None else min(self.width, options.max_width)
        yield Group(*self.parts(width, glyphs(options))[0])

    def fits(self, width: int, g: Glyphs = UNICODE) -> bool:
        """Whether every table fits `width` with its figures whole."""
        return self.parts(width, g)[1]

    def parts(self, width: int, g: Glyphs = UNICODE) -> tuple[list[RenderableType], bool]:
        """The renderables of the report, and whether every table fits `width`."""
        return report_parts(self, width, g)


def drawn(model: BalanceReport) -> Report:
    """`model` as Rich draws it."""
    if isinstance(model, Report):
        return model
    return Report(**{f.name: getattr(model, f.name) for f in fields(BalanceReport)})


def report(portfolio: Portfolio, **options: Any) -> Report:
    """`report.balance_report(portfolio, **options)` as one Rich renderable."""
    return drawn(balance_report(portfolio, **options))


def report_text(portfolio: Portfolio, width: int = 100) -> str:
    """The report as plain text, lines without trailing blanks (the API, the monitor's log)."""
    import io

    console = Console(width=width, no_color=True, record=True, file=io.StringIO(), emoji=False)
    console.print(report(portfolio))
    lines = console.export_text(styles=False).splitlines()
    return "\n".join(line.rstrip() for line in lines) + "\n"


def report_parts(
    report: BalanceReport, width: int, g: Glyphs = UNICODE
) -> tuple[list[RenderableType], bool]:
    """`report` as Rich renderables `width` wide, and whether every table fits with its
    figures whole."""
    portfolio, changes, quote = report.portfolio, report.changes, report.portfolio.quote
    light = rule(LIGHT, width)
    detail = f"{when(portfolio.generated_at)}    Basis: {portfolio.basis} ({quote})"
    parts: list[RenderableType] = [*heading(report.title, detail, width, demo=portfolio.demo, g=g)]
    fits = True
    if report.show_platform:
        platform = portfolio.platform
        parts += [
            Text(""),
            Text(
                f"{g.platform}PLATFORM ACCOUNT ({safe_text(platform.name)})"
                if platform.connections
                else f"{g.platform}PLATFORM ACCOUNT",
                style="bold",
            ),
            light,
        ]
        if platform.connections:
            table, fit = _account_table(platform, quote, "TOTAL", changes, width - 3, g)
            parts.append(_indent(table, 3))
            fits &= fit
        else:
            why = (report.platform_note or NO_PLATFORM).capitalize()
            parts.append(_indent(Text(f"{why}.", style="dim"), 3))
        if (platform_notes := notes(platform, g)) is not None:
            parts.append(_indent(platform_notes, 3))
    parts += [Text(""), Text(f"{g.platform}USER ACCOUNTS", style="bold"), light]
    if not portfolio.users:
        parts.append(_indent(Text("No user accounts configured.", style="dim"), 3))
    users, folded = shown_users(portfolio.users, report.fold_after)
    for user in users:
        title = user_title(user, g)
        table, fit = _account_table(user, quote, "SUBTOTAL", changes, width - 6, g)
        fits &= fit
        parts += [
            Text(""),
            _indent(Text(title, style="bold" if user.enabled else "dim"), 3),
            _indent(rule(LIGHT, width - 3), 3),
            _indent(table, 6),
        ]
        if (user_notes := notes(user, g)) is not None:
            parts.append(_indent(user_notes, 6))
    if folded is not None:
        parts += [Text(""), _indent(Text(f"{g.ellipsis} {folded}", style="yellow"), 3)]
    heavy = rule(HEAVY, width)
    parts += [Text(""), heavy, Text("SUMMARY", style="bold"), heavy]
    parts.append(_indent(summary_table(portfolio, report.platform_note, g), 3))
    coverage = coverage_line(portfolio, g)
    if coverage is not None:
        parts.append(_indent(coverage, 3))
    parts.append(heavy)
    return parts, fits
