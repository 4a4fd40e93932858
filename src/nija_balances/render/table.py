"""The balance report as Rich tables: header, platform, users, summary.

`report(portfolio)` returns one Rich renderable, used by `nija show`, `nija watch` (with the
change since the previous refresh) and the API's text report. It is laid out when rendered,
for the width it is rendered at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from nija_balances.domain.models import (
    AccountReport,
    Config,
    ConnectionReport,
    Portfolio,
    Status,
)
from nija_balances.domain.text import safe_text
from nija_balances.render.frame import HEAVY, LIGHT, heading, rule, when
from nija_balances.render.layout import account_columns, fit_columns
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
from nija_balances.render.plain import COLUMN_GAP

TITLE = "NIJA USER ACCOUNT BALANCES"


def change_cell(change: Decimal | None, quote: str, g: Glyphs = UNICODE) -> Text:
    if change is None or change == 0:
        return Text("")
    arrow, colour = (g.up, "green") if change > 0 else (g.down, "red")
    return Text(f"{arrow}{money(abs(change), quote)}", style=colour)


def _status_cell(report: ConnectionReport) -> Text:
    text = Text(status_text(report), style=style(report.status))
    if report.unpriced:
        text.append(f"\nunpriced: {', '.join(report.unpriced)}", style="yellow")
    return text


def notes(account: AccountReport, g: Glyphs = UNICODE) -> Text | None:
    """One line per connection with something to explain (why it failed, what is stale).

    Printed under the table at full width, so a long reason is never squeezed into a cell.
    """
    text = Text()
    for report in account.connections:
        if report.error and report.status is not Status.DISABLED:  # the heading says disabled
            if text:
                text.append("\n")
            text.append(
                f"{marker(report.status, g)} {report.connection.upper()}: ",
                style=style(report.status),
            )
            text.append(report.error, style="dim")
    return text or None


def counted_words(account: AccountReport) -> str | None:
    """What an account's total covers, when that is not simply every connection:
    `0 of 1 connections counted`, `not in totals` (disabled); None when all are counted."""
    if not account.enabled:
        return "not in totals"
    counted = sum(1 for c in account.connections if c.counted)
    if counted == len(account.connections):
        return None
    return f"{counted} of {len(account.connections)} connections counted"


def total_text(account: AccountReport, quote: str, g: Glyphs = UNICODE) -> str:
    """An account's total, or `—` when nothing in it is counted (never a made-up `$0.00`)."""
    if account.enabled and any(c.counted for c in account.connections):
        return money(account.total, quote)
    return g.none


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


def column_names(with_change: bool) -> list[str]:
    return ["", "connection", "exchange", "balance", *(["change"] if with_change else []), "status"]


def _text_width(text: Text) -> int:
    return max((cell_len(line) for line in text.plain.split("\n")), default=0)


def _indent(renderable: RenderableType, spaces: int) -> RenderableType:
    from rich.padding import Padding

    return Padding(renderable, (0, 0, 0, spaces), expand=False)


def coverage_line(portfolio: Portfolio, g: Glyphs = UNICODE) -> Text | None:
    """`⚠ Totals cover 4 of 5 connections; not counted: bob/kraken (auth_failed)` or None."""
    summary = portfolio.summary
    stale = [c for c in portfolio.connections if c.status is Status.STALE]
    if summary.complete and not stale:
        return None
    text = Text()
    if not summary.complete:
        missing = [
            c for a in portfolio.accounts if a.enabled for c in a.connections if not c.counted
        ]
        listed = ", ".join(f"{c.key} ({c.status.value})" for c in missing[:6])
        more = f" and {len(missing) - 6} more" if len(missing) > 6 else ""
        text.append(
            f"{g.warn} Totals cover {summary.connections_counted} of {summary.connections_total} "
            f"connections; not counted: {listed}{more}",
            style="yellow",
        )
    if stale:
        if text:
            text.append("\n")
        listed = ", ".join(c.key for c in stale[:6])
        more = f" and {len(stale) - 6} more" if len(stale) > 6 else ""
        text.append(
            f"{g.warn} Stale values counted (last good value kept after a failed fetch): "
            f"{listed}{more}",
            style="yellow",
        )
    return text


NOT_SELECTED = "not selected"
NO_PLATFORM = "no platform account configured"


def platform_absence(
    full: Config, shown: Config, user: str | None, broker: str | None
) -> str | None:
    """Why the report has no platform figure although the config has a platform account:
    `--user` leaves the platform out, `--broker` may match none of its connections."""
    if not full.platform.connections:
        return None  # nothing configured: the report says so by itself
    if user is not None:
        return NOT_SELECTED
    if not shown.platform.connections:
        return f"{NOT_SELECTED} (no platform connection matches --broker {broker})"
    return None


@dataclass(frozen=True)
class Figures:
    """The summary's figures as shown: money when known, else the words saying why not
    (`short`: the one-word form of the live view's summary line)."""

    platform: str
    platform_short: str
    capital: str
    average: str
    short: str  # capital and average, short, when unknown


