"""What every text report shares: its width, its header and rules, its columns, no trailing
spaces.

- Width: on a terminal, the terminal's width kept between 60 and 120 columns (narrower
  wraps every line, wider is hard to read); in a pipe, `COLUMNS` if set, else 100, within the
  same bounds, so `nija show | less` or a diff of two runs is the same every time.
- Header: `show`, `user` and `status` open with the same block (a heavy rule, the title, a
  heavy rule, when it was generated, a heavy rule) and end with a heavy rule.
- Columns: `layout.fit_columns` gives each column of a table a width so that the table
  fits; the figures (markers, balances, changes, status words) are never the ones cut.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING

from nija_balances.render.markers import UNICODE, Glyphs
from nija_balances.render.plain import Block, generated_line, render_blocks

if TYPE_CHECKING:  # Rich is imported where it prints: a plain report never needs it
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.segment import Segment
    from rich.text import Text


MIN_WIDTH = 60
MAX_WIDTH = 120
PIPE_WIDTH = 100
HEAVY, LIGHT = "=", "-"
DEMO = "DEMO (simulated accounts)"  # after the title of a report of the built-in demo


def clamp_width(width: int) -> int:
    return max(MIN_WIDTH, min(MAX_WIDTH, width))


def output_width(console: Console, environ: Mapping[str, str] | None = None) -> int:
    """The width a report is printed at on `console` (see the module's docstring)."""
    if console.is_terminal:
        return clamp_width(console.width)  # Rich reads COLUMNS first, then the terminal
    return pipe_width(environ)


def pipe_width(environ: Mapping[str, str] | None = None) -> int:
    """The width a report is printed at where the output is not a terminal."""
    columns = (os.environ if environ is None else environ).get("COLUMNS", "")
    return clamp_width(int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH)


def is_terminal(stream: object, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a Rich console on `stream` would be a terminal, decided without importing
    Rich (~40 ms): Rich's own test, `TTY_COMPATIBLE` (0 or 1) first, then `FORCE_COLOR` (set:
    a terminal unless empty), then whether the stream is a tty."""
    env = os.environ if environ is None else environ
    tty_compatible = env.get("TTY_COMPATIBLE", "")
    if tty_compatible in ("0", "1"):
        return tty_compatible == "1"
    if (force_color := env.get("FORCE_COLOR")) is not None:
        return force_color != ""
    try:
        return bool(getattr(stream, "isatty", lambda: False)())
    except ValueError:  # closed: no terminal, as Rich says
        return False


def piped_plain(stream: object, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a report's plain form may be printed on `stream` without Rich: not a
    terminal, and a UTF encoding (what `plain_console` says of a console on it)."""
    if is_terminal(stream, environ):
        return False
    encoding = getattr(stream, "encoding", "utf-8") or "utf-8"
    return str(encoding).lower().startswith("utf")


def write_plain(
    stream: IO[str], plain: Callable[[], tuple[list[Block], float]] | None, width: int
) -> list[list[str]] | None:
    """Print a report's plain form (its blocks and time, see `plain_report.plain`) `width`
    wide on `stream`; the lines of each block, or None (nothing printed) when it cannot be
    laid out that narrow (or there is no plain form)."""
    each = None if plain is None else laid_out(plain, width)
    if each is not None:
        stream.write("".join(line + "\n" for lines in each for line in lines))
        stream.flush()
    return each


def print_report(
    console: Console,
    renderable: RenderableType,
    plain: Callable[[], tuple[list[Block], float]] | None = None,
) -> list[list[str]] | None:
    """Print a report at its output width, without trailing spaces. Where the output takes
    no styles, a report with a `plain` form is laid out without Rich (`write_plain`): then
    the lines of each block are returned."""
    console.width = output_width(console)
    each = write_plain(console.file, plain, console.width) if plain_console(console) else None
    if each is not None:
        return each
    console.print(Printable(renderable))
    return None


def plain_console(console: Console) -> bool:
    """Whether `console` prints without styles, in a UTF encoding (as `plain` lays out)."""
    return (
        console.color_system is None
        and not console.record
        and not console.is_jupyter
        and console.encoding.lower().startswith("utf")
    )


def plain_blocks(
    console: Console, plain: Callable[[], tuple[list[Block], float]] | None
) -> list[list[str]] | None:
    """The lines of each block of a report's `plain` form as they are laid out for
    `console`; None: Rich's job."""
    if plain is None or not plain_console(console):
        return None
    return laid_out(plain, console.width)


def laid_out(plain: Callable[[], tuple[list[Block], float]], width: int) -> list[list[str]] | None:
    """The lines of each block of a report's plain form, `width` wide (`plain.render_blocks`);
    None when it cannot be laid out that narrow."""
    blocks, moment = plain()
    return render_blocks(blocks, width, moment)


class Printable:
    """`renderable` as it can be printed: the spaces at the end of each line removed
    (tables pad every cell), and what the output's encoding cannot carry replaced (a user's
    name, an exchange's message, Rich's `…`) so that printing never fails. Our own glyphs
    are chosen for the encoding before this (`markers.glyphs`)."""

    def __init__(self, renderable: RenderableType, *, trim: bool = True) -> None:
        self.renderable, self.trim = renderable, trim

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        lines = console.render_lines(self.renderable, options, pad=not self.trim, new_lines=False)
        encoding = options.encoding
        for line in lines:
            for segment in rstrip_segments(line) if self.trim else line:
                yield encodable(segment, encoding)
            yield Segment.line()


def encodable(segment: Segment, encoding: str) -> Segment:
    """`segment` with each character `encoding` cannot carry replaced, cell for cell: `…` by
    `~`, anything else by `?` (a wide character by `??`), so columns stay aligned."""
    if segment.control or encoding.startswith("utf"):
        return segment
    from rich.cells import cell_len
    from rich.segment import Segment

    try:
        segment.text.encode(encoding)
        return segment
    except (UnicodeEncodeError, LookupError):
        pass
    out = []
    for char in segment.text:
        try:
            char.encode(encoding)
            out.append(char)
        except (UnicodeEncodeError, LookupError):
            out.append("~" if char == "…" else "?" * max(1, cell_len(char)))
    return Segment("".join(out), segment.style, segment.control)


def rstrip_segments(line: Sequence[Segment]) -> list[Segment]:
    """The segments of one line without its trailing whitespace (styles kept)."""
    from rich.segment import Segment

    kept = list(line)
    while kept and not kept[-1].control:
        last = kept[-1]
        text = last.text.rstrip()
        if text:
            kept[-1] = Segment(text, last.style, last.control)
            break
        kept.pop()
    return kept


def when(moment: datetime) -> str:
    """`Generated: 2026-01-21 16:00:00`, in local time (`plain.generated_line`)."""
    return generated_line(moment.timestamp())


def heading(
    title: str, detail: str, width: int, *, demo: bool = False, g: Glyphs = UNICODE
) -> list[Text]:
    """The block every report opens with."""
    from rich.text import Text

    heavy = rule(HEAVY, width)
    return [
        heavy,
        Text(title + (f"{g.dash}{DEMO}" if demo else ""), style="bold"),
        heavy,
        Text(detail),
        heavy,
    ]


def rule(char: str, width: int) -> Text:
    from rich.text import Text

    return Text(char * max(0, width))
