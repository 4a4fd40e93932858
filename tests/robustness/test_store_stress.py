"""The on-disk store under stress, through `nija show --refresh --json` against mock exchanges.

- ten processes refreshing at once, sharing one store;
- a store file that is truncated, or garbage;
- a store locked by another process (`BEGIN EXCLUSIVE`) for longer than the busy timeout;
- a store in a directory that cannot be written (under a regular file; `chattr +i`).

In every case the command exits 0 and shows the balances, fetched fresh; nothing already
stored is lost or corrupted; and each problem is one `warning:` line on stderr.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mockex import MockExchange
from nija_balances.store.sqlite import BUSY_TIMEOUT, FILENAME, SqliteStore
from robustness.conftest import MockThread, Setup, nija, nija_process

KRAKEN_BALANCES = {"USD": ("100.10", "0"), "BTC": ("0.4", "0.1")}  # 100.10 + 0.5 × 60000


@pytest.fixture
def exchanges(setup: Setup, mocks: MockThread) -> dict[str, MockExchange]:
    """Three mock exchanges, five users (one disabled, one paper) and the platform."""
    kraken, binance, okx = mocks.start("kraken"), mocks.start("binance"), mocks.start("okx")
    setup.add("platform", kraken, KRAKEN_BALANCES, "30100.10")
    setup.add("alice", binance, {"USDT": ("250.5", "0"), "BTC": ("0.25", "0")}, "15250.50")
    setup.add("bob", okx, {"USDT": ("10", "0"), "ETH": ("1", "0.5")}, "4510.00")
    setup.add("bob", kraken, {"USD": ("0.01", "0")}, "0.01", name="kraken-2")
    setup.write()
    with setup.path.open("a") as config:
        config.write(
            '\n[users.carol.paper]\nexchange = "paper"\nbalances = { USD = 7.5 }\n'
            '\n[users.dave]\nenabled = false\n\n[users.dave.kraken]\napi_key_env = "NOPE"\n'
        )
    return {"kraken": kraken, "binance": binance, "okx": okx}


EXPECTED_BALANCES = {
    "platform": {"kraken": 30100.10},
    "users": {
        "alice": {"binance": 15250.50},
        "bob": {"okx": 4510.00, "kraken-2": 0.01},
        "carol": {"paper": 7.5},
        "dave": {"kraken": 0.0},
    },
}
STORED = ["platform/kraken", "alice/binance", "bob/okx", "bob/kraken-2"]


def check_document(text: str, since: datetime, statuses: dict[str, str] | None = None) -> None:
    """A correct `nija show --json` document, fetched after `since` unless said otherwise."""
    doc = json.loads(text)
    wanted = {"dave/kraken": "disabled"} | (statuses or {})
    seen = {
        f"{c['account']}/{c['connection']}": (c["status"], c["error"]) for c in doc["connections"]
    }
    # statuses first, with their errors: a failure says why (a timeout, a store problem)
    assert {key: status for key, (status, _) in seen.items()} == {
        key: wanted.get(key, "ok") for key in seen
    }, seen
    assert doc["balances"] == EXPECTED_BALANCES
    summary = doc["summary"]
    assert summary["platform_total"] == 30100.10
    assert summary["user_totals"] == {"alice": 15250.5, "bob": 4510.01, "carol": 7.5}
    assert summary["total_user_capital"] == 19768.01
    assert (summary["user_count"], summary["connections_total"]) == (3, 5)
    assert (summary["connections_counted"], summary["complete"]) == (5, True)
    for conn in doc["connections"]:
        key = f"{conn['account']}/{conn['connection']}"
        assert conn["status"] == wanted.get(key, "ok"), conn
        if conn["status"] == "ok":
            assert datetime.fromisoformat(conn["fetched_at"]) >= since.replace(microsecond=0)


def check_store(path: Path, setup: Setup, fetched_after: float | None = None) -> None:
    """The store passes `PRAGMA integrity_check` and holds every connection, correctly."""
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    db.close()
    with SqliteStore(path) as store:
        held = store.get_many(setup.namespace, STORED)
        assert store.warnings == []
    assert sorted(held) == sorted(STORED)
    for key, result in held.items():
        account, name = key.split("/")
        assert result.valuation.equity == setup.expected[(account, name)]
        if fetched_after is not None:
            assert result.fetched_at >= fetched_after


def store_path(home: Path) -> Path:
    return home / "cache" / FILENAME


def now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------ ten processes at once


@pytest.mark.slow
def test_ten_processes_refresh_at_once(
    setup: Setup, exchanges: dict[str, MockExchange], isolated_home: Path
) -> None:
    started, began = now(), time.time()
    procs = []
    for _ in range(10):  # each process its own Kraken keys: a key's nonces must only grow
        env = dict(setup.env)
        env |= setup.another_key("platform", "kraken", exchanges["kraken"], KRAKEN_BALANCES)
        env |= setup.another_key("bob", "kraken-2", exchanges["kraken"], {"USD": ("0.01", "0")})
        procs.append(nija_process("show", "--refresh", "--json", "--config", setup.path, env=env))
    outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert (proc.returncode, err) == (0, "")
        check_document(out, started)
    check_store(store_path(isolated_home), setup, fetched_after=began)
    for name, mock in exchanges.items():
        assert mock.unexpected == [] and mock.auth_rejections == 0, name
    assert exchanges["kraken"].requests["/0/private/BalanceEx"] == 20
    # one Binance key shared by all ten: single-flight, one fetches and the others use its
    # result (at most twice: a process may start just after another's lock went)
    assert 1 <= exchanges["binance"].requests["/api/v3/account"] <= 2
    with SqliteStore(store_path(isolated_home)) as store:  # the markets were kept too
        assert sorted(m.exchange for m in store.info().markets) == ["binance", "kraken", "okx"]


@pytest.mark.slow
def test_ten_processes_meet_a_corrupt_store_and_one_rebuilds_it(
    setup: Setup,
    exchanges: dict[str, MockExchange],
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warm(setup, monkeypatch, isolated_home)
    path = store_path(isolated_home)
    path.write_bytes(garbage := os.urandom(40_000))
    started, began = now(), time.time()
    procs = []
    for _ in range(10):
        env = dict(setup.env)
        env |= setup.another_key("platform", "kraken", exchanges["kraken"], KRAKEN_BALANCES)
        env |= setup.another_key("bob", "kraken-2", exchanges["kraken"], {"USD": ("0.01", "0")})
        procs.append(nija_process("show", "--refresh", "--json", "--config", setup.path, env=env))
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0] * 10
    for out, _ in outputs:
        check_document(out, started)
    warnings = [err for _, err in outputs if err]
    assert len(warnings) == 1  # the one that moved it aside says so; the others use the new file
    aside = moved_aside(path, "file is not a database", warnings[0])
    assert aside.read_bytes() == garbage
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        [path.name, aside.name, f"{path.name}.lock"]
    )
    check_store(path, setup, fetched_after=began)


# ------------------------------------------------------------------ a damaged store file


def warm(setup: Setup, monkeypatch: pytest.MonkeyPatch, home: Path) -> float:
    """One good refresh, so that the store holds every connection; returns when it ran."""
    setup.apply(monkeypatch)
    began = time.time()
    run = nija("show", "--refresh", "--json", "--config", setup.path)
    assert (run.code, run.err) == (0, "")
    check_store(store_path(home), setup)
    return began


def moved_aside(path: Path, reason: str, err: str) -> Path:
    """The single warning of a rebuilt store; returns where the damaged file went."""
    pattern = (
        re.escape(f"warning: cache at {path} was corrupt ({reason}); moved to {path}.corrupt-")
        + r"(\d{8}T\d{6}Z(?:-\d+)?) and rebuilt\n"
    )
    match = re.fullmatch(pattern, err)
    assert match, err
    return path.with_name(f"{path.name}.corrupt-{match.group(1)}")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        pytest.param(lambda data: data[: len(data) // 2 + 100], "database disk image is malformed",
                     id="truncated"),
        pytest.param(lambda data: os.urandom(len(data)), "file is not a database", id="garbage"),
        pytest.param(lambda data: b"\0" * 100 + data[100:], "file is not a database",
                     id="header-zeroed"),
    ],
)  # fmt: skip
def test_damaged_store_is_moved_aside_and_rebuilt(
    setup: Setup,
    exchanges: dict[str, MockExchange],
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    damage: Any,
    reason: str,
) -> None:
    warm(setup, monkeypatch, isolated_home)
    path = store_path(isolated_home)
    path.write_bytes(damaged := damage(path.read_bytes()))
    started, began = now(), time.time()
    run = nija("show", "--refresh", "--json", "--config", setup.path)
    assert run.code == 0
    check_document(run.out, started)
    aside = moved_aside(path, reason, run.err)
    assert aside.read_bytes() == damaged  # kept as it was, for whoever wants to look
    check_store(path, setup, fetched_after=began)  # the new file holds the fresh values


# ------------------------------------------------------------------ locked by another process

HOLDER = r"""
import select, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN EXCLUSIVE")
db.execute("UPDATE meta SET value = value")  # really holds the write lock
print("locked", flush=True)
select.select([sys.stdin], [], [], 60)  # released by the test, or after 60 s at the latest
db.execute("ROLLBACK")
"""


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another process holds `BEGIN EXCLUSIVE` on the store until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        ready, _, _ = select.select([holder.stdout], [], [], 30)
        assert ready and holder.stdout.readline() == "locked\n"
        yield
    finally:
        holder.communicate("release\n", timeout=30)
    assert holder.returncode == 0


@pytest.mark.slow
def test_store_locked_longer_than_the_busy_timeout(
    setup: Setup,
    exchanges: dict[str, MockExchange],
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warm(setup, monkeypatch, isolated_home)
    path = store_path(isolated_home)
    with locked(path):
        began, asked = time.monotonic(), now()  # `asked`: before the paper one is fetched
        cached = nija("show", "--json", "--config", setup.path)  # reads are never blocked
        assert time.monotonic() - began < BUSY_TIMEOUT / 2
        assert (cached.code, cached.err) == (0, "")
        check_document(cached.out, asked, statuses=dict.fromkeys(STORED, "cached"))

        started, began, skipped = now(), time.monotonic(), time.time()
        fresh = nija("show", "--refresh", "--json", "--config", setup.path)
        took = time.monotonic() - began
        assert fresh.code == 0
        check_document(fresh.out, started)
        assert fresh.err == (
            f"warning: cache at {path} is locked by another process (waited "
            f"{BUSY_TIMEOUT:g} s); write skipped\n"
        )
        # one busy timeout for the whole refresh, not one per write (balances, markets)
        assert BUSY_TIMEOUT <= took < 2 * BUSY_TIMEOUT
    check_store(path, setup)  # what was stored before is intact (and was not overwritten)
    with SqliteStore(path) as store:
        stored = store.get_many(setup.namespace, STORED).values()
        assert max(r.fetched_at for r in stored) < skipped
    began_again = time.time()
    again = nija("show", "--refresh", "--json", "--config", setup.path)  # and it writes again
    assert (again.code, again.err) == (0, "")
    check_store(path, setup, fetched_after=began_again)


# ------------------------------------------------------------------ a directory it cannot write


def test_store_under_a_regular_file(
    setup: Setup,
    exchanges: dict[str, MockExchange],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`mkdir` fails for root too: the cache directory's parent is a file."""
    (tmp_path / "not-a-dir").write_text("a file where a directory should be")
    home = tmp_path / "not-a-dir" / "home"
    monkeypatch.setenv("NIJA_BALANCES_HOME", str(home))
    setup.apply(monkeypatch)
    started = now()
    run = nija("show", "--refresh", "--json", "--config", setup.path)
    assert run.code == 0
    check_document(run.out, started)
    assert run.err == (
        f"warning: cache at {store_path(home)} cannot be opened ([Errno 20] Not a directory: "
        f"'{home}'); not caching\n"
    )


