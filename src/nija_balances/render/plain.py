"""The balance report as plain lines, without Rich: for output that carries no styles.

Where stdout is a pipe or a file (or a dumb terminal) Rich prints no styles, so the report
is plain text; laying out thousands of rows through Rich costs ~1.5 ms each. `PlainReport`
is the same report as data (lines, rules and account tables, every cell as its text),
and `render` lays it out exactly as Rich does (`tests/test_plain_render.py` compares them).
When it cannot be sure of that (a line or a cell that would wrap, fold or be cut; a
character whose width it does not know) it returns None and Rich renders the report.

The data is built of lists, strings and numbers only, so that `cli/replay.py` can keep it
and render it again later with the ages and the time of the report brought up to date.
This module imports neither Rich nor the domain models.
"""

from __future__ import annotations

import time
from typing import Any

#: Characters outside ASCII whose width is known: the report's glyphs (two cells for the
#: emoji) and Latin-1 letters and signs (one cell each).
WIDE = frozenset("🔷👤")
NARROW = frozenset("✔●⚠○–✖—▲▼·…─") | frozenset(map(chr, range(0xA1, 0x100))) - {"\xad"}
COLUMN_GAP = 3  # a space of padding, the box's space, a space of padding
FOOT_RULE = "─"  # the line above an account table's total (`rich.box.SIMPLE`)

# A block of the report: (kind, indent, ...) with kind one of
#   "text": (indent, text)                   a line (or lines) that must fit the width
#   "rule": (indent, char)                   `char` from the indent to the full width
#   "when": (indent, suffix)                 `Generated: <the time of the report><suffix>`
#   "table": (indent, table)                 an account table (see `table_lines`)
Block = list[Any]


def age(seconds: float | None) -> str:
    """`8s`, `3m`, `2h05m`, `3d`: short, for narrow tables."""
    if seconds is None:
        return ""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d"


def generated_line(moment: float) -> str:
    """`Generated: 2026-01-21 16:00:00`, in local time (`moment`: seconds since the epoch)."""
    return "Generated: " + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(moment))


def width_of(text: str) -> int | None:
    """Cells `text` takes on a terminal; None when a character's width is not known here."""
    if text.isascii():
        return len(text) if text.isprintable() else None
    cells = 0
    for char in text:
        if char in WIDE:
            cells += 2
        elif char in NARROW or (char.isascii() and char.isprintable()):
            cells += 1
        else:
            return None
    return cells


def status_cell(cell: str | list[Any], now: float) -> str:
    """A status cell: its text, or `[word, age_s, at, rest]`: the word and the age it had at
    `at`, brought up to `now` (`cached 42s`), then `rest` (more lines)."""
    if isinstance(cell, str):
        return cell
    word, age_s, at, rest = cell
    return f"{word} {age(max(0.0, age_s + (now - at)))}{rest}"


def render(blocks: list[Block], width: int, now: float) -> list[str] | None:
    """The report's lines at `width`, as Rich prints them without styles and without
    trailing spaces; None when only Rich can lay it out."""
    each = render_blocks(blocks, width, now)
    return None if each is None else [line for lines in each for line in lines]


def render_blocks(blocks: list[Block], width: int, now: float) -> list[list[str]] | None:
    """`render`, the lines of each block apart."""
    out: list[list[str]] = []
    for block in blocks:
        kind, indent = block[0], block[1]
        room = width - indent
        if kind == "rule":
            out.append([" " * indent + block[2] * max(0, room)])
        elif kind in ("text", "when"):
            text = generated_line(now) + block[2] if kind == "when" else block[2]
            lines: list[str] = []
            for line in text.split("\n"):
                cells = width_of(line)
                wrapped = [line] if cells is not None and cells <= room else wrap(line, room)
                if wrapped is None:
                    return None
                lines += indented(wrapped, indent)
            out.append(lines)
        else:
            table = table_lines(block[2], room, now)
            if table is None:
                return None
            out.append(indented(table, indent))
    return out


def indented(lines: list[str], indent: int) -> list[str]:
    """`lines` after `indent` spaces, without trailing spaces."""
    return [(" " * indent + line).rstrip() for line in lines]


def wrap(line: str, room: int) -> list[str] | None:
    """`line` broken between words as Rich breaks it to fit `room` cells; None when a word
    is longer than `room` (Rich folds it) or a width is unknown."""
    import re

    breaks, offset = [], 0
    for match in re.finditer(r"\s*\S+\s*", line):
        start, word = match.start(), match.group()
        needed, taken = width_of(word.rstrip()), width_of(word)
        if needed is None or taken is None or needed > room:
            return None
        if room - offset >= needed:
            offset += taken
        elif offset and start:
            breaks.append(start)
            offset = taken
    ends = [*breaks, len(line)]
    return [line[a:b] for a, b in zip([0, *breaks], ends, strict=True)]


def table_lines(table: dict[str, Any], width: int, now: float) -> list[str] | None:
    """An account table: rows of cells (the last one a status cell), a rule, the footer.

    `table`: `rows` and `footer` (lists of cells), `right` (the columns justified right) and
    `columns(widest)`'s inputs, laid out by `layout` as `render.table` lays out Rich's.
    """
    rows = [[*r[:-1], status_cell(r[-1], now)] for r in table["rows"]]
    footer = table["footer"]
    every = [*rows, footer]
    widest = []
    for i in range(len(footer)):
        best = 0
        for cells in every:
            for line in cells[i].split("\n"):
                w = width_of(line)
                if w is None:
                    return None
                best = max(best, w)
        widest.append(best)
    from nija_balances.render.layout import account_columns, fit_columns

    least_status = max((width_of(r[-1].split("\n")[0]) or 0 for r in rows), default=0)
    columns = account_columns(widest, least_status, table["with_change"])
    widths, fits = fit_columns(columns, width, gap=COLUMN_GAP)
    if not fits or any(w < c for w, c in zip(widths, widest, strict=True)):
        return None  # a cell would be cut or folded: Rich's job
    right = set(table["right"])
    last = len(widths) - 1

    def row_lines(cells: list[str]) -> list[str]:
        split = [c.split("\n") for c in cells]
        height = max(len(s) for s in split)
        lines = []
        for k in range(height):
            parts = []
            for i, w in enumerate(widths):
                text = split[i][k] if k < len(split[i]) else ""
                pad = " " * (w - (width_of(text) or 0))
                text = pad + text if i in right else text + pad
                parts.append(text if i == last else text + " ")
            lines.append("  ".join(parts))
        return lines

    out = [ln for cells in rows for ln in row_lines(cells)]
    out.append(FOOT_RULE * (sum(widths) + COLUMN_GAP * last))
    out += row_lines(footer)
    return out