def figures(portfolio: Portfolio, platform_note: str | None = None, g: Glyphs = UNICODE) -> Figures:
    """`platform_note`: why the platform is not in this report (e.g. `not selected`); None
    when it is (an empty platform then means none is configured)."""
    s, quote = portfolio.summary, portfolio.quote
    platform = portfolio.platform
    if platform_note is not None:
        plat, plat_short = platform_note, NOT_SELECTED
    elif not platform.connections:
        plat, plat_short = NO_PLATFORM, "none"
    elif not any(c.counted for c in platform.connections):
        plat = f"{g.none} (0 of {len(platform.connections)} platform connections counted)"
        plat_short = g.none
    else:
        plat = plat_short = money(s.platform_total, quote)
    enabled = [u for u in portfolio.users if u.enabled]
    user_connections = [c for u in enabled for c in u.connections]
    if not portfolio.users:
        capital = average = "no user accounts configured"
        short = "none"
    elif not enabled:
        capital = average = "no enabled user accounts"
        short = "none"
    elif not any(c.counted for c in user_connections):
        capital = average = f"{g.none} (0 of {len(user_connections)} user connections counted)"
        short = g.none
    else:
        capital, average = money(s.total_user_capital, quote), money(s.average_per_user, quote)
        short = ""
    return Figures(plat, plat_short, capital, average, short)


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


def report(
    portfolio: Portfolio,
    *,
    show_platform: bool = True,
    changes: Mapping[str, Decimal] | None = None,
    width: int | None = None,
    title: str = TITLE,
    platform_note: str | None = None,
    fold_after: int | None = None,
) -> Report:
    """The whole report as one renderable (status on every row), `width` wide (None: the
    width it is rendered at).

    `platform_note` says why the platform is left out (`not selected`): the summary shows it
    instead of a platform total. Without `show_platform` it is `not selected`.
    `fold_after`: the users after this many of their connections are folded into one line
    saying how many and how to see them all (the summary still counts every one).
    """
    if not show_platform and platform_note is None:
        platform_note = NOT_SELECTED
    return Report(portfolio, show_platform, changes, width, title, platform_note, fold_after)


def shown_users(
    users: tuple[AccountReport, ...], fold_after: int | None
) -> tuple[tuple[AccountReport, ...], str | None]:
    """The users listed in full and the line standing for the others (None: none folded)."""
    if fold_after is None:
        return users, None
    rows, shown = 0, 0
    for user in users:
        if rows + max(1, len(user.connections)) > fold_after and shown:
            break
        rows += max(1, len(user.connections))
        shown += 1
    if shown == len(users):
        return users, None
    rest = users[shown:]
    count = sum(len(u.connections) for u in rest)
    return users[:shown], (
        f"{len(rest):,} more users ({count:,} connections) not listed here, all counted in "
        "the summary: `nija show | less` lists every one, `nija show --json` too"
    )


def report_text(portfolio: Portfolio, width: int = 100) -> str:
    """The report as plain text, lines without trailing blanks (the API, the monitor's log)."""
    import io

    console = Console(width=width, no_color=True, record=True, file=io.StringIO(), emoji=False)
    console.print(report(portfolio))
    lines = console.export_text(styles=False).splitlines()
    return "\n".join(line.rstrip() for line in lines) + "\n"


@dataclass(frozen=True)
class Report:
    """The report of `report()`, laid out for the width it is rendered at."""

    portfolio: Portfolio
    show_platform: bool
    changes: Mapping[str, Decimal] | None
    width: int | None
    title: str
    platform_note: str | None
    fold_after: int | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width if self.width is None else min(self.width, options.max_width)
        yield Group(*self.parts(width, glyphs(options))[0])

    def fits(self, width: int, g: Glyphs = UNICODE) -> bool:
        """Whether every table fits `width` with its figures whole."""
        return self.parts(width, g)[1]

    def parts(self, width: int, g: Glyphs = UNICODE) -> tuple[list[RenderableType], bool]:
        portfolio, changes, quote = self.portfolio, self.changes, self.portfolio.quote
        light = rule(LIGHT, width)
        detail = f"{when(portfolio.generated_at)}    Basis: {portfolio.basis} ({quote})"
        parts: list[RenderableType] = [
            *heading(self.title, detail, width, demo=portfolio.demo, g=g)
        ]
        fits = True
        if self.show_platform:
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
                why = (self.platform_note or NO_PLATFORM).capitalize()
                parts.append(_indent(Text(f"{why}.", style="dim"), 3))
            if (platform_notes := notes(platform, g)) is not None:
                parts.append(_indent(platform_notes, 3))
        parts += [Text(""), Text(f"{g.platform}USER ACCOUNTS", style="bold"), light]
        if not portfolio.users:
            parts.append(_indent(Text("No user accounts configured.", style="dim"), 3))
        users, folded = shown_users(portfolio.users, self.fold_after)
        for user in users:
            title = f"{g.user}User: {user.id}"
            if user.name != user.id:
                title += f" ({safe_text(user.name)})"
            if not user.enabled:
                title += f"{g.dash}disabled, not in totals"
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
        parts.append(_indent(summary_table(portfolio, self.platform_note, g), 3))
        coverage = coverage_line(portfolio, g)
        if coverage is not None:
            parts.append(_indent(coverage, 3))
        parts.append(heavy)
        return parts, fits
