"""The balance report (`report.BalanceReport`) as data for `plain.render`: the lines of
`Report.parts` without their styles, with the Unicode glyphs, at any width."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from nija_balances.domain.models import AccountReport, Status
from nija_balances.domain.text import safe_text
from nija_balances.render.frame import DEMO, HEAVY, LIGHT
from nija_balances.render.markers import UNICODE, marker, shown_balance, status_text
from nija_balances.render.plain import Block
from nija_balances.render.report import (
    NO_PLATFORM,
    BalanceReport,
    change_words,
    column_names,
    counted_words,
    coverage_pieces,
    figures,
    note_pieces,
    plain_text,
    shown_users,
    total_text,
    user_title,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console


def plain(report: BalanceReport) -> Callable[[], tuple[list[Block], float]] | None:
    """The plain form of `report` for `frame.print_report`: its blocks and its time; None
    for a report laid out at a width of its own (Rich's job)."""
    if report.width is not None:
        return None
    return lambda: (blocks(report), report.portfolio.generated_at.timestamp())


def lines(console: Console, report: BalanceReport) -> list[str] | None:
    """`report`'s lines as `plain` lays them out for `console`; None: Rich's job."""
    from nija_balances.render.frame import plain_blocks

    each = plain_blocks(console, plain(report))
    return None if each is None else [line for block in each for line in block]


def blocks(report: BalanceReport) -> list[Block]:
    """`report` as `plain.render` lays it out."""
    portfolio, changes, quote = report.portfolio, report.changes, report.portfolio.quote
    g, at = UNICODE, portfolio.generated_at.timestamp()
    title = report.title + (f"{g.dash}{DEMO}" if portfolio.demo else "")
    blocks: list[Block] = [
        ["rule", 0, HEAVY],
        ["text", 0, title],
        ["rule", 0, HEAVY],
        ["when", 0, f"    Basis: {portfolio.basis} ({quote})"],
        ["rule", 0, HEAVY],
    ]

    def account_notes(account: AccountReport, indent: int) -> None:
        if (text := plain_text(note_pieces(account, g))) is not None:
            blocks.append(["text", indent, text])

    if report.show_platform:
        platform = portfolio.platform
        name = f" ({safe_text(platform.name)})" if platform.connections else ""
        blocks += [["text", 0, ""], ["text", 0, f"{g.platform}PLATFORM ACCOUNT{name}"]]
        blocks.append(["rule", 0, LIGHT])
        if platform.connections:
            blocks.append(["table", 3, plain_table(platform, quote, "TOTAL", changes, at)])
        else:
            why = (report.platform_note or NO_PLATFORM).capitalize()
            blocks.append(["text", 3, f"{why}."])
        account_notes(platform, 3)
    blocks += [["text", 0, ""], ["text", 0, f"{g.platform}USER ACCOUNTS"], ["rule", 0, LIGHT]]
    if not portfolio.users:
        blocks.append(["text", 3, "No user accounts configured."])
    users, folded = shown_users(portfolio.users, report.fold_after)
    for user in users:
        title = user_title(user, g)
        blocks += [["text", 0, ""], ["text", 3, title], ["rule", 3, LIGHT]]
        blocks.append(["table", 6, plain_table(user, quote, "SUBTOTAL", changes, at)])
        account_notes(user, 6)
    if folded is not None:
        blocks += [["text", 0, ""], ["text", 3, f"{g.ellipsis} {folded}"]]
    blocks += [["text", 0, ""], ["rule", 0, HEAVY], ["text", 0, "SUMMARY"], ["rule", 0, HEAVY]]
    shown = figures(portfolio, report.platform_note, g)
    s = portfolio.summary
    summary = [
        ("Total Users:", str(s.user_count)),
        ("Total User Capital:", shown.capital),
        ("Average per User:", shown.average),
        ("Platform Total:", shown.platform),
        ("Connections:", f"{s.connections_counted} of {s.connections_total} counted"),
    ]
    label = max(len(k) for k, _ in summary)
    blocks += [["text", 3, f"{k.ljust(label)}   {v}"] for k, v in summary]
    if (coverage := plain_text(coverage_pieces(portfolio, g))) is not None:
        blocks.append(["text", 3, coverage])
    blocks.append(["rule", 0, HEAVY])
    return blocks


def plain_table(
    account: AccountReport,
    quote: str,
    total_label: str,
    changes: Mapping[str, Decimal] | None,
    at: float,
) -> dict[str, Any]:
    """The cells of `_account_table` as text, for `plain.table_lines` (the ages of cached and
    stale values as of `at`, so that they can be brought up to date)."""
    g = UNICODE
    with_change = changes is not None
    rows: list[list[Any]] = []
    for report in account.connections:
        cells: list[Any] = [
            marker(report.status, g),
            report.connection.upper(),
            report.exchange,
            shown_balance(report, quote, g),
        ]
        if changes is not None:
            cells.append(change_words(changes.get(report.key), quote, g)[0])
        rest = f"\nunpriced: {', '.join(report.unpriced)}" if report.unpriced else ""
        status: Any = status_text(report) + rest
        if report.status in (Status.CACHED, Status.STALE) and report.age_s is not None:
            status = [report.status.value, report.age_s, at, rest]
        cells.append(status)
        rows.append(cells)
    if not account.connections:
        rows.append(["", "(no connections)", "", "", *([""] if with_change else []), ""])
    footer = [
        "",
        total_label,
        "",
        total_text(account, quote, g),
        *([""] if with_change else []),
        counted_words(account) or "",
    ]
    names = column_names(with_change)
    right = [i for i, name in enumerate(names) if name in ("balance", "change")]
    return {"rows": rows, "footer": footer, "right": right, "with_change": with_change}
