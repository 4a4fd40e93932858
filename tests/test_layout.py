"""The text reports' width and look: the terminal's width (60 to 120 columns) on a terminal,
a fixed one in a pipe; no trailing spaces; one header style for show, user, status, watch."""

from __future__ import annotations

import io
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from conftest import write
from nija_balances.cli.root import app
from nija_balances.config.loader import load_toml
from nija_balances.engine.collect import collect_sync
from nija_balances.render.live import WatchState, WatchView
from terminal import Tmux

NIJA = Path(sys.executable).parent / "nija"
runner = CliRunner()

# a counted row, an unpriced asset, a missing key (long reason) and an unsupported exchange
MIXED = """\
[platform.desk]
exchange = "paper"
balances = { USD = 1000, ZZQ = 3 }

[users.alice.p]
exchange = "paper"
balances = { USD = 250 }

[users.bob.kraken]

[users.carol.tradier]
exchange = "tradier"
"""
ROWS = {  # connection row: the words it must keep on one line, in this order
    "DESK": ["✔", "DESK", "paper", "$1,000.00", "ok"],
    "P": ["✔", "P", "paper", "$250.00", "ok"],
    "KRAKEN": ["○", "KRAKEN", "kraken", "—", "no_credentials"],
    "TRADIER": ["?", "TRADIER", "tradier", "—", "unsupported"],
}


def invoke(*args: str, columns: str | None = "100") -> str:
    result = runner.invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": columns})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def rules(text: str) -> list[int]:
    """The length of every line made of `=` only."""
    return [len(line) for line in text.splitlines() if line and set(line) == {"="}]


def assert_rows_whole(text: str) -> None:
    for name, words in ROWS.items():
        found = [line.split() for line in text.splitlines() if name in line.split()[1:2]]
        assert words in found, (name, text)


@pytest.mark.parametrize(
    ("columns", "width"), [("100", 100), (None, 100), ("60", 60), ("200", 120), ("40", 60)]
)
def test_piped_report_has_a_fixed_width(tmp_path: Path, columns: str | None, width: int) -> None:
    cfg = str(write(tmp_path / "c.toml", MIXED))
    for args in (("show",), ("user", "bob"), ("status",)):
        out = invoke(*args, "--config", cfg, columns=columns)
        assert set(rules(out)) == {width}, (args, out)
        assert max(len(line) for line in out.splitlines()) <= width, (args, out)
    assert_rows_whole(invoke("show", "--config", cfg, columns=columns))


def test_no_line_ends_in_a_space(tmp_path: Path) -> None:
    cfg = str(write(tmp_path / "c.toml", MIXED))
    for args in (("show",), ("show", "--user", "bob"), ("user", "bob"), ("status",)):
        for source in (("--config", cfg), ("--demo",)):
            out = invoke(*args, *source)
            assert out.endswith("\n")
            trailing = [line for line in out.splitlines() if line != line.rstrip()]
            assert trailing == [], (args, trailing)


def test_show_user_and_status_share_one_header() -> None:
    for args, title in (
        (("show",), "NIJA USER ACCOUNT BALANCES — DEMO (simulated accounts)"),
        (("user", "alice"), "NIJA USER: alice (Alice) — DEMO (simulated accounts)"),
        (("status",), "NIJA CONNECTION STATUS — DEMO (simulated accounts)"),
    ):
        lines = invoke(*args, "--demo").splitlines()
        heavy = "=" * 100
        assert lines[0] == lines[2] == lines[4] == lines[-1] == heavy, (args, lines)
        assert lines[1] == title
        assert re.fullmatch(r"Generated: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d    .+", lines[3]), lines[3]


def test_watch_compact_view_has_the_same_rules(tmp_path: Path) -> None:
    portfolio = collect_sync(load_toml(write(tmp_path / "c.toml", MIXED)))
    state = WatchState(60, datetime(2026, 1, 1, 12), 42, False, 2, 4)
    console = Console(width=90, height=14, record=True, no_color=True, file=io.StringIO())
    console.print(WatchView(portfolio, {}, state))
    lines = console.export_text().splitlines()
    assert lines[0].startswith("nija watch · refreshed 12:00:00")
    assert lines[1] == "=" * 90, lines


@pytest.fixture
def tmux(isolated_home: Path) -> Iterator[Callable[[int, int], Tmux]]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    sessions: list[Tmux] = []

    def make(width: int, height: int) -> Tmux:
        sessions.append(Tmux(isolated_home, width, height))
        return sessions[-1]

    yield make
    for session in sessions:
        session.close()


@pytest.mark.slow
@pytest.mark.parametrize(("columns", "width"), [(60, 60), (80, 80), (120, 120), (150, 120)])
def test_show_in_a_terminal_uses_its_width(tmux, tmp_path: Path, columns: int, width: int) -> None:  # type: ignore[no-untyped-def]
    cfg = write(tmp_path / "c.toml", MIXED)
    term = tmux(columns, 70)
    term.start(f"{NIJA} show --config {cfg}")
    screen = term.wait_for(lambda s: "EXIT=" in s)
    assert "EXIT=0" in screen, screen
    assert set(rules(screen)) == {width}, screen  # a wrapped rule leaves a short piece
    assert_rows_whole(screen)
    assert "KRAKEN: set KRAKEN_USER_BOB_API_KEY" in screen  # the reason, under the table
