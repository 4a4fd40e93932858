"""`nija history`: equity over time per account, as a table with a sparkline, as the JSON
document, or as CSV; all from the `History` model.

JSON (`schema_version` 1): `{"schema_version", "timestamp", "quote", "since", "every_s",
"users": {id: [point...]}, "platform": [point...]}`, each point `{"time", "equity",
"complete"}` (the bucket's start in UTC, money rounded to cents, `null` when no connection
of the account had a snapshot in it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from nija_balances.domain.models import to_cents
from nija_balances.domain.series import Point
from nija_balances.engine.history import History
from nija_balances.render.json_doc import SCHEMA_VERSION, cents, utc_iso
from nija_balances.render.markers import ASCII, glyphs, money
from nija_balances.render.pnl import signed
from nija_balances.render.sparkline import sparkline

TREND_WIDTH = 24


def point_dict(point: Point) -> dict[str, Any]:
    return {
        "time": utc_iso(point.time),
        "equity": None if point.equity is None else cents(point.equity),
        "complete": point.complete,
    }


def history_document(history: History) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "timestamp": utc_iso(history.generated_at),
        "quote": history.quote,
        "since": utc_iso(history.since),
        "every_s": int(history.every.total_seconds()),
        "users": {uid: [point_dict(p) for p in pts] for uid, pts in history.users.items()},
        "platform": [point_dict(p) for p in history.platform],
    }


def _rows(history: History) -> Iterator[tuple[str, tuple[Point, ...]]]:
    yield "platform", history.platform
    yield from history.users.items()


def history_csv(history: History) -> str:
    """`account,time,equity,complete`: one row per point; equity exact to the cent, empty
    when unknown."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["account", "time", "equity", "complete"])
    for account, points in _rows(history):
        for p in points:
            equity = "" if p.equity is None else f"{to_cents(p.equity):f}"
            writer.writerow([account, utc_iso(p.time), equity, str(p.complete).lower()])
    return out.getvalue()


class HistoryTable:
    """One row per account: first and last known equity, the change, a sparkline, and how
    many of its buckets are complete. Glyphs chosen for the output when rendered."""

    def __init__(
        self, history: History, *, daily: Mapping[str, Decimal | None] | None = None
    ) -> None:
        self.history = history
        self.daily = daily

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        g = glyphs(options)
        h = self.history
        every = _span(int(h.every.total_seconds()))
        yield Text(f"Equity since {utc_iso(h.since)} in {every} buckets ({h.quote})", style="bold")
        table = Table(box=g.head, pad_edge=False, show_edge=False, padding=(0, 1, 0, 0))
        names = ["Account", "First", "Last", "Change", "Trend", "Complete"]
        if self.daily is not None:
            names.insert(4, "Today")
        rows: list[tuple[list[str | Text], tuple[Point, ...] | None]] = []
        for account, points in _rows(h):
            if account == "platform" and not points:
                continue
            known = [p.equity for p in points if p.equity is not None]
            today: list[str | Text] = []
            if self.daily is not None:
                today = [signed(self.daily.get(account), h.quote, g)]
            if not known:
                rows.append(([account, g.none, g.none, g.none, *today, "no snapshots"], None))
                continue
            change = known[-1] - known[0]
            sign = g.up if change > 0 else g.down if change < 0 else ""
            complete = sum(p.complete for p in points)
            cells: list[str | Text] = [
                account,
                money(known[0], h.quote),
                money(known[-1], h.quote),
                f"{sign}{money(abs(change), h.quote)}",
                *today,
                f"{complete}/{len(points)}",
            ]
            rows.append((cells, points))
        # The sparkline takes what the other columns leave, up to TREND_WIDTH.
        others = [n for n in names if n != "Trend"]
        widths = [
            max([len(name)] + [_cell_len(cells[i]) for cells, _ in rows])
            for i, name in enumerate(others)
        ]
        room = options.max_width - sum(widths) - 2 * len(names)  # padding and divider
        trend_width = max(6, min(TREND_WIDTH, room))
        for name in names:
            right = name in ("First", "Last", "Change", "Today", "Complete")
            table.add_column(name, justify="right" if right else "left", no_wrap=True)
        at = names.index("Trend")
        for cells, series in rows:
            trend = (
                ""
                if series is None
                else sparkline([p.equity for p in series], trend_width, ascii_only=g is ASCII)
            )
            table.add_row(*cells[:at], trend, *cells[at:])
        yield table


def _cell_len(cell: str | Text) -> int:
    return cell.cell_len if isinstance(cell, Text) else Text(cell).cell_len


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
