"""Status markers, the other glyphs, and money/age formatting shared by every text renderer.

Two glyph sets: Unicode, and ASCII for output that cannot encode it (`PYTHONIOENCODING=ascii`,
a C locale without Python's UTF-8 mode). A renderer picks one with `glyphs(options)` when it
is rendered, before it lays anything out, so the columns fit the characters printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from nija_balances.domain.models import ConnectionReport, Status
from nija_balances.render.plain import age

if TYPE_CHECKING:  # Rich only where a table is drawn: plain reports never import it
    from rich.box import Box
    from rich.console import ConsoleOptions

# (marker, style). Markers are plain characters so they read without colour too.
MARKERS: dict[Status, tuple[str, str]] = {
    Status.OK: ("✔", "green"),
    Status.CACHED: ("●", "cyan"),
    Status.STALE: ("⚠", "yellow"),
    Status.NO_CREDENTIALS: ("○", "dim"),
    Status.DISABLED: ("–", "dim"),
    Status.AUTH_FAILED: ("✖", "red"),
    Status.RATE_LIMITED: ("✖", "red"),
    Status.TIMEOUT: ("✖", "red"),
    Status.UNREACHABLE: ("✖", "red"),
    Status.UNSUPPORTED: ("?", "magenta"),
    Status.ERROR: ("✖", "red"),
}
ASCII_MARKERS: dict[Status, str] = {
    Status.OK: "+",
    Status.CACHED: "*",
    Status.STALE: "!",
    Status.NO_CREDENTIALS: "o",
    Status.DISABLED: "-",
    Status.AUTH_FAILED: "x",
    Status.RATE_LIMITED: "x",
    Status.TIMEOUT: "x",
    Status.UNREACHABLE: "x",
    Status.UNSUPPORTED: "?",
    Status.ERROR: "x",
}


@dataclass(frozen=True)
class Glyphs:
    """Every character of the reports that is not plain ASCII, in one place."""

    markers: Mapping[Status, str]
    none: str  # a figure that cannot be known (never `$0.00`)
    up: str  # before a rise, then the amount
    down: str
    sep: str  # between the parts of one line
    ellipsis: str
    platform: str  # before a section's title
    user: str  # before a user's name
    warn: str
    dash: str  # between a title and what qualifies it
    ascii_only: bool = False  # the tables' boxes drawn with `-` rather than `─`

    @property
    def table(self) -> Box:
        """The box of an account table: a line above the total."""
        from rich.box import SIMPLE, Box

        if self.ascii_only:
            return Box("    \n    \n -- \n    \n    \n -- \n    \n    \n", ascii=True)
        return SIMPLE

    @property
    def head(self) -> Box:
        """The box of a table with a header: a line under it."""
        from rich.box import SIMPLE_HEAD, Box

        if self.ascii_only:
            return Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)
        return SIMPLE_HEAD


UNICODE = Glyphs(
    markers={status: glyph for status, (glyph, _) in MARKERS.items()},
    none="—",
    up="▲ ",
    down="▼ ",
    sep=" · ",
    ellipsis="…",
    platform="🔷 ",
    user="👤 ",
    warn="⚠",
    dash=" — ",
)
ASCII = Glyphs(
    markers=ASCII_MARKERS,
    none="-",
    up="+",
    down="-",
    sep=" | ",
    ellipsis="...",
    platform="",
    user="",
    warn="!",
    dash=" - ",
    ascii_only=True,
)


def glyphs(options: ConsoleOptions) -> Glyphs:
    """The glyphs the output can carry: ASCII unless its encoding is a UTF one."""
    return ASCII if options.ascii_only else UNICODE


def marker(status: Status, g: Glyphs = UNICODE) -> str:
    return g.markers[status]


def style(status: Status) -> str:
    return MARKERS[status][1]


def money(amount: Decimal, quote: str = "USD") -> str:
    """`$1,234.56` (or `1,234.56 EUR` for other quotes)."""
    sign = "-" if amount < 0 else ""
    text = f"{abs(amount):,.2f}"
    return f"{sign}${text}" if quote == "USD" else f"{sign}{text} {quote}"


def status_text(report: ConnectionReport) -> str:
    """The status word with the age when the value is not fresh: `cached 42s`, `stale 5m`."""
    if report.status in (Status.CACHED, Status.STALE):
        return f"{report.status.value} {age(report.age_s)}"
    return report.status.value


def shown_balance(report: ConnectionReport, quote: str, g: Glyphs = UNICODE) -> str:
    """The balance, or `—` for a connection that is not counted (never a misleading $0.00)."""
    return money(report.balance, quote) if report.counted else g.none
