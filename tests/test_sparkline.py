"""Sparklines from the model: scaling, gaps, width, the ASCII fallback."""

from __future__ import annotations

from decimal import Decimal

from nija_balances.render.sparkline import ASCII_BLOCKS, BLOCKS, sparkline


def d(*xs: str | None) -> list[Decimal | None]:
    return [None if x is None else Decimal(x) for x in xs]


def test_scaled_from_lowest_to_highest_with_gaps() -> None:
    assert sparkline(d("1", "2", None, "8"), 10) == BLOCKS[0] + BLOCKS[1] + " " + BLOCKS[7]
    assert sparkline(d("1", "2", None, "8"), 10, ascii_only=True) == "_. @"
    assert all(c in ASCII_BLOCKS + " " for c in sparkline(d("3", "1", "2"), 5, ascii_only=True))


def test_flat_empty_and_unknown() -> None:
    assert sparkline(d("5", "5"), 4) == BLOCKS[3] * 2
    assert sparkline([], 4) == "" and sparkline(d("1"), 0) == ""
    assert sparkline(d(None, None), 4) == "  "


def test_a_long_series_fits_its_width_and_ends_with_the_newest_value() -> None:
    values = d(*[str(i) for i in range(100)], "0")
    line = sparkline(values, 20)
    assert len(line) == 20 and line[-1] == BLOCKS[0] and BLOCKS[7] not in line[-1:]
