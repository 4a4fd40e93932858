"""`nija watch` in a real terminal (tmux): appears, refreshes, shows a change, quits cleanly."""

from __future__ import annotations

import io
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from conftest import write
from nija_balances.config.loader import load_demo
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
