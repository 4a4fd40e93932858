"""The plain renderer (`render.plain`) prints exactly what Rich prints without styles.

Every case is rendered both ways at several widths; where the plain renderer takes a case
on (it returns lines), they must equal Rich's, character for character.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rich.console import Console

from nija_balances.domain.models import (
    AccountReport,
    ConnectionReport,
    Portfolio,
    Status,
    Summary,
)
from nija_balances.render.frame import Printable, print_report
from nija_balances.render.plain_report import blocks, plain
from nija_balances.render.plain_report import lines as plain_lines
from nija_balances.render.table import report

WIDTHS = (60, 72, 80, 100, 120)
AT = datetime(2026, 1, 21, 16, 0, tzinfo=UTC)


def conn(account: str, name: str, status: Status, **kw: object) -> ConnectionReport:
    kind = "platform" if account == "platform" else "user"
    values = {"balance": Decimal("1234.56"), "cash": Decimal("1000"), "equity": Decimal("1234.56")}
    if status in (Status.CACHED, Status.STALE):
        values["age_s"] = 75.0  # type: ignore[assignment]
    return ConnectionReport(account, kind, name, name.split("-")[0], status, **{**values, **kw})  # type: ignore[arg-type]


def portfolio(users: list[AccountReport], platform: AccountReport, demo: bool = False) -> Portfolio:
    enabled = [u for u in users if u.enabled]
    active = [c for a in (platform, *enabled) for c in a.connections]
    capital = sum((u.total for u in enabled), Decimal(0))
    summary = Summary(
        platform_total=platform.total,
        user_totals={u.id: u.total for u in enabled},
        total_user_capital=capital,
        user_count=len(enabled),
        average_per_user=(capital / len(enabled)).quantize(Decimal("0.01"))
        if enabled
        else Decimal(0),
        connections_total=len(active),
        connections_counted=sum(1 for c in active if c.counted),
    )
    return Portfolio(AT, "equity", "USD", platform, tuple(users), summary, demo=demo)


def account(
    id: str, *conns: ConnectionReport, name: str | None = None, enabled: bool = True
) -> AccountReport:
    kind = "platform" if id == "platform" else "user"
    return AccountReport(id, kind, name or id, enabled, tuple(conns))  # type: ignore[arg-type]


def cases() -> dict[str, Portfolio]:
    platform = account(
        "platform",
        conn("platform", "kraken", Status.CACHED),
        conn("platform", "coinbase", Status.OK),
        name="Nija System",
    )
    many = [
        account(f"u{i:04d}", conn(f"u{i:04d}", "kraken", Status.CACHED, age_s=float(i * 37)))
        for i in range(40)
    ]
    failing = account(
        "bob",
        conn("bob", "binance", Status.AUTH_FAILED, error="invalid API key (code -2015)"),
        conn("bob", "okx", Status.STALE, error="timeout: no answer within 10 s"),
        conn(
            "bob", "kraken", Status.NO_CREDENTIALS, error="no API key: set KRAKEN_USER_BOB_API_KEY"
        ),
    )
    unpriced = account(
        "carol",
        conn("carol", "coinbase", Status.CACHED, unpriced=("DOGE", "PEPE")),
        conn("carol", "kraken", Status.OK, unpriced=("XYZ",)),
    )
    long_error = account(
        "dave",
        conn("dave", "kraken", Status.ERROR, error="x " * 80),
    )
    names = account(
        "eve",
        conn("eve", "kraken-second-account-with-a-long-name", Status.OK),
        name="Ève Müller-Lüdenscheidt",
    )
    folded = account("hal", conn("hal", "kraken", Status.ERROR, error="y" * 150))
    wide = account("zoe", conn("zoe", "kraken", Status.OK), name="名前")
    disabled = account("fred", conn("fred", "kraken", Status.DISABLED), enabled=False)
    empty = account("gina")
    none = account("platform")
    return {
        "simple": portfolio([account("alice", conn("alice", "kraken", Status.CACHED))], platform),
        "many": portfolio(many, platform),
        "failing": portfolio([failing, disabled, empty], platform),
        "unpriced": portfolio([unpriced], none),
        "long error": portfolio([long_error], platform),
        "names": portfolio([names], platform, demo=True),
        "wide": portfolio([wide], platform),
        "folded word": portfolio([folded], platform),
        "no users": portfolio([], platform),
        "big money": portfolio(
            [account("ann", conn("ann", "kraken", Status.OK, balance=Decimal("123456789012.34")))],
            platform,
        ),
        "stale": portfolio(
            [account("ann", conn("ann", "okx", Status.STALE, age_s=7300.0, error="e" * 30))], none
        ),
    }


def rich_text(renderable: object, width: int) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, highlight=False, emoji=False)
    console.print(Printable(renderable))
    return out.getvalue()


def plain_console(width: int) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, highlight=False, emoji=False)
    return console, out


@pytest.mark.parametrize("name", sorted(cases()))
def test_plain_lines_are_rich_lines(name: str) -> None:
    taken = 0
    for width in WIDTHS:
        for kwargs in ({}, {"show_platform": False}, {"platform_note": "not selected"}):
            rendered = report(cases()[name], **kwargs)  # type: ignore[arg-type]
            console, _ = plain_console(width)
            lines = plain_lines(console, rendered)
            if lines is None:
                continue
            taken += 1
            assert "".join(line + "\n" for line in lines) == rich_text(rendered, width), (
                name,
                width,
                kwargs,
            )
    if name not in ("wide", "folded word"):
        assert taken, f"the plain renderer took no width of {name!r}"


def test_lines_it_cannot_lay_out_are_left_to_rich() -> None:
    console, _ = plain_console(60)
    assert plain_lines(console, report(cases()["folded word"])) is None  # a word folds
    assert plain_lines(console, report(cases()["wide"])) is None  # widths it does not know


def test_print_report_prints_the_same_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    for name, case in cases().items():
        rendered = report(case)
        console, out = plain_console(100)
        print_report(console, rendered, plain(rendered))
        assert out.getvalue() == rich_text(rendered, 100), name


def test_a_terminal_with_styles_gets_rich() -> None:
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system="standard")
    assert plain_lines(console, report(cases()["simple"])) is None


def test_ages_are_brought_up_to_date() -> None:
    from nija_balances.render.plain import render

    rendered = report(cases()["simple"])
    later = render(blocks(rendered), 100, AT.timestamp() + 3600)
    assert later is not None
    assert any("cached 1h01m" in line for line in later)
    assert any(line.startswith("Generated: ") for line in later)


def test_a_terminal_report_folds_users_after_enough_rows_and_says_so() -> None:
    many = cases()["many"]  # 40 users of one connection each
    rendered = report(many, fold_after=10)
    text = rich_text(rendered, 100)
    assert text.count("User: u") == 10
    assert "… 30 more users (30 connections) not listed here, all counted in the summary" in text
    assert "Total Users:          40" in text  # the summary still counts every user
    console, _ = plain_console(100)
    lines = plain_lines(console, rendered)
    assert lines is not None and "".join(line + "\n" for line in lines) == text
    assert "more users" not in rich_text(report(many), 100)  # no fold unless asked


class _Stream(io.StringIO):
    def __init__(self, tty: bool | None, encoding: str | None) -> None:
        super().__init__()
        self.tty, self._encoding = tty, encoding

    @property
    def encoding(self) -> str | None:  # type: ignore[override]
        return self._encoding

    def isatty(self) -> bool:
        if self.tty is None:
            raise ValueError("I/O operation on closed file")
        return self.tty


@pytest.mark.parametrize("tty", [True, False, None])
@pytest.mark.parametrize("tty_compatible", [None, "0", "1", "yes"])
@pytest.mark.parametrize("force_color", [None, "", "1"])
@pytest.mark.parametrize("encoding", ["utf-8", "UTF-8", "ascii", None])
def test_the_pipe_test_without_rich_says_what_rich_says(
    tty: bool | None, tty_compatible: str | None, force_color: str | None, encoding: str | None
) -> None:
    """`frame.is_terminal`/`piped_plain` decide without Rich what a Rich console on the
    stream would do; `nija show` prints plain text without importing Rich on their word."""
    from nija_balances.render.frame import is_terminal, piped_plain, plain_console

    env = {"TERM": "xterm"}
    for name, value in (("TTY_COMPATIBLE", tty_compatible), ("FORCE_COLOR", force_color)):
        if value is not None:
            env[name] = value
    stream = _Stream(tty, encoding)
    console = Console(file=stream, _environ=env)
    assert is_terminal(stream, env) is console.is_terminal
    # plain on our word only where Rich would print plain too (a dumb terminal is left to Rich)
    assert piped_plain(stream, env) is (not console.is_terminal and plain_console(console))
