"""The `nija watch` screen: a header with refresh state, then the report with changes.

The full report (the same one `nija show` prints, plus a change column) is used when it
fits the terminal; otherwise a compact one-row-per-connection table, problems first, cut to
the height with a line saying how many rows are not shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from nija_balances.domain.models import ConnectionReport, Portfolio, Status
from nija_balances.render.frame import HEAVY, MAX_WIDTH, rule
from nija_balances.render.markers import marker, shown_balance, status_text, style
from nija_balances.render.table import (
    NOT_SELECTED,
    change_cell,
    coverage_line,
    figures,
    report,
)


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


def header(state: WatchState) -> Text:
    text = Text()
    text.append("nija watch", style="bold")
    if state.last_refresh is not None:
        text.append(f" · refreshed {state.last_refresh.strftime('%H:%M:%S')}")
    if state.refreshing:
        text.append(" · refreshing…", style="cyan")
    else:
        text.append(f" · next in {max(0, int(state.seconds_to_next))}s")
    if state.attempted:
        ok = state.answered == state.attempted
        text.append(f" · {state.answered}/{state.attempted} answered", style="" if ok else "yellow")
    text.append(" · q quits", style="dim")
    if state.message:
        text.append(f"\n{state.message}", style="yellow")
    return text


def _problem_rank(c: ConnectionReport) -> int:
    return 0 if not c.status.healthy and c.status is not Status.DISABLED else 1


def compact(
    portfolio: Portfolio,
    changes: Mapping[str, Decimal],
    max_rows: int,
    platform_note: str | None = None,
) -> RenderableType:
    """One table, one row per connection, problems first, cut to `max_rows`."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1))
    table.add_column("", width=1)
    table.add_column("account/connection", overflow="ellipsis", no_wrap=True, max_width=28)
    table.add_column("balance", justify="right")
    table.add_column("change", justify="right")
    table.add_column("status", overflow="ellipsis", no_wrap=True)
    rows = sorted(portfolio.connections, key=_problem_rank)
    shown = rows[: max(1, max_rows)]
    for c in shown:
        table.add_row(
            Text(marker(c.status), style=style(c.status)),
            c.key,
            shown_balance(c, portfolio.quote),
            change_cell(changes.get(c.key), portfolio.quote),
            Text(status_text(c) + (f" · {c.error}" if c.error else ""), style=style(c.status)),
        )
    s = portfolio.summary
    parts: list[RenderableType] = [table]
    if len(rows) > len(shown):
        hidden = len(rows) - len(shown)
        noun = "connection" if hidden == 1 else "connections"
        parts.append(Text(f"… {hidden} more {noun} not shown", style="dim"))
    fig = figures(portfolio, platform_note)
    parts.append(
        Text(
            f"Platform {fig.platform_short} · "
            f"Users {s.user_count}: {fig.short or fig.capital} · "
            f"avg {fig.short or fig.average} · "
            f"{s.connections_counted}/{s.connections_total} counted",
            style="bold",
        )
    )
    return Group(*parts)


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
        top = header(self.state)
        yield top
        if self.portfolio is None:
            yield Text("Fetching balances…", style="cyan")
            return
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
        if full.fits(width):
            lines = console.render_lines(full, options.update(height=None), pad=False)
            if len(lines) <= room:
                yield full
                return
        yield rule(HEAVY, width)
        room -= 1
        coverage = coverage_line(self.portfolio)
        extra = 0 if coverage is None else 2
        # header row + rule + summary line + "more" line + coverage
        note = self.platform_note or (None if self.show_platform else NOT_SELECTED)
        yield compact(self.portfolio, self.changes, room - 5 - extra, note)
        if coverage is not None:
            yield coverage