def chattr(flag: str, path: Path) -> bool:
    if shutil.which("chattr") is None:
        return False
    done = subprocess.run(["chattr", flag, str(path)], capture_output=True, check=False)
    return done.returncode == 0


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    """`chattr +i`: a file nobody can write, a directory nothing can be created in or removed
    from, not even by root (unlike modes)."""
    if not chattr("+i", path):
        pytest.skip("chattr +i is not available here (needs CAP_LINUX_IMMUTABLE and ext4/xfs)")
    try:
        yield
    finally:
        assert chattr("-i", path)


def test_store_in_a_directory_nothing_can_be_written_to(
    setup: Setup,
    exchanges: dict[str, MockExchange],
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warm(setup, monkeypatch, isolated_home)
    path = store_path(isolated_home)
    before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
    with immutable(path.parent):
        for args in (("--refresh",), ()):  # with nothing readable, show fetches anyway
            started = now()
            run = nija("show", *args, "--json", "--config", setup.path)
            assert run.code == 0
            check_document(run.out, started)
            assert run.err == (
                f"warning: cache at {path} cannot be opened (unable to open database file); "
                "not caching\n"
            )
    assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == before  # untouched
    check_store(path, setup)


def test_store_in_an_empty_directory_nothing_can_be_written_to(
    setup: Setup,
    exchanges: dict[str, MockExchange],
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directory = store_path(isolated_home).parent
    directory.mkdir()
    setup.apply(monkeypatch)
    with immutable(directory):
        started = now()
        run = nija("show", "--refresh", "--json", "--config", setup.path)
        assert run.code == 0
        check_document(run.out, started)
        assert run.err == (
            f"warning: cache at {store_path(isolated_home)} cannot be opened ([Errno 1] "
            f"Operation not permitted: '{store_path(isolated_home)}'); not caching\n"
        )
    assert list(directory.iterdir()) == []


def test_store_file_that_cannot_be_written(
    setup: Setup,
    exchanges: dict[str, MockExchange],
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An immutable store file opens read-only: cached values are served, writes warn once."""
    warm(setup, monkeypatch, isolated_home)
    path = store_path(isolated_home)
    before = path.read_bytes()
    with immutable(path):
        asked = now()  # before the paper connection is fetched
        cached = nija("show", "--json", "--config", setup.path)
        assert (cached.code, cached.err) == (0, "")
        check_document(cached.out, asked, statuses=dict.fromkeys(STORED, "cached"))
        started = now()
        run = nija("show", "--refresh", "--json", "--config", setup.path)
        assert run.code == 0
        check_document(run.out, started)
        assert run.err == (
            f"warning: cache at {path}: write failed (attempt to write a readonly database)\n"
        )
        assert path.read_bytes() == before
    check_store(path, setup)
