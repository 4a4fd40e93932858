"""Sparklines: a row of block characters for a series, gaps where a value is unknown. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

BLOCKS = "▁▂▃▄▅▆▇█"
ASCII_BLOCKS = "_.-=+*#@"  # low to high, for output that cannot carry Unicode
GAP = " "


def sparkline(values: Sequence[Decimal | None], width: int, *, ascii_only: bool = False) -> str:
    """At most `width` characters: the series (its last value per column when longer, so the
    newest one is always shown), scaled between its lowest and highest value; a column with
    no known value is a gap; a flat series sits at the middle."""
    if width <= 0 or not values:
        return ""
    blocks = ASCII_BLOCKS if ascii_only else BLOCKS
    columns = _columns(values, width)
    known = [v for v in columns if v is not None]
    if not known:
        return GAP * len(columns)
    low, high = min(known), max(known)
    top = len(blocks) - 1
    out = []
    for value in columns:
        if value is None:
            out.append(GAP)
        elif high == low:
            out.append(blocks[top // 2])
        else:
            out.append(blocks[int((value - low) * top / (high - low) + Decimal("0.5"))])
    return "".join(out)


def _columns(values: Sequence[Decimal | None], width: int) -> list[Decimal | None]:
    """`values` in `width` columns at most: each column the last known value of its share."""
    n = len(values)
    if n <= width:
        return list(values)
    columns: list[Decimal | None] = []
    for i in range(width):
        part = values[i * n // width : (i + 1) * n // width]
        columns.append(next((v for v in reversed(part) if v is not None), None))
    return columns
