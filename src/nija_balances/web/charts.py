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
    """A line chart of equity per bucket, stretched to its box, with its range and dates in
    a caption (text in the page, so it stays readable at any width); a bucket missing one of
    the account's connections is a hollow dot."""
    width, height = 600, 200
    values = [p.equity for p in points]
    known = [v for v in values if v is not None]
    title = escape(label)
    if not known:
        return Markup('<p class="chart-none">No snapshots in this period yet.</p>')
    n = len(points)
    xs = [width / 2] if n == 1 else [i * width / (n - 1) for i in range(n)]
    ys = _scale(values, 6, height - 6)
    body = [_path(_runs(xs, ys), "chart-line")]
    dots = " ".join(
        f"M{x:.1f} {y:.1f}h0"
        for x, y, p in zip(xs, ys, points, strict=True)
        if y is not None and not p.complete
    )
    if dots:  # zero-length strokes with round caps: round dots that do not stretch
        body.append(
            f'<path class="chart-incomplete" d="{dots}" vector-effect="non-scaling-stroke"/>'
        )
    high, low = escape(money(max(known), quote)), escape(money(min(known), quote))
    last = next(v for v in reversed(values) if v is not None)
    caption = (
        f"High {high} · low {low} · last {escape(money(last, quote))} · "
        f"{_day(points[0].time)} to {_day(points[-1].time)}"
        + (" · ○ a connection missing in that hour" if dots else "")
    )
    return Markup(
        f'<figure class="chart-fig"><svg class="chart" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="none" role="img" aria-label="{title}"><title>{title}</title>'
        f'{"".join(body)}</svg><figcaption class="chart-caption">{caption}</figcaption></figure>'
    )


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
