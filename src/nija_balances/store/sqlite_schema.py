"""The SQLite file under `SqliteStore`: schema, transactions, error codes, file identity,
private directories and the lock that serialises recovery across processes. Stdlib only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

log = logging.getLogger("nija_balances.store.sqlite")  # the store's logger, as before the split

SCHEMA_VERSION = 5
CORRUPT_CODES = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB (primary result codes)
BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
IOERR, FULL = 10, 13  # SQLITE_IOERR (e.g. IOERR_SHMSIZE: no room for the -shm), SQLITE_FULL
# One good fetch of a connection: money and amounts as exact decimal strings, `assets` a JSON
# list of [currency, amount, price or null], `account` the exchange account's identity hash.
_SNAPSHOTS = (
    "CREATE TABLE snapshots (namespace TEXT NOT NULL, key TEXT NOT NULL,"
    " account TEXT NOT NULL, time REAL NOT NULL, cash TEXT NOT NULL, equity TEXT NOT NULL,"
    " assets TEXT NOT NULL, PRIMARY KEY (namespace, key, time)) WITHOUT ROWID",
)
# Schema 3: an account's trades (fills) and flows, and where each kind's sync stands. Rows
# are keyed by namespace, connection key, exchange account hash and the exchange's own id
# (de-duplicated on insert); money and amounts are exact decimal strings; `time` is epoch
# seconds. `sync_state.complete` is 0/1; `kind` is "trades" or "flows".
HISTORY_DDL = (
    "CREATE TABLE fills (namespace TEXT NOT NULL, key TEXT NOT NULL, account TEXT NOT NULL,"
    " id TEXT NOT NULL, order_id TEXT NOT NULL, time REAL NOT NULL, symbol TEXT NOT NULL,"
    " side TEXT NOT NULL, amount TEXT NOT NULL, price TEXT NOT NULL, cost TEXT NOT NULL,"
    " fee TEXT NOT NULL, fee_currency TEXT,"
    " PRIMARY KEY (namespace, key, account, id)) WITHOUT ROWID",
    "CREATE INDEX fills_by_time ON fills (namespace, key, time)",
    "CREATE TABLE flows (namespace TEXT NOT NULL, key TEXT NOT NULL, account TEXT NOT NULL,"
    " id TEXT NOT NULL, kind TEXT NOT NULL, time REAL NOT NULL, currency TEXT NOT NULL,"
    " amount TEXT NOT NULL, fee TEXT NOT NULL, fee_currency TEXT, value TEXT,"
    " estimated INTEGER NOT NULL, PRIMARY KEY (namespace, key, account, id)) WITHOUT ROWID",
    "CREATE INDEX flows_by_time ON flows (namespace, key, time)",
    "CREATE TABLE sync_state (namespace TEXT NOT NULL, key TEXT NOT NULL,"
    " account TEXT NOT NULL, kind TEXT NOT NULL, cursor TEXT, finished_at REAL,"
    " complete INTEGER NOT NULL DEFAULT 0, unsupported INTEGER NOT NULL DEFAULT 0,"
    " problem TEXT, updated_at REAL NOT NULL,"
    " PRIMARY KEY (namespace, key, account, kind)) WITHOUT ROWID",
)
# Alert state (store/sqlite_alerts.py): one row per (kind, account, connection or ''), written
# only over the `version` it was read at (the claim before a send); each sink's last
# delivery; and `marks`, times that one process at a time may move on (the report logging).
_ALERTS = (
    "CREATE TABLE alerts (namespace TEXT NOT NULL, kind TEXT NOT NULL, account TEXT NOT NULL,"
    " connection TEXT NOT NULL, state TEXT NOT NULL, since REAL NOT NULL, last_sent REAL,"
    " sent_count INTEGER NOT NULL, balance TEXT, threshold TEXT, message TEXT NOT NULL,"
    " version INTEGER NOT NULL, PRIMARY KEY (namespace, kind, account, connection))"
    " WITHOUT ROWID",
    "CREATE TABLE alert_sinks (namespace TEXT NOT NULL, sink TEXT NOT NULL, last_ok REAL,"
    " last_failed REAL, failures INTEGER NOT NULL, error TEXT,"
    " PRIMARY KEY (namespace, sink)) WITHOUT ROWID",
    "CREATE TABLE marks (namespace TEXT NOT NULL, name TEXT NOT NULL, time REAL NOT NULL,"
    " PRIMARY KEY (namespace, name)) WITHOUT ROWID",
)
# Schema 5: per connection and exchange account, the FIFO replay of its tracked span as the
# P&L last computed it (`engine.replay_cache`: a JSON document that names its own inputs, so
# that `nija pnl` reads no fills while they are unchanged). Only a cache: a row may go.
REPLAYS_DDL = (
    "CREATE TABLE IF NOT EXISTS replays (namespace TEXT NOT NULL, key TEXT NOT NULL,"
    " account TEXT NOT NULL, data TEXT NOT NULL, updated_at REAL NOT NULL,"
    " PRIMARY KEY (namespace, key, account)) WITHOUT ROWID",
)
_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE balances (namespace TEXT NOT NULL, key TEXT NOT NULL,"
    " fetched_at REAL NOT NULL, data TEXT NOT NULL, PRIMARY KEY (namespace, key)) WITHOUT ROWID",
    "CREATE TABLE markets (exchange TEXT PRIMARY KEY, saved_at REAL NOT NULL,"
    " count INTEGER NOT NULL, data TEXT NOT NULL)",
    *_SNAPSHOTS,
    *HISTORY_DDL,
    *_ALERTS,
    *REPLAYS_DDL,
)
# What each older version needs to become this one without losing what it holds; a version
# not listed (or unreadable) is rebuilt empty.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (*_SNAPSHOTS, *HISTORY_DDL, *_ALERTS, *REPLAYS_DDL),
    2: (*HISTORY_DDL, *_ALERTS, *REPLAYS_DDL),
    3: (*_ALERTS, *REPLAYS_DDL),
    4: REPLAYS_DDL,
}
# Versions whose balances a read-only connection still serves (a full disk cannot upgrade
# them); the tables they lack simply read as empty.
READABLE_VERSIONS = frozenset({1, 2, 3, 4, SCHEMA_VERSION})


class NewerSchema(Exception):
    pass


class Untrusted(Exception):
    """The store's file or directory could have been written by someone else (the reason)."""


