"""Output that cannot carry Unicode (`PYTHONIOENCODING=ascii`, a C locale without UTF-8
mode) gets ASCII markers, rules and arrows instead of a UnicodeEncodeError."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write

ASCII_ENVS = {
    "PYTHONIOENCODING=ascii": {"PYTHONIOENCODING": "ascii"},
    "C locale, no UTF-8 mode": {"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0"},
    "C locale": {"LANG": "C", "LC_ALL": "C"},  # Python's UTF-8 mode: Unicode is fine there
}
# a failing connection, a user whose name is not ASCII, and an unpriced asset
MIXED = """\
[platform.desk]
exchange = "paper"
balances = { USD = 1000, ZZQ = 2 }

[users.zoe]
name = "Zoë Ångström"

[users.zoe.p]
exchange = "paper"
balances = { USD = 250 }

[users.bob.kraken]
"""


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    full = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "PYTHONUTF8")}
    full.update({"NO_COLOR": "1", "COLUMNS": "100", "PYTHONIOENCODING": "", **env})
    if not full["PYTHONIOENCODING"]:
        del full["PYTHONIOENCODING"]
    return subprocess.run(
        [sys.executable, "-m", "nija_balances", *args], env=full, capture_output=True, timeout=60
    )


def ascii_text(result: subprocess.CompletedProcess[bytes], encoding_is_ascii: bool) -> str:
    assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
    if encoding_is_ascii:
        return result.stdout.decode("ascii")  # raises if anything else slipped through
    return result.stdout.decode("utf-8")


@pytest.mark.parametrize("name", list(ASCII_ENVS))
def test_show_user_and_status_never_crash_on_the_output_encoding(name: str, tmp_path: Path) -> None:
    env, is_ascii = ASCII_ENVS[name], name != "C locale"
    cfg = str(write(tmp_path / "c.toml", MIXED))
    for args in (
        ("show", "--demo"),
        ("show", "--config", cfg),
        ("user", "zoe", "--config", cfg),
        ("user", "bob", "--demo"),
        ("status", "--config", cfg),
    ):
        result = run(env, *args)
        assert result.returncode in (0, 1), (args, result.stderr.decode(errors="replace"))
        text = ascii_text(result, is_ascii)
        assert text.startswith("=" * 100 + "\nNIJA ") and text.endswith("=" * 100 + "\n"), args
    for args in (("show", "--json"), ("user", "zoe", "--json"), ("status", "--json")):
        result = run(env, *args, "--config", cfg)
        doc = json.loads(ascii_text(result, is_ascii))
        assert doc["schema_version"] == 1, args


def test_ascii_markers_rules_and_words(tmp_path: Path) -> None:
    cfg = str(write(tmp_path / "c.toml", MIXED))
    env = ASCII_ENVS["PYTHONIOENCODING=ascii"]
    show = ascii_text(run(env, "show", "--config", cfg), True).splitlines()
    rows = [line.split() for line in show]
    assert ["+", "DESK", "paper", "$1,000.00", "ok"] in rows  # ok: +
    assert ["o", "KRAKEN", "kraken", "-", "no_credentials"] in rows  # no credentials: o
    assert "PLATFORM ACCOUNT (Nija System)" in show
    assert "   User: zoe (Zo? ?ngstr?m)" in show  # what ASCII cannot say is replaced, not fatal
    assert "   ! Totals cover 2 of 3 connections; not counted: bob/kraken (no_credentials)" in show
    assert any(set(line.strip()) == {"-"} and len(line) > 50 for line in show)  # table lines
    demo = ascii_text(run(env, "show", "--demo"), True).splitlines()
    assert demo[1] == "NIJA USER ACCOUNT BALANCES - DEMO (simulated accounts)"
    user = ascii_text(run(env, "user", "bob", "--demo"), True).splitlines()
    assert "+ KRAKEN  paper  ok  $2,500.00" in user


WATCH_SCRIPT = """
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from rich.console import Console
from nija_balances.config.loader import load_toml
from nija_balances.engine.collect import collect_sync
from nija_balances.render.live import WatchState, WatchView
portfolio = collect_sync(load_toml(Path(sys.argv[1])))
state = WatchState(60, datetime(2026, 1, 1, 12), 42, True, 2, 3)
changes = {"zoe/p": Decimal("12.50"), "platform/desk": Decimal("-3.00")}
for height in (60, 12):  # the full report, the compact view
    Console(width=80, height=height, no_color=True).print(WatchView(portfolio, changes, state))
"""


@pytest.mark.parametrize("name", list(ASCII_ENVS))
def test_watch_renderer_never_crashes_on_the_output_encoding(name: str, tmp_path: Path) -> None:
    env, is_ascii = ASCII_ENVS[name], name != "C locale"
    cfg = str(write(tmp_path / "c.toml", MIXED))
    full = {**os.environ, "NO_COLOR": "1", **env}
    result = subprocess.run(
        [sys.executable, "-c", WATCH_SCRIPT, cfg], env=full, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    text = ascii_text(result, is_ascii)
    if is_ascii:
        assert "nija watch | refreshed 12:00:00 | refreshing... | 2/3 answered" in text
        assert "+$12.50" in text and "-$3.00" in text  # changes: + and - for the arrows
        assert "o bob/kraken: set KRAKEN_USER_BOB_API_KEY" in text  # compact view's notes
