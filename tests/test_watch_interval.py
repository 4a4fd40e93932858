"""`nija watch --interval`: a number of seconds, at least 5 and finite. `nan` passed the
minimum (every comparison with it is false) and refreshed without pause, 327 requests in
10 s; `inf` ended in a traceback. Both are refused before anything is loaded."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from nija_balances.cli.context import Terminal
from nija_balances.cli.root import app
from terminal import Tmux


def nija(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})


@pytest.fixture
def nothing_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command must not start: loading the config would be a failure of the test."""

    def refuse(self: Terminal) -> None:
        raise AssertionError("the config was loaded")

    monkeypatch.setattr(Terminal, "load_config", refuse)


@pytest.mark.parametrize("value", ["nan", "NaN", "-nan", "inf", "+inf", "Infinity", "1e400"])
def test_a_non_finite_interval_is_refused(nothing_loaded: None, value: str) -> None:
    result = nija("watch", "--interval", value, "--demo")
    assert (result.exit_code, result.stdout) == (2, "")
    text = " ".join(result.stderr.replace("│", " ").split())
    assert "Invalid value for '--interval'" in text
    assert "is not a finite number of seconds (at least 5)" in text
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["4.9", "0", "-5", "-inf", "-1e400"])
def test_the_minimum_stays(nothing_loaded: None, value: str) -> None:
    result = nija("watch", "--interval", value, "--demo")
    assert result.exit_code == 2
    assert "not in the range x>=5" in result.stderr


def test_five_seconds_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the option checks: here it stops at the next one (no terminal in tests)."""
    result = nija("watch", "--interval", "5", "--demo")
    assert result.exit_code == 2
    assert "watch needs a terminal" in result.stderr


@pytest.fixture
def tmux(isolated_home: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    pane = Tmux(isolated_home)
    yield pane
    pane.close()


def test_in_a_real_terminal_nan_exits_2_at_once(tmux: Tmux) -> None:
    import sys

    nija_script = Path(sys.executable).parent / "nija"
    tmux.start(f"{nija_script} watch --interval nan --demo")
    screen = tmux.wait_for(lambda s: "EXIT=" in s, timeout=15)
    assert "EXIT=2" in screen
    assert "finite" in screen
