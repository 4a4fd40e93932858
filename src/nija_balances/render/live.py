"""The `nija watch` screen: a header with refresh state, then the report with changes.

The full report (the same one `nija show` prints, plus a change column) is used when it
fits the terminal; otherwise a compact one-row-per-connection table, problems first, cut to
the height with a line saying how many rows are not shown. Either way every row keeps its
marker, balance, change and status word: the reasons (long error messages) go under the
table, wrapped in the full report, one line each and cut to the width in the compact one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from nija_balances.domain.models import ConnectionReport, Portfolio, Status
from nija_balances.render.detail import fitted_table, widest_cell
from nija_balances.render.frame import HEAVY, MAX_WIDTH, Printable, rule
from nija_balances.render.layout import Column
from nija_balances.render.markers import (
    UNICODE,
    Glyphs,
    glyphs,
    marker,
    shown_balance,
    status_text,
    style,
)
from nija_balances.render.report import NOT_SELECTED, figures
from nija_balances.render.table import change_cell, coverage_line, report


@dataclass(frozen=True)
class WatchState:
    """What the header shows besides the portfolio."""

    interval: float
    last_refresh: datetime | None
    seconds_to_next: float
    refreshing: bool
    answered: int  # connections fetched ok in the last refresh
    attempted: int  # connections fetched in the last refresh
    message: str | None = None  # e.g. the last refresh's failure


def changes_between(previous: Portfolio | None, current: Portfolio) -> dict[str, Decimal]:
    """Per connection key, how much its counted balance moved since the previous refresh."""
    if previous is None:
        return {}
    before = {c.key: c.balance for c in previous.connections if c.counted}
    return {
        c.key: c.balance - before[c.key]
        for c in current.connections
        if c.counted and c.key in before and c.balance != before[c.key]
    }


def header(state: WatchState, g: Glyphs = UNICODE) -> Text:
    text = Text()
    text.append("nija watch", style="bold")
    if state.last_refresh is not None:
        text.append(f"{g.sep}refreshed {state.last_refresh.strftime('%H:%M:%S')}")
    if state.refreshing:
        text.append(f"{g.sep}refreshing{g.ellipsis}", style="cyan")
    else:
        text.append(f"{g.sep}next in {max(0, int(state.seconds_to_next))}s")
    if state.attempted:
        ok = state.answered == state.attempted
        answered = f"{g.sep}{state.answered}/{state.attempted} answered"
        text.append(answered, style="" if ok else "yellow")
    text.append(f"{g.sep}q quits", style="dim")
    if state.message:
        text.append(f"\n{state.message}", style="yellow")
    return text


def _problem_rank(c: ConnectionReport) -> int:
    return 0 if not c.status.healthy and c.status is not Status.DISABLED else 1


def compact(
    portfolio: Portfolio,
    changes: Mapping[str, Decimal],
    width: int,
    room: int,
    measure: Callable[[RenderableType], int],
    platform_note: str | None = None,
    g: Glyphs = UNICODE,
) -> Group:
    """The portfolio in `room` lines of `width` columns: one row per connection (problems
    first) with its marker, balance, change and status word, always whole; under the table
    the reasons, one line each, cut to the width; then the summary. When the rows and
    reasons do not all fit, rows come first (a quarter of the lines stay for reasons) and a
    line says how many of each are not shown. `measure` says how many lines a renderable
    takes at `width`."""
    quote = portfolio.quote
    rows = sorted(portfolio.connections, key=_problem_rank)
    s = portfolio.summary
    fig = figures(portfolio, platform_note, g)
    summary = Text(
        f"Platform {fig.platform_short}{g.sep}"
        f"Users {s.user_count}: {fig.short or fig.capital}{g.sep}"
        f"avg {fig.short or fig.average}{g.sep}"
        f"{s.connections_counted}/{s.connections_total} counted",
        style="bold",
    )
    coverage = coverage_line(portfolio, g)
    tail: list[RenderableType] = [rule(HEAVY, width), summary]
    if coverage is not None:  # one line each: the rows and reasons say the rest
        coverage.no_wrap, coverage.overflow = True, "ellipsis"
        tail.append(coverage)
    # the rule on top, the table's header and its line, and the tail
    free = room - 3 - sum(measure(part) for part in tail)
    explained = {c.key for c in rows if c.error and c.status is not Status.DISABLED}
    if len(rows) + len(explained) <= free:
        shown = rows
    else:
        free -= 1  # for the line saying what is not shown
        if len(rows) < free:  # every row, and some of the reasons
            shown = rows
        else:  # rows first; a quarter of the lines (at least one) for their reasons
            keep = min(len(explained), max(1, free // 4))
            first = [c for c in rows[: max(1, free - keep)] if c.key in explained][:keep]
            shown = rows[: max(1, free - len(first))]
    with_reason = [c for c in shown if c.key in explained]
    reasons = with_reason[: max(0, free - len(shown))]
    parts: list[RenderableType] = [
        rule(HEAVY, width),
        _rows_table(shown, changes, quote, width, g),
    ]
    for c in reasons:
        note = Text(no_wrap=True, overflow="ellipsis")
        note.append(f"{marker(c.status, g)} {c.key}: ", style=style(c.status))
        note.append(" ".join((c.error or "").split()), style="dim")  # one line, cut
        parts.append(note)
    left_out = []
    if (hidden := len(rows) - len(shown)) > 0:
        noun = "connection" if hidden == 1 else "connections"
        left_out.append(f"{g.ellipsis} {hidden} more {noun} not shown")
    if (unsaid := len(with_reason) - len(reasons)) > 0:
        noun = "reason" if unsaid == 1 else "reasons"
        left_out.append(f"{unsaid} more {noun}: nija status")
    if left_out:
        parts.append(Text(g.sep.join(left_out), style="dim", no_wrap=True, overflow="ellipsis"))
    return Group(*parts, *tail)


def _rows_table(
    rows: list[ConnectionReport],
    changes: Mapping[str, Decimal],
    quote: str,
    width: int,
    g: Glyphs,
) -> Table:
    headers = ["", "account/connection", "balance", "change", "status"]
    cells = [
        [
            Text(marker(c.status, g), style=style(c.status)),
            Text(c.key),
            Text(shown_balance(c, quote, g), style="" if c.counted else "dim"),
            change_cell(changes.get(c.key), quote, g),
            Text(status_text(c), style=style(c.status)),
        ]
        for c in rows
    ]
    wide = [widest_cell(headers, cells, i) for i in range(len(headers))]
    columns = [Column(w, w, w) for w in wide]
    columns[1] = Column(wide[1], wide[1], min(wide[1], 10), step=1)  # only the key is cut
    return fitted_table(headers, cells, width, columns, g, right=frozenset({"balance", "change"}))


class WatchView:
    """Renders to whatever size the terminal has at that moment."""

    def __init__(
        self,
        portfolio: Portfolio | None,
        changes: Mapping[str, Decimal],
        state: WatchState,
        show_platform: bool = True,
        platform_note: str | None = None,
    ) -> None:
        self.portfolio = portfolio
        self.changes = changes
        self.state = state
        self.show_platform = show_platform
        # why the platform is not in the view (`not selected`); see `table.report`
        self.platform_note = platform_note

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # what the encoding cannot carry (a name, a message) is replaced, never fatal
        yield Printable(Group(*self.parts(console, options)))

    def parts(self, console: Console, options: ConsoleOptions) -> list[RenderableType]:
        g = glyphs(options)
        top = header(self.state, g)
        if self.portfolio is None:
            return [top, Text(f"Fetching balances{g.ellipsis}", style="cyan")]
        height = options.height or console.size.height
        room = height - len(console.render_lines(top, options.update(height=None), pad=False))
        width = min(options.max_width, MAX_WIDTH)
        full = report(
            self.portfolio,
            show_platform=self.show_platform,
            platform_note=self.platform_note,
            changes=self.changes,
            width=width,
        )
        if full.fits(width, g):
            lines = console.render_lines(full, options.update(height=None), pad=False)
            if len(lines) <= room:
                return [top, full]
        fitted = options.update(width=width, height=None)

        def measure(renderable: RenderableType) -> int:
            return len(console.render_lines(renderable, fitted, pad=False))

        note = self.platform_note or (None if self.show_platform else NOT_SELECTED)
        return [top, compact(self.portfolio, self.changes, width, room, measure, note, g)]