def check_trusted(path: Path) -> None:
    """Raise `Untrusted` unless only the current user can have written the store at `path`
    (OSError when the file, or a side file, is not a regular file).

    The rule (POSIX; elsewhere nothing is checked): the directory that holds the store file,
    symlinks followed, must be owned by the current user and not writable by group or others;
    so must the file, its `-wal` and its `-shm` where they exist, and the file must be a
    regular file. When the file is a symlink, the directory it really lives in is checked
    too. The directories above are not: a directory the store made for itself inside /tmp
    (1777, root's) is fine, since others can neither write in it nor, under the sticky bit,
    rename it. A missing directory is created 0700 by `make_dirs` before this check.
    """
    if not hasattr(os, "geteuid"):
        return
    uid = os.geteuid()
    directory = path.parent
    _check_owner(directory, uid, _directory_name(directory))
    real = Path(os.path.realpath(path))
    if real.parent != Path(os.path.realpath(directory)):
        _check_owner(real.parent, uid, _directory_name(real.parent))
    for suffix in ("", "-wal", "-shm"):
        name = "the file" if not suffix else f"{real.name}{suffix}"
        try:
            st = os.stat(f"{real}{suffix}")
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise Untrusted(f"{name} cannot be checked: {exc}") from None
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block the open: unusable, not unsafe
            raise OSError(f"{real}{suffix} is not a regular file")
        _check_stat(st, uid, name)


def _directory_name(directory: Path) -> str:
    if directory.is_symlink():
        return f"its directory {directory} (a link to {os.path.realpath(directory)})"
    return f"its directory {directory}"


def _check_owner(path: Path, uid: int, name: str) -> None:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise Untrusted(f"{name} cannot be checked: {exc}") from None
    _check_stat(st, uid, name)


def _check_stat(st: os.stat_result, uid: int, name: str) -> None:
    if st.st_uid != uid:
        raise Untrusted(f"{name} is owned by uid {st.st_uid}, not by you")
    if st.st_mode & 0o022:
        raise Untrusted(f"{name} is writable by other users (mode {stat.S_IMODE(st.st_mode):o})")


