"""The balance report as a model: what `nija show`, `nija watch` and the API's text report
print, whichever way it is drawn (`table.py` with Rich, `plain_report.py` as plain lines).

Imports no Rich: a report printed as plain text never loads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from nija_balances.domain.models import AccountReport, Config, Portfolio, Status
from nija_balances.domain.text import safe_text
from nija_balances.render.markers import UNICODE, Glyphs, marker, money, style

TITLE = "NIJA USER ACCOUNT BALANCES"
#: (text, style) pieces of a line, drawn with their styles by Rich or as plain text.
Pieces = list[tuple[str, str]]


def change_words(change: Decimal | None, quote: str, g: Glyphs = UNICODE) -> tuple[str, str]:
    """The change since the previous refresh as shown (`▲ $12.00`) and its colour; empty
    when there is none."""
    if change is None or change == 0:
        return "", ""
    arrow, colour = (g.up, "green") if change > 0 else (g.down, "red")
    return f"{arrow}{money(abs(change), quote)}", colour


def note_pieces(account: AccountReport, g: Glyphs = UNICODE) -> Pieces:
    """One line per connection with something to explain (why it failed, what is stale).

    Printed under the table at full width, so a long reason is never squeezed into a cell.
    """
    pieces: Pieces = []
    for report in account.connections:
        if report.error and report.status is not Status.DISABLED:  # the heading says disabled
            if pieces:
                pieces.append(("\n", ""))
            head = f"{marker(report.status, g)} {report.connection.upper()}: "
            pieces += [(head, style(report.status)), (report.error, "dim")]
    return pieces


def coverage_pieces(portfolio: Portfolio, g: Glyphs = UNICODE) -> Pieces:
    """`⚠ Totals cover 4 of 5 connections; not counted: bob/kraken (auth_failed)`, and the
    stale values counted; nothing when every connection is counted and fresh."""
    summary = portfolio.summary
    stale = [c for c in portfolio.connections if c.status is Status.STALE]
    pieces: Pieces = []
    if not summary.complete:
        missing = [
            c for a in portfolio.accounts if a.enabled for c in a.connections if not c.counted
        ]
        listed = ", ".join(f"{c.key} ({c.status.value})" for c in missing[:6])
        more = f" and {len(missing) - 6} more" if len(missing) > 6 else ""
        pieces.append(
            (
                f"{g.warn} Totals cover {summary.connections_counted} of "
                f"{summary.connections_total} connections; not counted: {listed}{more}",
                "yellow",
            )
        )
    if stale:
        if pieces:
            pieces.append(("\n", ""))
        listed = ", ".join(c.key for c in stale[:6])
        more = f" and {len(stale) - 6} more" if len(stale) > 6 else ""
        pieces.append(
            (
                f"{g.warn} Stale values counted (last good value kept after a failed fetch): "
                f"{listed}{more}",
                "yellow",
            )
        )
    return pieces


def user_title(user: AccountReport, g: Glyphs = UNICODE) -> str:
    """`👤 User: alice (Alice)`, and `— disabled, not in totals` when it is."""
    title = f"{g.user}User: {user.id}"
    if user.name != user.id:
        title += f" ({safe_text(user.name)})"
    if not user.enabled:
        title += f"{g.dash}disabled, not in totals"
    return title


def plain_text(pieces: Pieces) -> str | None:
    """The pieces' text without styles; None when there are none."""
    return "".join(text for text, _ in pieces) or None


def counted_words(account: AccountReport) -> str | None:
    """What an account's total covers, when that is not simply every connection:
    `0 of 1 connections counted`, `not in totals` (disabled); None when all are counted."""
    if not account.enabled:
        return "not in totals"
    counted = sum(1 for c in account.connections if c.counted)
    if counted == len(account.connections):
        return None
    return f"{counted} of {len(account.connections)} connections counted"


def total_text(account: AccountReport, quote: str, g: Glyphs = UNICODE) -> str:
    """An account's total, or `—` when nothing in it is counted (never a made-up `$0.00`)."""
    if account.enabled and any(c.counted for c in account.connections):
        return money(account.total, quote)
    return g.none


