"""A line chart of an account's equity for the terminal (`nija history --chart`).

Each column is one point (resampled to the width), drawn on a grid of rows with the money
scale on the left and the first and last times under it. An unknown point leaves its
column empty; nothing is drawn as zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from nija_balances.domain.series import Point
from nija_balances.render.markers import glyphs, money

HEIGHT = 8


def _resample(values: Sequence[Decimal | None], width: int) -> list[Decimal | None]:
    """`width` values: fewer points are spread over the width (joined by straight lines where
    both ends are known), more are cut into slices, each the last known value of its slice."""
    if len(values) < 2:
        return list(values)
    if len(values) <= width:
        spread: list[Decimal | None] = []
        steps = len(values) - 1
        for column in range(width):
            left, rest = divmod(column * steps, width - 1)
            a, b = values[left], values[min(left + 1, steps)]
            if rest == 0:
                spread.append(a)
            elif a is None or b is None:
                spread.append(None)
            else:
                spread.append(a + (b - a) * rest / (width - 1))
        return spread
    out: list[Decimal | None] = []
    for i in range(width):
        part = values[i * len(values) // width : (i + 1) * len(values) // width]
        known = [v for v in part if v is not None]
        out.append(known[-1] if known else None)
    return out


def chart_rows(values: Sequence[Decimal | None], height: int) -> list[list[int]]:
    """Per row (top first) the columns it marks: the row of each value and, between two
    neighbours, the rows that join them. Rows are 0 (bottom) .. height-1 (top)."""
    known = [v for v in values if v is not None]
    if not known:
        return [[] for _ in range(height)]
    low, high = min(known), max(known)
    spread = high - low

    def level(v: Decimal) -> int:
        if spread == 0:
            return height // 2
        return int((v - low) / spread * (height - 1) + Decimal("0.5"))

    marks: list[set[int]] = [set() for _ in range(height)]
    previous: int | None = None
    for column, value in enumerate(values):
        if value is None:
            previous = None
            continue
        row = level(value)
        lo, hi = (row, row) if previous is None else (min(row, previous), max(row, previous))
        for r in range(lo, hi + 1):
            marks[r].add(column)
        previous = row
    return [sorted(marks[r]) for r in reversed(range(height))]


class EquityChart:
    """One account's equity points as a line chart, titled with the account's name."""

    def __init__(self, title: str, points: Sequence[Point], quote: str) -> None:
        self.title, self.points, self.quote = title, points, quote

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        g = glyphs(options)
        yield Text(self.title, style="bold")
        known = [p.equity for p in self.points if p.equity is not None]
        if not known:
            yield Text(f"  {g.none} no snapshots in this span")
            return
        labels = [money(max(known), self.quote), money(min(known), self.quote)]
        margin = max(len(label) for label in labels) + 1
        width = max(options.max_width - margin - 1, 10)
        values = _resample([p.equity for p in self.points], width)
        dot = "*" if g.none == "-" else "•"
        for index, columns in enumerate(chart_rows(values, HEIGHT)):
            label = labels[0] if index == 0 else labels[1] if index == HEIGHT - 1 else ""
            line = [" "] * len(values)
            for column in columns:
                line[column] = dot
            yield Text(f"{label:>{margin - 1}} |" + "".join(line).rstrip(), style="")
        first, last = self.points[0].time, self.points[-1].time
        start, end = first.strftime("%Y-%m-%d %H:%M"), last.strftime("%Y-%m-%d %H:%M")
        end += " UTC"
        gap = max(len(values) - len(start) - len(end), 1)
        yield Text(" " * (margin + 1) + start + " " * gap + end, style="dim")