def error_code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def file_identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def free_space(path: Path) -> int | None:
    """Bytes this process may still write on the filesystem of `path` or of its nearest
    existing parent (None: unknown). Root may use the blocks reserved for it, as SQLite does."""
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        st = os.statvfs(path)
    except (OSError, AttributeError):
        return None
    blocks = st.f_bfree if hasattr(os, "geteuid") and os.geteuid() == 0 else st.f_bavail
    return int(blocks * st.f_frsize)


def make_dirs(directory: Path) -> None:
    """Create missing directories with mode 0700 (existing ones are left as they are)."""
    missing: list[Path] = []
    while not directory.exists() and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(d, 0o700)


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the tables, or rebuild them when the file holds an older or unknown schema."""
    if schema_version(conn) == SCHEMA_VERSION:
        return
    with transaction(conn):
        version = schema_version(conn)
        if version is not None and version > SCHEMA_VERSION:
            raise NewerSchema(version)
        if version == SCHEMA_VERSION:
            return
        if version in _MIGRATIONS:
            for statement in _MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )
            migrated = True
        else:
            migrated = False
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            for (name,) in conn.execute(sql).fetchall():
                conn.execute('DROP TABLE "{}"'.format(name.replace('"', '""')))
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    if version is not None:
        how = "upgraded to" if migrated else "rebuilt as"
        log.info("cache schema %s %s %s", version, how, SCHEMA_VERSION)


def schema_version(conn: sqlite3.Connection) -> int | None:
    """The stored version; None without a meta table; -1 when unreadable (rebuilt)."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such" in str(exc):
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            return -1 if tables else None
        raise
    try:
        return int(row[0]) if row is not None else -1
    except (TypeError, ValueError):
        return -1


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.rollback()
        raise
    conn.execute("COMMIT")


class LockTimeout(Exception):
    """The file lock was not had within the time given (another process holds it)."""


class FileLock:
    """`flock(2)` on a lock file beside the store, between processes: shared while a process
    opens the store, exclusive while one creates, upgrades or rebuilds the file. So a process
    never opens a file another one is replacing or has not finished creating.

    Waits are bounded (`LockTimeout`). Best effort: where the lock file cannot be made (a
    read-only or full directory) or fcntl is missing, nothing is locked.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = os.getpid()
        self._held = False

    @contextlib.contextmanager
    def held(self, *, exclusive: bool, timeout: float) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:
            yield
            return
        fd = self._open()
        if fd is None:
            yield
            return
        flag = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        deadline, pause = time.monotonic() + timeout, 0.001
        while True:
            try:
                fcntl.flock(fd, flag)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(timeout) from None
                time.sleep(pause)  # flock has no timed wait: poll, backing off to 50 ms
                pause = min(pause * 2, 0.05)
        self._held = True
        try:
            yield
        finally:
            self._held = False
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _open(self) -> int | None:
        if self._fd is not None and self._pid != os.getpid():
            with contextlib.suppress(OSError):  # forked: the parent's lock is not ours
                os.close(self._fd)
            self._fd, self._pid = None, os.getpid()
        if self._fd is None:
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
            try:
                self._fd = os.open(self.path, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
            except OSError:
                return None
        return self._fd

    def close(self) -> None:
        if self._fd is not None and not self._held and self._pid == os.getpid():
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


T = TypeVar("T")
CHUNK = 500  # keys per `IN (...)` query: under SQLite's limit on bound parameters


def key_chunks(keys: list[str]) -> Iterable[list[str]]:
    """`keys` in runs of at most `CHUNK`, one `IN (...)` query each."""
    return (keys[i : i + CHUNK] for i in range(0, len(keys), CHUNK))


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    """Whether the file has table `name` (a file of an older schema is read as it is)."""
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return conn.execute(sql, (name,)).fetchone() is not None


class StoreMixin:
    """What a part of `SqliteStore` (its history, its replays) uses of the store: every
    query goes through `_run`, so the store's rules hold (never raise, reads miss, writes
    are dropped, each problem said once in `warnings`)."""

    if TYPE_CHECKING:
        _clock: Callable[[], float]

        def _run(
            self,
            op: str,
            fn: Callable[[sqlite3.Connection], T],
            default: T,
            *,
            create: bool = True,
        ) -> T: ...
