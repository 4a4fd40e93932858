"""Server-side SVG charts: a card's sparkline and a user's equity chart. Pure functions.

Numbers only reach the markup as coordinates; the one piece of text (the chart's label) is
escaped here. A bucket with no value is skipped (the line joins its neighbours at their
times), never drawn as zero; a bucket that lacks one of the account's connections is marked
as incomplete on the chart. Styling comes from the stylesheet (classes),
as the page's policy allows no inline style.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from html import escape

from markupsafe import Markup

from nija_balances.domain.series import Point
from nija_balances.render.markers import money


def _scale(values: Sequence[Decimal | None], top: float, bottom: float) -> list[float | None]:
    """Each value's y between `top` (highest) and `bottom` (lowest); a flat series sits in the
    middle."""
    known = [v for v in values if v is not None]
    if not known:
        return [None] * len(values)
    low, high = min(known), max(known)
    span = high - low
    middle = (top + bottom) / 2
    return [
        None
        if v is None
        else middle
        if span == 0
        else bottom - float((v - low) / span) * (bottom - top)
        for v in values
    ]


def _runs(xs: Sequence[float], ys: Sequence[float | None]) -> list[list[tuple[float, float]]]:
    """The known points, at their times, as one line: a bucket without a snapshot (the
    dashboard was not running) is skipped, not drawn as a drop to zero."""
    known = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
    return [known] if known else []


def _path(runs: list[list[tuple[float, float]]], css: str) -> str:
    parts = []
    for run in runs:
        if len(run) == 1:
            x, y = run[0]
            parts.append(f'<circle class="{css}-dot" cx="{x:.1f}" cy="{y:.1f}" r="1.8"/>')
        else:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            parts.append(
                f'<polyline class="{css}" points="{points}" vector-effect="non-scaling-stroke"/>'
            )
    return "".join(parts)


def sparkline_svg(
    points: Sequence[Point], label: str, width: int = 200, height: int = 36
) -> Markup:
    """A small line of the account's equity over `points`, stretched to its box; empty
    (with a note) when no point is known."""
    values = [p.equity for p in points]
    title = escape(label)
    if not any(v is not None for v in values):
        return Markup(
            f'<span class="spark-none">no history yet</span><span class="sr-only">{title}</span>'
        )
    n = len(values)
    xs = [width / 2] if n == 1 else [i * width / (n - 1) for i in range(n)]
    ys = _scale(values, 3, height - 3)
    body = _path(_runs(xs, ys), "spark-line")
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        f'role="img" aria-label="{title}"><title>{title}</title>{body}</svg>'
    )


def equity_chart_svg(points: Sequence[Point], quote: str, label: str) -> Markup:
    """A line chart of equity per bucket with its range and dates; incomplete buckets are
    hollow dots."""
    width, height = 640, 220
    left, right, top, bottom = 8, 8, 22, height - 24
    values = [p.equity for p in points]
    known = [v for v in values if v is not None]
    title = escape(label)
    if not known:
        return Markup('<p class="chart-none">No snapshots in this period yet.</p>')
    n = len(points)
    span = width - left - right
    xs = [left + span / 2] if n == 1 else [left + i * span / (n - 1) for i in range(n)]
    ys = _scale(values, top, bottom)
    body = [_path(_runs(xs, ys), "chart-line")]
    for x, y, p in zip(xs, ys, points, strict=True):
        if y is not None and not p.complete:
            body.append(f'<circle class="chart-incomplete" cx="{x:.1f}" cy="{y:.1f}" r="3"/>')
    high, low = escape(money(max(known), quote)), escape(money(min(known), quote))
    first, last = _day(points[0].time), _day(points[-1].time)
    body.append(
        f'<text class="chart-label" x="{left}" y="14">high {high}</text>'
        f'<text class="chart-label" x="{left}" y="{height - 6}">low {low} · {first}</text>'
        f'<text class="chart-label" x="{width - right}" y="{height - 6}" text-anchor="end">'
        f"{last}</text>"
    )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{title}">'
        f"<title>{title}</title>{''.join(body)}</svg>"
    )


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
