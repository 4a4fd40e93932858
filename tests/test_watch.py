"""`nija watch` in a real terminal (tmux): appears, refreshes, shows a change, quits cleanly."""

from __future__ import annotations

import io
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from conftest import write
from nija_balances.config.loader import load_toml
from nija_balances.config.sources import load_demo
from nija_balances.engine.collect import collect_sync
from nija_balances.render.live import WatchState, WatchView, changes_between
from terminal import Tmux

NIJA = Path(sys.executable).parent / "nija"
WATCH_CONFIG = """\
[platform.desk]
exchange = "paper"
balances = { USD = 1000 }

[users.alice.p]
exchange = "paper"
balances = { USD = 250 }
"""


@pytest.fixture
def tmux(isolated_home: Path) -> Iterator[Callable[[int, int], Tmux]]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    sessions: list[Tmux] = []

    def make(width: int = 80, height: int = 24) -> Tmux:
        sessions.append(Tmux(isolated_home, width, height))
        return sessions[-1]

    yield make
    for session in sessions:
        session.close()


@pytest.mark.slow
def test_watch_appears_refreshes_shows_a_change_and_q_exits_0(tmux, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = write(tmp_path / "w.toml", WATCH_CONFIG)
    term = tmux(80, 24)
    term.start(f"{NIJA} watch --config {cfg} --interval 5")
    first = term.wait_for(lambda s: "alice/p" in s and "2/2 answered" in s)
    assert "nija watch · refreshed" in first and "$250.00" in first
    cfg.write_text(WATCH_CONFIG.replace("USD = 250", "USD = 300"))  # the balance moves
    changed = term.wait_for(lambda s: "▲ $50.00" in s)
    assert "$300.00" in changed
    assert "Platform $1,000.00 · Users 1: $300.00" in changed
    assert max(len(line) for line in changed.splitlines()) <= 80
    term.keys("q")
    term.wait_for(lambda s: "EXIT=0" in s)


@pytest.mark.slow
def test_watch_ctrl_c_exits_130_with_the_terminal_restored(tmux) -> None:  # type: ignore[no-untyped-def]
    term = tmux(100, 50)
    term.start(f"{NIJA} watch --demo --interval 5")
    full = term.wait_for(lambda s: "SUMMARY" in s)  # tall enough: the full report
    assert "🔷 PLATFORM ACCOUNT (Nija System)" in full and "next in" in full
    term.keys("C-c")
    after = term.wait_for(lambda s: "EXIT=130" in s)
    assert "SUMMARY" not in after  # alternate screen left: the shell's screen is back


def test_watch_refuses_a_pipe() -> None:
    from typer.testing import CliRunner

    from nija_balances.cli.root import app

    result = CliRunner().invoke(app, ["watch", "--demo"])
    assert result.exit_code == 2
    assert "watch needs a terminal" in result.stderr


def test_interval_below_the_minimum_is_refused() -> None:
    from typer.testing import CliRunner

    from nija_balances.cli.root import app

    result = CliRunner().invoke(app, ["watch", "--demo", "--interval", "1"])
    assert result.exit_code == 2
    assert "--interval" in result.stderr


def render(view: WatchView, width: int, height: int) -> list[str]:
    console = Console(width=width, height=height, record=True, no_color=True, file=io.StringIO())
    console.print(view)
    return console.export_text().splitlines()


def test_view_compacts_to_the_height_with_problems_first() -> None:
    portfolio = collect_sync(load_demo())
    state = WatchState(60, datetime(2026, 1, 1, 12), 42, False, 5, 5)
    tall = render(WatchView(portfolio, {}, state), 80, 60)
    assert tall[0].startswith("nija watch · refreshed 12:00:00 · next in 42s · 5/5 answered")
    assert any("SUBTOTAL" in line for line in tall)
    short = render(WatchView(portfolio, {}, state), 80, 10)
    assert len(short) <= 10
    assert "… 2 more connections not shown" in "\n".join(short)  # a rule under the header


def test_changes_between_refreshes() -> None:
    before = collect_sync(load_demo())
    assert changes_between(None, before) == {}
    assert changes_between(before, before) == {}
    from dataclasses import replace

    moved = replace(
        before,
        users=(replace(before.users[0], connections=(
            replace(before.users[0].connections[0], balance=Decimal("200.00")),
            before.users[0].connections[1],
        )), before.users[1]),
    )  # fmt: skip
    assert changes_between(before, moved) == {"alice/coinbase": Decimal("-50.00")}


# one connection per kind of row: counted, counted and moving, a long reason, another reason
LONG_ERRORS = """\
[platform.desk]
exchange = "paper"
balances = { USD = 1000 }

[users.alice.p]
exchange = "paper"
balances = { USD = 250 }

[users.bob.kraken]

[users.carol.tradier]
exchange = "tradier"

[users.dave.q]
exchange = "paper"
balances = { USD = 75 }
"""
LONG_ROWS = {  # a connection's row: what must stay on it, in this order (marker first)
    "platform/desk": ["✔", "$1,000.00", "ok"],
    "alice/p": ["✔", "$300.00", "▲ $50.00", "ok"],
    "bob/kraken": ["○", "—", "no_credentials"],
    "carol/tradier": ["?", "—", "unsupported"],
    "dave/q": ["✔", "$75.00", "ok"],
}
FULL_ROWS = {  # the same rows in the full report (its tables name the connection only)
    "DESK": ["✔", "DESK", "paper", "$1,000.00", "ok"],
    "P": ["✔", "P", "paper", "$300.00", "▲ $50.00", "ok"],
    "KRAKEN": ["○", "KRAKEN", "kraken", "—", "no_credentials"],
    "TRADIER": ["?", "TRADIER", "tradier", "—", "unsupported"],
}


def assert_rows_keep_their_figures(screen: str, rows: dict[str, list[str]]) -> None:
    for key, words in rows.items():
        found = [line for line in screen.splitlines() if key in line.split()[1:3]]
        assert found, (key, screen)
        for line in found:
            at = [line.find(word) for word in words]
            assert -1 not in at and at == sorted(at), (key, words, line, screen)


def long_error_view(tmp_path: Path, width: int, height: int) -> str:
    cfg = write(tmp_path / "w.toml", LONG_ERRORS.replace("USD = 250", "USD = 300"))
    portfolio = collect_sync(load_toml(cfg))
    changes = {"alice/p": Decimal("50.00")}
    state = WatchState(60, datetime(2026, 1, 1, 12), 42, False, 3, 5)
    return "\n".join(render(WatchView(portfolio, changes, state), width, height))


@pytest.mark.parametrize("width", [60, 80, 100, 120])
def test_a_long_error_never_pushes_out_balances_or_markers(tmp_path: Path, width: int) -> None:
    screen = long_error_view(tmp_path, width, 24)  # too short for the full report
    assert_rows_keep_their_figures(screen, LONG_ROWS)
    assert max(len(line) for line in screen.splitlines()) <= width
    # the reasons are in a notes area under the table, one line each, cut to the width
    notes = [line for line in screen.splitlines() if line.startswith(("○ bob/", "? carol/"))]
    assert len(notes) == 2, screen
    assert notes[0].startswith("○ bob/kraken: set KRAKEN_USER_BOB_API_KEY")
    assert notes[1].startswith("? carol/tradier: no adapter for 'tradier'")


@pytest.mark.parametrize("width", [80, 100])
def test_the_full_report_in_watch_keeps_figures_and_puts_reasons_under(
    tmp_path: Path, width: int
) -> None:
    screen = long_error_view(tmp_path, width, 60)  # tall: the full report
    assert "SUMMARY" in screen
    assert_rows_keep_their_figures(screen, FULL_ROWS)
    assert "○ KRAKEN: set KRAKEN_USER_BOB_API_KEY and" in screen


def test_notes_give_way_to_rows_when_the_screen_is_short(tmp_path: Path) -> None:
    screen = long_error_view(tmp_path, 80, 12)
    lines = screen.splitlines()
    assert len(lines) <= 12
    rows = [line for line in lines if re.match(r"[✔○?]\s+\w+/\w+\s", line)]
    reasons = [line for line in lines if re.match(r"[✔○?] \w+/\w+: ", line)]
    # rows first, at least one reason, and a line counting what is left out
    assert [line.split()[1] for line in rows] == ["bob/kraken", "carol/tradier", "platform/desk"]
    assert [line.split(":")[0] for line in reasons] == ["○ bob/kraken"]
    assert "… 2 more connections not shown · 1 more reason: nija status" in lines


@pytest.mark.slow
@pytest.mark.parametrize("width", [80, 100])
def test_watch_in_a_terminal_with_a_long_error_keeps_every_balance(  # type: ignore[no-untyped-def]
    tmux, tmp_path: Path, width: int
) -> None:
    cfg = write(tmp_path / "w.toml", LONG_ERRORS)
    term = tmux(width, 24)
    term.start(f"{NIJA} watch --config {cfg} --interval 5")
    term.wait_for(lambda s: "dave/q" in s and "3/5 answered" in s)
    cfg.write_text(LONG_ERRORS.replace("USD = 250", "USD = 300"))  # the balance moves
    screen = term.wait_for(lambda s: "▲ $50.00" in s)
    assert_rows_keep_their_figures(screen, LONG_ROWS)
    assert "○ bob/kraken: set KRAKEN_USER_BOB_API_KEY" in screen
    term.keys("q")
    term.wait_for(lambda s: "EXIT=0" in s)
