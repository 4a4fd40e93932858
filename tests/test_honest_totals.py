"""A figure that cannot be known is never shown as `$0.00`: the report says what is true
(not selected, not configured, nothing counted) and keeps `$0.00` for a real zero."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from conftest import write
from nija_balances.cli.root import app
from nija_balances.config.loader import load_toml
from nija_balances.engine.collect import collect_sync
from nija_balances.render.live import WatchState, WatchView
from nija_balances.render.table import report

runner = CliRunner()
ENV = {"NO_COLOR": "1", "COLUMNS": "100"}

NO_PLATFORM = """\
[users.alice.kraken]

[users.bob.desk]
exchange = "paper"
balances = { USD = 5 }
"""
ONLY_FAILED = "[users.alice.kraken]\n"
REAL_ZERO = '[platform.desk]\nexchange = "paper"\nbalances = { USD = 0 }\n[users.a.p]\nexchange = "paper"\nbalances = { USD = 0 }\n'


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=ENV)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def summary_line(out: str, label: str) -> str:
    found = [line.strip() for line in lines(out) if line.strip().startswith(label)]
    assert len(found) == 1, (label, out)
    return found[0]


def test_platform_filtered_out_by_user_is_not_selected_not_zero() -> None:
    code, out = run("show", "--demo", "--user", "alice")
    assert code == 0
    assert summary_line(out, "Platform Total:") == "Platform Total:       not selected"
    assert "$0.00" not in out
    # the JSON keeps its numbers; the table does not pretend
    doc = json.loads(run("show", "--demo", "--user", "alice", "--json")[1])
    assert doc["summary"]["platform_total"] == 0.0


def test_platform_without_broker_match_is_not_selected(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.toml",
        '[platform.desk]\nexchange = "paper"\nbalances = { USD = 9 }\n'
        '[users.a.okx]\nexchange = "paper"\nbalances = { USD = 1 }\n',
    )
    out = run("show", "--config", str(cfg), "--broker", "okx")[1]
    assert summary_line(out, "Platform Total:") == (
        "Platform Total:       not selected (no platform connection matches --broker okx)"
    )
    assert "$0.00" not in out


def test_no_platform_configured_says_so(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", NO_PLATFORM)
    out = run("show", "--config", str(cfg))[1]
    assert "$0.00" not in out
    section = lines(out)[lines(out).index("🔷 PLATFORM ACCOUNT") :]
    assert section[1].startswith("-----") and section[2] == "   No platform account configured."
    assert summary_line(out, "Platform Total:") == (
        "Platform Total:       no platform account configured"
    )


def test_user_whose_only_connection_failed_shows_what_was_counted(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", NO_PLATFORM)
    out = run("show", "--config", str(cfg))[1]
    subtotals = [line.split() for line in lines(out) if "SUBTOTAL" in line]
    assert subtotals[0] == ["SUBTOTAL", "—", "0", "of", "1", "connections", "counted"]
    assert subtotals[1] == ["SUBTOTAL", "$5.00"]
    # the summary's figures are known (bob is counted), the coverage says alice is not
    assert summary_line(out, "Total User Capital:") == "Total User Capital:   $5.00"
    detail = run("user", "alice", "--config", str(cfg))[1]
    assert "SUBTOTAL  —  (0 of 1 connections counted)" in lines(detail)
    assert "$0.00" not in detail


def test_summary_with_no_user_counted_shows_no_capital_or_average(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", ONLY_FAILED)
    out = run("show", "--config", str(cfg))[1]
    assert "$0.00" not in out
    assert summary_line(out, "Total User Capital:") == (
        "Total User Capital:   — (0 of 1 user connections counted)"
    )
    assert summary_line(out, "Average per User:") == (
        "Average per User:     — (0 of 1 user connections counted)"
    )
    assert summary_line(out, "Platform Total:") == (
        "Platform Total:       no platform account configured"
    )


def render(renderable: object, width: int = 100, height: int | None = None) -> str:
    console = Console(width=width, height=height, record=True, no_color=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_no_users_and_disabled_users_say_so(tmp_path: Path) -> None:
    # a config file must have a user; an API caller's Config may not
    config = load_toml(write(tmp_path / "c.toml", REAL_ZERO))
    out = render(report(collect_sync(replace(config, users=()))))
    assert (
        summary_line(out, "Total User Capital:")
        == "Total User Capital:   no user accounts configured"
    )
    assert (
        summary_line(out, "Average per User:")
        == "Average per User:     no user accounts configured"
    )
    cfg = write(
        tmp_path / "d.toml",
        '[users.bob]\nenabled = false\n[users.bob.desk]\nexchange = "paper"\nbalances = { USD = 3 }\n',
    )
    out = run("show", "--config", str(cfg))[1]
    assert "$0.00" not in out and "$3.00" not in out
    assert [line.split() for line in lines(out) if "SUBTOTAL" in line] == [
        ["SUBTOTAL", "—", "not", "in", "totals"]
    ]
    assert (
        summary_line(out, "Total User Capital:") == "Total User Capital:   no enabled user accounts"
    )


def test_a_real_zero_is_still_zero(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", REAL_ZERO)
    out = run("show", "--config", str(cfg))[1]
    assert summary_line(out, "Platform Total:") == "Platform Total:       $0.00"
    assert summary_line(out, "Total User Capital:") == "Total User Capital:   $0.00"
    assert summary_line(out, "Average per User:") == "Average per User:     $0.00"
    assert [line.split() for line in lines(out) if "SUBTOTAL" in line] == [["SUBTOTAL", "$0.00"]]


def test_watch_summary_line_says_the_same(tmp_path: Path) -> None:
    portfolio = collect_sync(load_toml(write(tmp_path / "c.toml", ONLY_FAILED)))
    state = WatchState(60, datetime(2026, 1, 1, 12), 42, False, 0, 1)
    text = render(WatchView(portfolio, {}, state), 80, 8)  # short: the compact view
    assert "$0.00" not in text
    assert "Platform none · Users 1: — · avg — · 0/1 counted" in text
