"""A hostile place for the store: a full disk, a store planted by another user.

End to end through `nija show --json` against the mock exchanges (`reliability.harness`),
plus the store's own behaviour (`SqliteStore`) where the CLI would hide a detail.

- **Disk full.** A small tmpfs (`mount -t tmpfs -o size=1m`, as root) filled to a few KB:
  the store must still serve its last good values (a failed fetch shows `stale` with the
  value, never `unreachable $0`), drop its writes, and say once that it is full.
- **A store planted by another user.** A cache directory of mode 1777 holding a store owned
  by someone else (as root: `chown` to uid 1000), mode 0666, with a planted balance: it is
  not used at all (every connection is fetched), and one warning says why.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from nija_balances.domain.models import AssetValue, StoredResult, Valuation
from nija_balances.store.sqlite import FILENAME, SqliteStore
from reliability.harness import Conn, MockThread, Setup, nija

PLATFORM_BALANCES = {"USD": ("100", "0"), "BTC": ("1", "0")}  # 100 + 60,000
ALICE_BALANCES = {"USD": ("40", "10"), "BTC": ("0.25", "0.25")}  # 50 + 30,000
PLATFORM_VALUE, ALICE_VALUE = 60100.0, 30050.0
T0 = 1_768_924_800.0


def result(value: str = "100.00", fetched_at: float = T0) -> StoredResult:
    usd = AssetValue("USD", Decimal(value), Decimal(0), Decimal(value), Decimal(1), Decimal(value))
    return StoredResult("kraken", Valuation(Decimal(value), Decimal(value), (usd,)), fetched_at)


def connections(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{c['account']}/{c['connection']}": c for c in doc["connections"]}


# ---------------------------------------------------------------------------- a full disk


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs of its own, unmounted afterwards (needs root and a mount namespace that
    allows it; skipped otherwise, never simulated)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=False)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(mount: Path, leave: int) -> Path:
    """Fill the filesystem of `mount`, then free `leave` bytes (a multiple of 4 KB) again."""
    filler = mount / "filler"
    with open(filler, "ab", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    assert leave <= free_bytes(mount) < leave + 16384
    return filler


def full_warning(path: Path) -> str:
    return f"cache at {path} is full (no space left on device): reading only; free some space"


def platform_and_alice(setup: Setup, mocks: MockThread) -> tuple[Conn, Conn, str]:
    """The platform and alice on one Kraken mock, and the config file naming them."""
    kraken = mocks.start("kraken")
    platform = setup.add("platform", kraken, PLATFORM_BALANCES)
    alice = setup.add("alice", kraken, ALICE_BALANCES)
    return platform, alice, str(setup.write())


def test_full_disk_serves_the_last_good_value_as_stale(
    setup: Setup, mocks: MockThread, small_fs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under 32 KB free SQLite cannot even map the store's `-shm`: the store opens read-only.
    A failed fetch then shows `stale` with the last good value, not `unreachable $0`."""
    home = small_fs / "home"
    monkeypatch.setenv("NIJA_BALANCES_HOME", str(home))
    path = home / "cache" / FILENAME
    platform, alice, config = platform_and_alice(setup, mocks)
    kraken = alice.mock
    assert kraken is not None

    good = nija("show", "--json", "--refresh", "--config", config)
    assert (good.code, good.stderr) == (0, ""), good
    before = connections(good.json())[alice.key]
    assert before["status"] == "ok" and before["balance"] == ALICE_VALUE

    filler = fill(small_fs, leave=16 * 1024)
    alice.inject("http500")
    for _ in range(2):  # every command says it once
        shown = nija("show", "--json", "--refresh", "--config", config)
        assert shown.code == 0, shown
        conns = connections(shown.json())
        assert conns[alice.key]["status"] == "stale", conns[alice.key]
        assert conns[alice.key]["error"].startswith("unreachable: exchange unreachable: ")
        assert conns[alice.key]["balance"] == ALICE_VALUE
        assert conns[alice.key]["fetched_at"] == before["fetched_at"]
        assert conns[alice.key]["assets"] == before["assets"]
        assert (conns[platform.key]["status"], conns[platform.key]["balance"]) == (
            "ok",
            PLATFORM_VALUE,
        )
        assert shown.stderr == f"warning: {full_warning(path)}\n"

    filler.unlink()  # space again: the store writes again, with no warning
    alice.clear()
    mocks.call(lambda: kraken.accounts[alice.api_key].balances.update(USD=("41", "10")))
    again = nija("show", "--json", "--refresh", "--config", config)
    assert (again.code, again.stderr) == (0, ""), again
    after = connections(again.json())[alice.key]
    assert (after["status"], after["balance"]) == ("ok", ALICE_VALUE + 1)
    cached = nija("show", "--json", "--config", config)  # what it wrote is what is served
    assert (cached.code, cached.stderr) == (0, ""), cached
    served = connections(cached.json())[alice.key]
    assert (served["status"], served["balance"]) == ("cached", ALICE_VALUE + 1)


