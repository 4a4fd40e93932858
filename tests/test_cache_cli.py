"""`nija cache info` and `nija cache clear`, exact text, with a fixed clock and UTC."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nija_balances.cli import cache
from nija_balances.cli.root import app
from nija_balances.store.sqlite import SqliteStore
from test_cache import T0, Clock, result

runner = CliRunner()
ENV = {"NO_COLOR": "1", "COLUMNS": "100"}


@pytest.fixture(autouse=True)
def utc_and_fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    old = os.environ.get("TZ")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(cache, "_clock", lambda: T0)
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def nija(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args), env=ENV)
    return r.exit_code, r.stdout, r.stderr


def db(home: Path) -> Path:
    return home / "cache" / "balances.sqlite3"


def fill(home: Path) -> None:
    clock = Clock(T0 - 3600)
    store = SqliteStore(db(home), clock=clock)
    store.put_many("default", {"platform/kraken": result(fetched_at=T0 - 300)})
    store.put("default", "alice/kraken", result(fetched_at=T0 - 5))
    store.put("other", "bob/okx", result(fetched_at=T0 - 7200))
    store.save_markets("kraken", {f"M{i}/USD": {} for i in range(412)})
    clock.now = T0 - 90_000
    store.save_markets("binance", {f"M{i}/USDT": {} for i in range(2345)})
    store.close()


def test_info_before_anything_was_cached(isolated_home: Path) -> None:
    code, out, err = nija("cache", "info")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"Path:     {db(isolated_home)} (not created yet)",
        "Size:     0 B",
        "Entries:  0 balances",
        "Oldest:   -",
        "Newest:   -",
        "Markets:  none",
    ]
    assert not db(isolated_home).exists()


def test_info_describes_entries_ages_and_markets(isolated_home: Path) -> None:
    fill(isolated_home)
    code, out, err = nija("cache", "info")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert re.fullmatch(r"Size:     \d+\.\d KiB", lines[1])
    assert lines[:1] + lines[2:] == [
        f"Path:     {db(isolated_home)}",
        "Entries:  3 balances",
        "Oldest:   2026-01-20 14:00:00 (2h 0m ago)",
        "Newest:   2026-01-20 15:59:55 (5s ago)",
        "Markets:  binance  2,345 markets, saved 2026-01-19 15:00:00 (1d 1h ago)",
        "          kraken     412 markets, saved 2026-01-20 15:00:00 (1h 0m ago)",
    ]


def test_info_json(isolated_home: Path) -> None:
    fill(isolated_home)
    code, out, err = nija("cache", "info", "--json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc.pop("size_bytes") > 0
    assert [m.pop("size_bytes") > 0 for m in doc["markets"]] == [True, True]
    assert doc == {
        "path": str(db(isolated_home)),
        "exists": True,
        "entries": 3,
        "oldest": "2026-01-20T14:00:00+00:00",
        "oldest_age_s": 7200.0,
        "newest": "2026-01-20T15:59:55+00:00",
        "newest_age_s": 5.0,
        "markets": [
            {
                "exchange": "binance",
                "count": 2345,
                "saved_at": "2026-01-19T15:00:00+00:00",
                "age_s": 90000.0,
            },
            {
                "exchange": "kraken",
                "count": 412,
                "saved_at": "2026-01-20T15:00:00+00:00",
                "age_s": 3600.0,
            },
        ],
        "warnings": [],
    }


@pytest.mark.parametrize(
    "args",
    [
        ("cache", "info", "--no-color", "-v", "--demo", "--config", "nowhere.toml"),
        ("--no-color", "--demo", "cache", "info"),
    ],
)
def test_global_options_are_accepted(isolated_home: Path, args: tuple[str, ...]) -> None:
    code, out, _ = nija(*args)
    assert code == 0 and out.startswith("Path:     ")


def test_clear_says_how_many_entries_went(isolated_home: Path) -> None:
    """On stderr: it is a message, not data (stdout stays empty)."""
    fill(isolated_home)
    assert nija("cache", "clear") == (0, "", f"Removed 5 entries from {db(isolated_home)}\n")
    out = nija("cache", "info")[1].splitlines()
    assert "Entries:  0 balances" in out and "Markets:  none" in out
    SqliteStore(db(isolated_home)).put("default", "a/b", result())
    assert nija("cache", "clear") == (0, "", f"Removed 1 entry from {db(isolated_home)}\n")
    assert nija("cache", "clear") == (0, "", f"Removed 0 entries from {db(isolated_home)}\n")
    assert nija("cache", "clear", "-q") == (0, "", "")


def test_corrupt_cache_is_reported_and_rebuilt(isolated_home: Path) -> None:
    db(isolated_home).parent.mkdir()
    db(isolated_home).write_bytes(b"not a database at all" * 50)
    code, out, err = nija("cache", "info")
    aside = f"{db(isolated_home)}.corrupt-20260120T160000Z"
    assert code == 0
    assert err == (
        f"warning: cache at {db(isolated_home)} was corrupt (file is not a database); "
        f"moved to {aside} and rebuilt\n"
    )
    assert "Entries:  0 balances" in out.splitlines()
    assert nija("cache", "clear") == (0, "", f"Removed 0 entries from {db(isolated_home)}\n")


def test_unusable_cache_file(isolated_home: Path) -> None:
    db(isolated_home).mkdir(parents=True)  # a directory where the file should be
    warning = (
        re.escape(f"warning: cache at {db(isolated_home)} cannot be opened (")
        + r".*\); not caching"
    )
    code, out, err = nija("cache", "info")
    assert code == 0 and "Entries:  0 balances" in out.splitlines()
    assert re.fullmatch(warning, err.rstrip("\n"))
    code, out, err = nija("cache", "clear")
    assert (code, out) == (1, "")
    assert re.fullmatch(warning, err.splitlines()[0])
    assert err.splitlines()[1:] == [f"error: could not clear the cache at {db(isolated_home)}"]


def test_clear_refuses_a_newer_schema(isolated_home: Path) -> None:
    fill(isolated_home)
    with sqlite3.connect(db(isolated_home)) as conn:
        conn.execute("UPDATE meta SET value = '7'")
    conn.close()
    code, out, err = nija("cache", "clear")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"warning: cache at {db(isolated_home)} was written by a newer nija-balances "
        "(schema 7, this one reads 4); balances are not cached",
        f"error: could not clear the cache at {db(isolated_home)}",
    ]


def test_real_process(isolated_home: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    cmd = [sys.executable, "-m", "nija_balances", "cache", "info"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[0] == f"Path:     {db(isolated_home)} (not created yet)"
    cmd[-1] = "clear"
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr == f"Removed 0 entries from {db(isolated_home)}\n"


def test_cache_alone_shows_help() -> None:
    _, out, err = nija("cache")
    assert "info" in out + err and "clear" in out + err
