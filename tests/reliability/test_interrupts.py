"""Ctrl-C: every command exits 130 with one line and no traceback, and the store stays whole.

The fetch is held up by the mock (a long latency), SIGINT is sent once the mock has seen the
balance request (polled, not slept for), and afterwards the store must pass SQLite's
integrity check and still serve the last good values from before. `nija watch` is
interrupted in a real terminal (tmux), which must be left as it was found.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reliability.harness import NIJA, MockThread, Setup, env_names, nija, wait_until
from terminal import Tmux

pytestmark = [pytest.mark.network_mock, pytest.mark.slow]

LATENCY = 8.0  # the mock holds every balance request this long: far beyond the test's wait
PRIVATE = "/0/private/"


@pytest.fixture
def held(setup: Setup, mocks: MockThread) -> Iterator[tuple[Setup, MockThread, dict[str, float]]]:
    """A config with two Kraken connections, fetched once (good values in the store)."""
    kraken = mocks.start("kraken")
    setup.add("platform", kraken, {"USD": ("100", "0"), "BTC": ("1", "0")})
    setup.add("alice", kraken, {"USD": ("50.5", "0")})
    setup.write()
    good = nija("show", "--json", "--refresh", "--config", str(setup.path))
    values = {f"{c['account']}/{c['connection']}": c["balance"] for c in good.json()["connections"]}
    assert values == {"platform/kraken": 60100.0, "alice/kraken": 50.5}
    yield setup, mocks, values


def store_path(home: Path) -> Path:
    return next(home.rglob("balances.sqlite3"))


def integrity(path: Path) -> str:
    if shutil.which("sqlite3"):
        run = subprocess.run(
            ["sqlite3", str(path), "PRAGMA integrity_check;"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return run.stdout.strip()
    with sqlite3.connect(path) as conn:  # pragma: no cover - the sqlite3 tool is missing
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.mark.parametrize(
    "command",
    [
        ("show", "--refresh"),
        ("show", "--json", "--refresh"),
        ("status", "--refresh"),
        ("user", "alice", "--refresh"),
        ("config", "check", "--connect"),
    ],
    ids=" ".join,
)
def test_sigint_during_a_fetch_exits_130_and_keeps_the_store(
    held: tuple[Setup, MockThread, dict[str, float]], isolated_home: Path, command: tuple[str, ...]
) -> None:
    setup, mocks, values = held
    kraken = setup.conns[0].mock
    assert kraken is not None
    mocks.call(lambda: kraken.inject("latency", path=PRIVATE, seconds=LATENCY))
    seen = kraken.count(PRIVATE)

    proc = subprocess.Popen(
        [*NIJA, *command, "--config", str(setup.path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_until(lambda: kraken.count(PRIVATE) > seen, 15, "the balance request")
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, (out, err)
    assert time.monotonic() - sent < LATENCY / 2  # it stopped, it did not wait the fetch out
    assert "Traceback" not in err, err
    if command[0] == "config":  # its progress lines come first
        assert err.splitlines()[-1] == "Interrupted", err
    else:
        assert err == "Interrupted\n", err
        assert out == "", out  # no half report on stdout

    mocks.call(kraken.clear_faults)
    assert integrity(store_path(isolated_home)) == "ok"
    after = nija("show", "--json", "--config", str(setup.path))
    assert after.code == 0, after
    conns = {f"{c['account']}/{c['connection']}": c for c in after.json()["connections"]}
    assert {k: c["balance"] for k, c in conns.items()} == values
    assert {c["status"] for c in conns.values()} == {"cached"}  # the last good values, intact


# ---------------------------------------------------------------------------- watch in tmux


# after the command: the terminal's modes as the shell sees them
MODES = "echo MODES: $(stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo|isig)' | tr '\\n' ' '); "


@pytest.fixture
def tmux(isolated_home: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    term = Tmux(isolated_home)
    yield term
    term.close()


def watch_pid(tmux: Tmux) -> int:
    """The pid of `nija watch`: the child of the pane's shell (found by pid, never by name)."""
    shell = tmux.tmux("display-message", "-p", "-t", "w", "#{pane_pid}").strip()
    found = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True, timeout=10)
    pids = [int(p) for p in found.stdout.split()]
    assert len(pids) == 1, (shell, found.stdout)
    return pids[0]


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_watch_interrupted_during_a_fetch_restores_the_terminal(
    tmux: Tmux, held: tuple[Setup, MockThread, dict[str, float]], isolated_home: Path, how: str
) -> None:
    """Ctrl-C exits 130 with one line; SIGTERM (`kill`, `timeout`) exits 143. Both put the
    terminal back: cooked mode with echo, the cursor shown, off the alternate screen."""
    if how == "sigterm" and shutil.which("pgrep") is None:
        pytest.skip("pgrep is not installed")
    setup, mocks, _ = held
    kraken = setup.conns[0].mock
    assert kraken is not None
    # the pane's shell may not see this process's environment: credentials go in a .env
    lines = []
    for conn in setup.conns:
        key_var, secret_var, _ = env_names(conn.exchange, conn.account)
        lines += [f"{key_var}={conn.api_key}", f"{secret_var}={conn.creds.api_secret}"]
    (setup.path.parent / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")

    tmux.start(f"{sys.executable} -m nija_balances watch --config {setup.path} --interval 5", MODES)
    # the first paint comes from the cache; then the real fetch starts and is held up
    tmux.wait_for(lambda s: "platform" in s.lower() and "$60,100.00" in s)
    seen = kraken.count(PRIVATE)
    mocks.call(lambda: kraken.inject("latency", path=PRIVATE, seconds=LATENCY))
    wait_until(lambda: kraken.count(PRIVATE) > seen, 20, "watch to fetch")
    screen = tmux.wait_for(lambda s: "refreshing" in s)
    assert "Traceback" not in screen

    if how == "ctrl-c":
        tmux.tmux("send-keys", "-t", "w", "C-c")
    else:
        os.kill(watch_pid(tmux), signal.SIGTERM)
    after = tmux.wait_for(lambda s: "MODES:" in s, timeout=10)
    assert ("EXIT=130" if how == "ctrl-c" else "EXIT=143") in after, after
    assert ("Interrupted" in after) == (how == "ctrl-c"), after
    assert "Traceback" not in after and "Terminated" not in after, after
    modes = after.split("MODES:")[1].split()
    assert sorted(modes) == ["echo", "icanon", "isig"], after  # cooked mode, echo back on
    flags = tmux.tmux("display-message", "-p", "-t", "w", "#{cursor_flag} #{alternate_on}")
    assert flags.split() == ["1", "0"], flags  # cursor shown, out of the alternate screen
    assert "refreshing" not in after  # the live view went with the alternate screen
    mocks.call(kraken.clear_faults)
    assert integrity(store_path(isolated_home)) == "ok"
