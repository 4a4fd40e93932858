"""Column widths of the text reports' tables (no Rich here: the plain renderer uses it too).

`fit_columns` gives each column of a table a width so that the table fits; the figures
(markers, balances, changes, status words) are never the ones cut.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """How wide a column wants to be (`natural`), how wide its widest cell is (`content`),
    and how narrow it may get (`least`): below `content` its cells are cut or folded.
    Columns are narrowed in `step` order: first down to `content` (only padding goes),
    then step by step down to `least`."""

    natural: int
    content: int
    least: int
    step: int = 0  # 0: never below `content`


def fit_columns(columns: Iterable[Column], width: int, gap: int) -> tuple[list[int], bool]:
    """Widths for `columns` (separated by `gap` characters) within `width`, and whether they
    fit. Padding goes first, then the columns of step 1, 2, ... down to their `least`."""
    cols = list(columns)
    widths = [c.natural for c in cols]
    room = width - gap * max(0, len(cols) - 1)

    def excess() -> int:
        return sum(widths) - room

    for i, c in enumerate(cols):  # padding only: nothing is lost
        if excess() <= 0:
            return widths, True
        widths[i] -= min(excess(), widths[i] - c.content)
    for step in sorted({c.step for c in cols if c.step}):
        group = [i for i, c in enumerate(cols) if c.step == step]
        while excess() > 0:  # narrow the widest of this step first, one column at a time
            i = max(group, key=lambda j: widths[j] - cols[j].least)
            if widths[i] <= cols[i].least:
                break
            widths[i] -= 1
    return widths, excess() <= 0


def account_columns(widest: Sequence[int], status_least: int, with_change: bool) -> list[Column]:
    """The columns of an account table (marker, connection, exchange, balance, [change],
    status) from the widest cell of each (`status_least`: the widest status word)."""
    status = min(STATUS_MAX, widest[-1])
    return [
        Column(1, 1, 1),
        Column(max(16, widest[1]), widest[1], min(widest[1], 8), step=2),
        Column(max(9, widest[2]), widest[2], min(widest[2], 6), step=2),
        Column(max(14, widest[3]), widest[3], widest[3]),
        *([Column(max(11, widest[4]), widest[4], widest[4])] if with_change else []),
        Column(status, status, min(status, status_least), step=1),
    ]


STATUS_MAX = 38  # a longer status cell (a list of unpriced assets) folds