def column_names(with_change: bool) -> list[str]:
    return ["", "connection", "exchange", "balance", *(["change"] if with_change else []), "status"]


NOT_SELECTED = "not selected"
NO_PLATFORM = "no platform account configured"


def platform_absence(
    full: Config, shown: Config, user: str | None, broker: str | None
) -> str | None:
    """Why the report has no platform figure although the config has a platform account:
    `--user` leaves the platform out, `--broker` may match none of its connections."""
    if not full.platform.connections:
        return None  # nothing configured: the report says so by itself
    if user is not None:
        return NOT_SELECTED
    if not shown.platform.connections:
        return f"{NOT_SELECTED} (no platform connection matches --broker {broker})"
    return None


@dataclass(frozen=True)
class Figures:
    """The summary's figures as shown: money when known, else the words saying why not
    (`short`: the one-word form of the live view's summary line)."""

    platform: str
    platform_short: str
    capital: str
    average: str
    short: str  # capital and average, short, when unknown


def figures(portfolio: Portfolio, platform_note: str | None = None, g: Glyphs = UNICODE) -> Figures:
    """`platform_note`: why the platform is not in this report (e.g. `not selected`); None
    when it is (an empty platform then means none is configured)."""
    s, quote = portfolio.summary, portfolio.quote
    platform = portfolio.platform
    if platform_note is not None:
        plat, plat_short = platform_note, NOT_SELECTED
    elif not platform.connections:
        plat, plat_short = NO_PLATFORM, "none"
    elif not any(c.counted for c in platform.connections):
        plat = f"{g.none} (0 of {len(platform.connections)} platform connections counted)"
        plat_short = g.none
    else:
        plat = plat_short = money(s.platform_total, quote)
    enabled = [u for u in portfolio.users if u.enabled]
    user_connections = [c for u in enabled for c in u.connections]
    if not portfolio.users:
        capital = average = "no user accounts configured"
        short = "none"
    elif not enabled:
        capital = average = "no enabled user accounts"
        short = "none"
    elif not any(c.counted for c in user_connections):
        capital = average = f"{g.none} (0 of {len(user_connections)} user connections counted)"
        short = g.none
    else:
        capital, average = money(s.total_user_capital, quote), money(s.average_per_user, quote)
        short = ""
    return Figures(plat, plat_short, capital, average, short)


def balance_report(
    portfolio: Portfolio,
    *,
    show_platform: bool = True,
    changes: Mapping[str, Decimal] | None = None,
    width: int | None = None,
    title: str = TITLE,
    platform_note: str | None = None,
    fold_after: int | None = None,
) -> BalanceReport:
    """The whole report (status on every row), `width` wide (None: the
    width it is rendered at).

    `platform_note` says why the platform is left out (`not selected`): the summary shows it
    instead of a platform total. Without `show_platform` it is `not selected`.
    `fold_after`: the users after this many of their connections are folded into one line
    saying how many and how to see them all (the summary still counts every one).
    """
    if not show_platform and platform_note is None:
        platform_note = NOT_SELECTED
    return BalanceReport(portfolio, show_platform, changes, width, title, platform_note, fold_after)


def shown_users(
    users: tuple[AccountReport, ...], fold_after: int | None
) -> tuple[tuple[AccountReport, ...], str | None]:
    """The users listed in full and the line standing for the others (None: none folded)."""
    if fold_after is None:
        return users, None
    rows, shown = 0, 0
    for user in users:
        if rows + max(1, len(user.connections)) > fold_after and shown:
            break
        rows += max(1, len(user.connections))
        shown += 1
    if shown == len(users):
        return users, None
    rest = users[shown:]
    count = sum(len(u.connections) for u in rest)
    return users[:shown], (
        f"{len(rest):,} more users ({count:,} connections) not listed here, all counted in "
        "the summary: `nija show | less` lists every one, `nija show --json` too"
    )


@dataclass(frozen=True)
class BalanceReport:
    """What `balance_report()` shows, before it is laid out: drawn by Rich as `table.Report`,
    or as plain lines by `plain_report`."""

    portfolio: Portfolio
    show_platform: bool
    changes: Mapping[str, Decimal] | None
    width: int | None
    title: str
    platform_note: str | None
    fold_after: int | None = None
