"""A hostile place for the store: a full disk, a store planted by another user.

End to end through `nija show --json` against the mock exchanges (`reliability.harness`),
plus the store's own behaviour (`SqliteStore`) where the CLI would hide a detail.

- **Disk full.** A small tmpfs (`mount -t tmpfs -o size=1m`, as root) filled to a few KB:
  the store must still serve its last good values (a failed fetch shows `stale` with the
  value, never `unreachable $0`), drop its writes, and say once that it is full.
- **A store planted by another user.** A cache directory of mode 1777 holding a store owned
  by someone else (as root: `chown` to uid 1000), mode 0666, with a planted balance: it is
  not used at all (every connection is fetched), and one warning says why.
- **An input file too large to read.** `files.read_text_capped` reads at most `limit + 1`
  bytes of a file (regular, growing, a device or a pipe) and refuses it beyond `limit`,
  with a clear error; the config loader is to read through it.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from nija_balances.domain.models import AssetValue, StoredResult, Valuation
from nija_balances.store.sqlite import FILENAME, SqliteStore
from reliability.harness import MockThread, Setup, nija

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


def test_full_disk_serves_the_last_good_value_as_stale(
    setup: Setup, mocks: MockThread, small_fs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under 32 KB free SQLite cannot even map the store's `-shm`: the store opens read-only.
    A failed fetch then shows `stale` with the last good value, not `unreachable $0`."""
    home = small_fs / "home"
    monkeypatch.setenv("NIJA_BALANCES_HOME", str(home))
    path = home / "cache" / FILENAME
    kraken = mocks.start("kraken")
    platform = setup.add("platform", kraken, PLATFORM_BALANCES)
    alice = setup.add("alice", kraken, ALICE_BALANCES)
    config = str(setup.write())

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
    kraken = mocks.start("kraken")
    platform = setup.add("platform", kraken, PLATFORM_BALANCES)
    alice = setup.add("alice", kraken, ALICE_BALANCES)
    config = str(setup.write())
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


# ---------------------------------------------------------------------------- an input too large

KIB = 1024


def bytes_read() -> int:
    """What this process has read through read(2) so far (Linux: /proc/self/io `rchar`)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def test_a_file_within_the_limit_is_read_as_text(tmp_path: Path) -> None:
    from nija_balances.files import read_text_capped

    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b"x" * (64 * KIB - 3))  # a BOM, exactly at the limit
    assert read_text_capped(path, 64 * KIB) == "x" * (64 * KIB - 3)
    path.write_bytes("zoë = 1\n".encode())
    assert read_text_capped(path, 64 * KIB) == "zoë = 1\n"
    path.write_bytes(b"caf\xe9")  # not UTF-8: the error the loader already reports
    with pytest.raises(UnicodeDecodeError):
        read_text_capped(path, 64 * KIB)


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs /proc/self/io")
def test_a_huge_file_is_refused_without_being_read(tmp_path: Path) -> None:
    from nija_balances.files import FileTooLarge, read_text_capped

    path = tmp_path / "config.toml"
    with path.open("wb") as f:  # 1 GB (sparse: nothing of it is on the disk)
        f.truncate(1 << 30)
    before = bytes_read()
    with pytest.raises(FileTooLarge) as caught:
        read_text_capped(path, 1 << 20)
    assert bytes_read() - before < 64 * KIB  # refused from its size: not a byte of it read
    exc = caught.value
    assert (exc.path, exc.limit, exc.size) == (path, 1 << 20, 1 << 30)
    assert isinstance(exc, OSError) and exc.errno == errno.EFBIG
    assert str(exc) == (
        f"{path} is too large to read (1,073,741,824 bytes; at most 1,048,576 are read)"
    )


def test_a_file_exactly_one_byte_over_the_limit_is_refused(tmp_path: Path) -> None:
    from nija_balances.files import FileTooLarge, read_text_capped

    path = tmp_path / "config.toml"
    path.write_text(" " * (64 * KIB + 1))
    with pytest.raises(FileTooLarge):
        read_text_capped(path, 64 * KIB)


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs /proc/self/io")
def test_a_file_without_a_size_is_read_only_to_the_limit(tmp_path: Path) -> None:
    """A device or a file in /proc says size 0; /dev/zero never ends. At most `limit + 1`
    bytes are read, then it is refused (its size is not known)."""
    from nija_balances.files import FileTooLarge, read_text_capped

    before = bytes_read()
    with pytest.raises(FileTooLarge) as caught:
        read_text_capped(Path("/dev/zero"), 256 * KIB)
    assert bytes_read() - before <= 256 * KIB + 1 + 64 * KIB
    assert caught.value.size is None
    assert str(caught.value) == (
        "/dev/zero is too large to read (more than 262,144 bytes; at most 262,144 are read)"
    )


def test_a_pipe_that_keeps_writing_is_cut_at_the_limit(tmp_path: Path) -> None:
    """1 MB of whitespace down a named pipe (a writer that would go on): refused after
    `limit + 1` bytes; the writer sees the pipe closed."""
    from nija_balances.files import FileTooLarge, read_text_capped

    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo, 0o600)
    outcome: list[BaseException | int] = []

    def write() -> None:
        sent = 0
        try:
            with open(fifo, "wb") as f:
                for _ in range(16):
                    f.write(b" " * (64 * KIB))
                    sent += 64 * KIB
        except BrokenPipeError as exc:
            outcome.append(exc)
        else:
            outcome.append(sent)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    with pytest.raises(FileTooLarge):
        read_text_capped(fifo, 64 * KIB)
    writer.join(30)
    assert not writer.is_alive() and isinstance(outcome[0], BrokenPipeError)


def test_a_file_that_grew_after_its_size_was_read_is_cut_at_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its size said 10 bytes (as when it was looked at), it holds 1 MB by the time it is read."""
    from nija_balances import files

    path = tmp_path / "config.toml"
    path.write_text(" " * (1 << 20))
    real = os.fstat

    def looked_at_earlier(fd: int) -> os.stat_result:
        st = list(real(fd))
        st[6] = 10  # st_size
        return os.stat_result(st)

    monkeypatch.setattr(files.os, "fstat", looked_at_earlier)
    with pytest.raises(files.FileTooLarge) as caught:
        files.read_text_capped(path, 64 * KIB)
    assert caught.value.size is None