def test_store_opened_on_a_full_disk_reads_and_drops_writes(small_fs: Path) -> None:
    path = small_fs / "cache" / FILENAME
    with SqliteStore(path) as store:
        store.put("ns", "a/b", result("1.00"))
    filler = fill(small_fs, leave=16 * 1024)
    before = path.read_bytes()

    store = SqliteStore(path)
    assert store.get("ns", "a/b") == result("1.00")
    store.put("ns", "a/b", result("2.00", fetched_at=T0 + 1))  # dropped
    store.save_markets("kraken", {"BTC/USD": {}})  # dropped
    assert store.get("ns", "a/b") == result("1.00")
    assert store.info().entries == 1
    assert store.warnings == [full_warning(path)]
    assert store.available
    assert path.read_bytes() == before

    filler.unlink()  # once there is space again, writes resume (a long `nija watch`)
    store.put("ns", "a/b", result("3.00", fetched_at=T0 + 2))
    assert store.get("ns", "a/b") == result("3.00", fetched_at=T0 + 2)
    assert store.warnings == [full_warning(path)]
    store.close()


def test_disk_filling_up_under_an_open_store(small_fs: Path) -> None:
    """The store was opened with space; a write then meets a full disk (SQLITE_FULL)."""
    path = small_fs / "cache" / FILENAME
    store = SqliteStore(path)
    store.put("ns", "a/b", result("1.00"))
    fill(small_fs, leave=0)
    big = {f"k/{i}": result("2.00", fetched_at=T0 + 1) for i in range(2000)}
    store.put_many("ns", big)
    store.put_many("ns", big)
    store.save_markets("kraken", {"BTC/USD": {"id": "x" * 100_000}})
    assert store.get("ns", "a/b") == result("1.00")
    assert store.get_many("ns", list(big)) == {}
    assert store.warnings == [full_warning(path)]
    store.close()
    assert SqliteStore(path).get("ns", "a/b") == result("1.00")


def test_full_disk_while_another_process_holds_the_store_open(small_fs: Path) -> None:
    """The newest values are still in the other process's -wal: read-only (with the -shm it
    mapped) sees them; reading the main file alone would serve older ones."""
    path = small_fs / "cache" / FILENAME
    holder = SqliteStore(path)  # e.g. a `nija watch`: its last write is in the -wal
    holder.put("ns", "a/b", result("1.00"))
    holder.put("ns", "a/b", result("2.00", fetched_at=T0 + 1))
    assert os.path.getsize(f"{path}-wal") > 0
    fill(small_fs, leave=0)
    store = SqliteStore(path)
    assert store.get("ns", "a/b") == result("2.00", fetched_at=T0 + 1)
    store.put("ns", "a/b", result("3.00", fetched_at=T0 + 2))
    assert store.warnings == [full_warning(path)]
    store.close()
    holder.close()


# ---------------------------------------------------------------------------- a planted store

OTHER_UID = 1000


def test_a_store_planted_by_another_user_is_not_trusted(
    setup: Setup, mocks: MockThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving the store to another user needs root")
    shared = tmp_path / "shared"  # NIJA_BALANCES_HOME pointed at a shared directory
    monkeypatch.setenv("NIJA_BALANCES_HOME", str(shared))
    path = shared / "cache" / FILENAME
    platform, alice, config = platform_and_alice(setup, mocks)
    kraken = alice.mock
    assert kraken is not None
    good = nija("show", "--json", "--refresh", "--config", config)
    assert (good.code, good.stderr) == (0, ""), good

    # Another user makes the directory 1777 and the store theirs, 0666, and plants a balance
    # (a real attacker would write a whole store the same way; this one starts from ours).
    with sqlite3.connect(path) as db:
        planted = "'$.equity', '1000000.00', '$.cash', '1000000.00'"
        db.execute(
            f"UPDATE balances SET data = json_set(data, {planted}) WHERE key = ?", (alice.key,)
        )
    db.close()
    for p in (path.parent, *path.parent.iterdir()):
        os.chown(p, OTHER_UID, OTHER_UID)
    path.parent.chmod(0o1777)
    path.chmod(0o666)
    files = {p.name: p.read_bytes() for p in path.parent.iterdir()}

    asked = kraken.count("/0/private/BalanceEx")
    shown = nija("show", "--json", "--config", config)  # within the TTL: would be "cached"
    assert shown.code == 0, shown
    conns = connections(shown.json())
    assert (conns[alice.key]["status"], conns[alice.key]["balance"]) == ("ok", ALICE_VALUE)
    assert (conns[platform.key]["status"], conns[platform.key]["balance"]) == (
        "ok",
        PLATFORM_VALUE,
    )
    assert kraken.count("/0/private/BalanceEx") == asked + 2  # both fetched, none from the store
    assert shown.stderr == (
        f"warning: cache at {path} is not trusted (its directory {path.parent} is owned by "
        f"uid {OTHER_UID}, not by you); not caching\n"
    )
    assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == files  # left as it was
