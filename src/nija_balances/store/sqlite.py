"""The on-disk store: the last good result of every connection, and exchange market lists.

One SQLite file in WAL mode, shared by every process of the user at once (`nija watch` in one
terminal, `nija show` in another, cron): writes are short `BEGIN IMMEDIATE` transactions, reads
never block on writers. The store never raises for a problem with its file: a corrupt file is
moved aside and rebuilt, a file that cannot be opened makes reads miss and writes no-ops, and
each problem is said once in `warnings`.

Waiting, made for a busy host (ten processes at once, load 6-15 on two cores):

- a read waits only for locks that pass (a process closing last checkpoints under an
  exclusive lock; one creating or rebuilding the file), up to READ_WAIT (30 s);
- a write keeps waiting as long as other processes keep finishing writes (`PRAGMA
  data_version` moves), up to WRITE_WAIT_MAX (60 s); it gives up only when no write finishes
  for `busy_timeout` (BUSY_TIMEOUT, 5 s: a stuck process), and then the later writes of the
  store wait BUSY_RETRY (0.1 s) until one succeeds; reads are never shortened by that;
- a markets write waits MARKETS_WAIT (1 s) at most and is skipped quietly when the store is
  busy: adapters write markets in the middle of a refresh, its timeouts running;
- a lock file beside the store (`FileLock`, flock) is held shared while a process opens the
  file and exclusive while one creates it, makes it WAL, upgrades its schema or rebuilds it:
  no process opens a file another is replacing or has not finished, and two processes
  creating it at once never meet SQLite's deadlock answer. An operation whose file was
  replaced meanwhile (another process rebuilt it) runs again on the new file, so a write
  never lands in the file just moved aside and no error of the old file is reported.

A full disk (or another write error on opening) does not lose the values: the file is opened
read-only, reads go on, writes are dropped, and one warning says the store is full. Under
~32 KB free SQLite cannot even grow the `-shm` it needs to read a WAL file; the main file is
then read as immutable (no locks, no `-shm`), which is the whole store when no `-wal` holds
anything (it is re-checked before each read). A read-only file is never moved aside as
corrupt. Once there is room again (LOW_SPACE free), the next write reopens read-write.

Only a store that no one else can have written is used (`sqlite_schema.check_trusted`): the
directory that holds the file, symlinks followed, must be the current user's and not writable
by group or others, and so must the file and its `-wal`/`-shm`. A store directory the store
creates itself (0700) is fine wherever it is, /tmp included; a directory or file of another
user, or one others may write (a 1777 cache directory, a 0666 file), or a symlinked directory
leading into such a place, is refused: the store is then unavailable (reads miss, writes are
dropped, nothing is moved or changed) and says so once. It never trusts planted values.

Freshness is the caller's business (`StoredResult.fetched_at`); the store keeps the newest
good value per key.

It holds `StoredResult`s, market lists, snapshots, fills, flows, sync state (cursors) and
alert state (`sqlite_alerts.py`): never a credential or a notification URL. Stdlib only,
cheap to import.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nija_balances.domain.history import KEEP_ALL, KEEP_HOURLY, Snapshot, snapshots_to_keep
from nija_balances.domain.models import StoredResult
from nija_balances.store.codec import (
    MarketInfo,
    StoreInfo,
    decode,
    decode_snapshot,
    encode,
    encode_assets,
)
from nija_balances.store.sqlite_history import SqliteHistory
from nija_balances.store.sqlite_replays import SqliteReplays
from nija_balances.store.sqlite_schema import (
    BUSY_CODES,
    CORRUPT_CODES,
    FULL,
    IOERR,
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    FileLock,
    LockTimeout,
    NewerSchema,
    Untrusted,
    check_trusted,
    ensure_schema,
    error_code,
    file_identity,
    free_space,
    has_table,
    key_chunks,
    make_dirs,
    schema_version,
    transaction,
)

log = logging.getLogger(__name__)

FILENAME = "balances.sqlite3"
BUSY_TIMEOUT = 5.0  # seconds a write waits while no other process finishes a write
WRITE_WAIT_MAX = 60.0  # seconds a write waits at most, however busy the store
BUSY_RETRY = 0.1  # seconds later writes wait, once one waited BUSY_TIMEOUT in vain
READ_WAIT = 30.0  # seconds a read or an open waits out a passing lock (never a writer's)
MARKETS_WAIT = 1.0  # seconds a markets write waits: it runs while a refresh's timeouts run
LOW_SPACE = 256 * 1024  # bytes: below this, a write error means the disk is full
_SIDE_FILES = ("-wal", "-shm")
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
_SLICE = 0.25  # seconds of SQLite's own busy wait between two looks at the others' progress
_REPLACED_RETRIES = 5  # an operation is run again at most this often on a replaced file
_UPSERT = (
    "INSERT INTO balances (namespace, key, fetched_at, data) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (namespace, key) DO UPDATE SET fetched_at = excluded.fetched_at,"
    " data = excluded.data WHERE excluded.fetched_at >= balances.fetched_at"
    # a value dated in the future (written while the clock was ahead) never blocks a new one
    " OR balances.fetched_at > ?"
    # nor does a value of another exchange account (the connection's key was changed)
    " OR coalesce(json_extract(balances.data, '$.account'), '')"
    " != coalesce(json_extract(excluded.data, '$.account'), '')"
)

_SNAPSHOT = "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?)"
_HOUR, _DAY = 3600.0, 86400.0

if TYPE_CHECKING:
    from nija_balances.domain.alerts import Alert, SinkReport
    from nija_balances.store.local_flight import LocalFlights

T = TypeVar("T")
SnapshotItem = tuple[str, str | None, Snapshot]
"""(connection key, exchange account identity hash, snapshot)."""


# ---------------------------------------------------------------------------- the store


class SqliteStore(SqliteHistory, SqliteReplays):
    """The SQLite store at `paths.cache_dir() / "balances.sqlite3"`, opened on first use.

    Trades, flows and sync state: `SqliteHistory`; the P&L's replay cache: `SqliteReplays`."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = BUSY_TIMEOUT,
    ) -> None:
        if path is None:
            from nija_balances import paths

            path = paths.cache_dir() / FILENAME
        self.path = Path(path)
        self.warnings: list[str] = []
        self._clock = clock
        self._busy_timeout = busy_timeout
        self._busy_spent = False  # a wait ran out: later writes wait only BUSY_RETRY
        self._markets_busy = False  # a markets write found the store busy: same, for markets
        self._conn: sqlite3.Connection | None = None
        self._ident: tuple[int, int] | None = None  # (st_dev, st_ino) of the file we opened
        self._pid = os.getpid()
        self._disabled = False
        # Why writes are dropped ("full": retried once there is room again), or None. The
        # connection is then read-only (`_ro`), read without locks when -shm cannot be mapped
        # (`_immutable`), or stays the read-write one a write found the disk full on.
        self._readonly: str | None = None
        self._readonly_detail = ""  # the error that made it so
        self._ro = False
        self._immutable = False
        self._warned: set[str] = set()
        self._timeout: float | None = None  # the connection's busy timeout
        self._lock = threading.RLock()
        self._flock = FileLock(self.path.with_name(self.path.name + ".lock"))

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def available(self) -> bool:
        """False once the store gave up on its file (cannot open it, newer schema).

        A store that can only read (a full disk) is available: it serves its values."""
        return not self._disabled

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- balances

    def get(self, namespace: str, key: str) -> StoredResult | None:
        """The last good result stored for `key` ("account/connection"), or None."""
        return self.get_many(namespace, [key]).get(key)

    def get_many(self, namespace: str, keys: Iterable[str]) -> dict[str, StoredResult]:
        """The stored results of those of `keys` that have one (one query per 500 keys)."""
        wanted = list(dict.fromkeys(keys))

        def read(conn: sqlite3.Connection) -> list[tuple[str, str]]:
            rows: list[tuple[str, str]] = []
            for chunk in key_chunks(wanted):
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT key, data FROM balances WHERE namespace = ? AND key IN ({marks})"
                rows += conn.execute(sql, (namespace, *chunk)).fetchall()
            return rows

        found: dict[str, StoredResult] = {}
        rows: list[tuple[str, str]] = self._run("read", read, [], create=False) if wanted else []
        for key, data in rows:
            try:
                found[key] = decode(data)
            except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
                log.warning("ignoring unreadable cache entry %s/%s: %s", namespace, key, exc)
        return found

    def put(self, namespace: str, key: str, result: StoredResult) -> None:
        """Keep `result` as the last good one of `key` (unless a newer one is stored)."""
        self.put_many(namespace, {key: result})

    def put_many(
        self,
        namespace: str,
        items: Mapping[str, StoredResult],
        *,
        snapshots: Iterable[SnapshotItem] = (),
    ) -> None:
        """`put` for many keys, and `put_snapshots` for `snapshots`, in one transaction."""
        now = self._clock()
        rows = [(namespace, k, r.fetched_at or 0.0, encode(r), now) for k, r in items.items()]
        snaps = [
            (
                namespace,
                key,
                account or "",
                s.time.timestamp(),
                str(s.cash),
                str(s.equity),
                encode_assets(s.assets),
            )
            for key, account, s in snapshots
        ]
        if rows or snaps:
            self._run("write", lambda conn: self._write_all(conn, rows, snaps, now), None)

    # -- snapshots (history)

    def put_snapshots(self, namespace: str, items: Iterable[SnapshotItem]) -> None:
        """Keep each (key, account, snapshot); then prune the snapshots of those keys to the
        retention of `domain.history.snapshots_to_keep`."""
        self.put_many(namespace, {}, snapshots=items)

    def get_snapshots(
        self,
        namespace: str,
        keys: Iterable[str],
        since: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, list[Snapshot]]:
        """The snapshots of those of `keys` that have any (from `since` on), oldest first;
        with `accounts` (key -> account hash), only those of that exchange account."""
        wanted = list(dict.fromkeys(keys))
        start = float("-inf") if since is None else since.timestamp()

        def read(conn: sqlite3.Connection) -> list[tuple[str, str, float, str, str, str]]:
            rows: list[tuple[str, str, float, str, str, str]] = []
            if not has_table(conn, "snapshots"):  # a schema-1 file read without upgrading
                return rows
            for chunk in key_chunks(wanted):
                marks = ",".join("?" * len(chunk))
                sql = (
                    "SELECT key, account, time, cash, equity, assets FROM snapshots"
                    " WHERE namespace = ?"
                    f" AND key IN ({marks}) AND time >= ? ORDER BY key, time"
                )
                rows += conn.execute(sql, (namespace, *chunk, start)).fetchall()
            return rows

        found: dict[str, list[Snapshot]] = {}
        none: list[tuple[str, str, float, str, str, str]] = []
        rows = self._run("read", read, none, create=False) if wanted else none
        for key, account, moment, cash, equity, assets in rows:
            if accounts is not None and accounts.get(key) != account:
                continue  # another exchange account's history (the key was changed)
            try:
                found.setdefault(key, []).append(decode_snapshot(moment, cash, equity, assets))
            except (ValueError, KeyError, TypeError, ArithmeticError, OverflowError) as exc:
                log.warning("ignoring unreadable snapshot %s/%s: %s", namespace, key, exc)
        return found

    # -- alert state (engine.ports.AlertStore; the SQL is in store/sqlite_alerts.py)

    def get_alerts(self, namespace: str) -> list[Alert]:
        """Every alert state kept for `namespace`."""
        from nija_balances.store import sqlite_alerts

        return self._run(
            "read", lambda c: sqlite_alerts.read_alerts(c, namespace), [], create=False
        )

    def put_alert(self, namespace: str, before: Alert | None, after: Alert) -> bool | None:
        """Write `after` over `before` (the claim before a send): True if written, False if
        another process changed the alert first, None if the store could not be written."""
        from nija_balances.store import sqlite_alerts

        now = self._clock()
        return self._run(
            "write", lambda c: sqlite_alerts.write_alert(c, namespace, before, after, now), None
        )

    def get_equity(
        self,
        namespace: str,
        keys: Iterable[str],
        since: datetime,
        accounts: Mapping[str, str] | None = None,
        step: float = 0.0,
    ) -> dict[str, list[tuple[datetime, Decimal]]]:
        """Per key, its snapshots' equity from `since` on (the last of each `step` seconds),
        oldest first, without the assets: what the drop alert reads."""
        from nija_balances.store import sqlite_alerts

        wanted, start = list(dict.fromkeys(keys)), since.timestamp()
        return self._run(
            "read",
            lambda c: sqlite_alerts.read_equity(c, namespace, wanted, start, accounts, step),
            {},
            create=False,
        )

    def get_sink_reports(self, namespace: str) -> list[SinkReport]:
        from nija_balances.store import sqlite_alerts

        return self._run("read", lambda c: sqlite_alerts.read_sinks(c, namespace), [], create=False)

    def put_sink_report(self, namespace: str, sink: str, error: str | None) -> None:
        from nija_balances.store import sqlite_alerts

        now = self._clock()
        self._run("write", lambda c: sqlite_alerts.write_sink(c, namespace, sink, error, now), None)

    def claim_mark(self, namespace: str, name: str, every: float) -> bool | None:
        """Move the mark `name` to now if it is `every` seconds old: whether this process did
        (None: the store could not be written)."""
        from nija_balances.store import sqlite_alerts

        now = self._clock()
        return self._run(
            "write", lambda c: sqlite_alerts.claim_mark(c, namespace, name, now, every), None
        )

    # -- markets (the adapters' MarketStore)

    def load_markets(self, exchange: str, max_age: float) -> dict[str, Any] | None:
        """The markets saved for `exchange` if saved at most `max_age` seconds ago."""
        sql = "SELECT saved_at, data FROM markets WHERE exchange = ?"
        row = self._run(
            "read", lambda c: c.execute(sql, (exchange,)).fetchone(), None, create=False
        )
        if row is None or self._clock() - row[0] > max_age:
            return None
        try:
            markets = json.loads(row[1])
        except ValueError:
            return None
        return markets if isinstance(markets, dict) else None

    def save_markets(self, exchange: str, markets: dict[str, Any]) -> None:
        try:
            data = json.dumps(markets, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            self._warn(f"markets:{exchange}", f"markets of {exchange} not cached: {exc}")
            return
        sql = "INSERT OR REPLACE INTO markets (exchange, saved_at, count, data) VALUES (?,?,?,?)"
        row = (exchange, self._clock(), len(markets), data)
        self._run("markets", lambda conn: self._write(conn, sql, [row]), None)

    # -- single-flight and the rate budget (between the processes of this host)

    def flights(self) -> LocalFlights:
        """Locks and budget files of this store (`store.local_flight`)."""
        from nija_balances.store.local_flight import LocalFlights, flight_dir

        return LocalFlights(flight_dir(self.path), clock=self._clock)

    # -- maintenance

    def clear(self) -> int:
        """Remove every balance and market entry; return how many were removed."""

        def clear(conn: sqlite3.Connection) -> int:
            with transaction(conn):
                removed: int = conn.execute("DELETE FROM balances").rowcount
                removed += conn.execute("DELETE FROM markets").rowcount
            with contextlib.suppress(sqlite3.OperationalError):  # shrinking is best effort
                conn.executescript("PRAGMA incremental_vacuum")  # runs to the end
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            return removed

        return self._run("write", clear, 0, create=False)

    def info(self) -> StoreInfo:
        def read(conn: sqlite3.Connection) -> tuple[Any, list[Any]]:
            sql = "SELECT count(*), min(fetched_at), max(fetched_at) FROM balances"
            sql += " WHERE fetched_at > 0"  # not the failures of connections that never worked
            counts = conn.execute(sql).fetchone()
            sql = "SELECT exchange, saved_at, count, length(data) FROM markets ORDER BY exchange"
            return counts, conn.execute(sql).fetchall()

        empty: tuple[Any, list[Any]] = ((0, None, None), [])
        (entries, oldest, newest), markets = self._run("read", read, empty, create=False)
        size = 0
        for suffix in ("", *_SIDE_FILES):
            with contextlib.suppress(OSError):
                size += os.stat(f"{self.path}{suffix}").st_size
        return StoreInfo(
            path=self.path,
            size_bytes=size,
            entries=entries,
            markets=tuple(MarketInfo(*m) for m in markets),
            oldest=oldest,
            newest=newest,
        )

    def close(self) -> None:
        with self._lock:
            self._drop_connection()
            self._flock.close()

    # ---------------------------------------------------------------------------- internals

    def _run(
        self, op: str, fn: Callable[[sqlite3.Connection], T], default: T, *, create: bool = True
    ) -> T:
        """Run `fn` ("read", "write", "markets" or "cache": a write of what can be computed
        again, which waits briefly) on the connection; never raise sqlite errors.

        Run again on the new file if another process replaced the file meanwhile (it rebuilt
        a corrupt one): a write must not land in the file just moved aside, nor an error of
        the old file be reported. Recover from corruption once.
        """
        with self._lock:
            recovered, replaced = False, 0
            while True:
                conn = self._connection(create, op)
                if conn is None:
                    return default
                ident = self._ident
                try:
                    result = self._attempt(conn, op, fn)
                except sqlite3.Error as exc:
                    if conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.rollback()
                    if self._replaced(ident) and replaced < _REPLACED_RETRIES:
                        replaced += 1
                        continue
                    # A file read without the means to rebuild it (read-only, maybe without
                    # locks) is never moved aside: the error may be ours, not the file's.
                    if error_code(exc) in CORRUPT_CODES and not recovered and not self._ro:
                        recovered = True
                        self._recover(str(exc))
                        continue
                    self._failed(op, exc)
                    return default
                if self._replaced(ident) and replaced < _REPLACED_RETRIES:
                    replaced += 1
                    continue
                return result

    def _replaced(self, ident: tuple[int, int] | None) -> bool:
        """Whether the file is no longer the one `ident` names (then the connection goes)."""
        if file_identity(self.path) == ident:
            return False
        self._drop_connection()
        return True

    def _attempt(
        self, conn: sqlite3.Connection, op: str, fn: Callable[[sqlite3.Connection], T]
    ) -> T:
        """`fn` with the waiting of its kind.

        - A read waits for nothing but passing locks (WAL readers never wait on writers), up
          to READ_WAIT; what writes gave up on never shortens it.
        - A markets write waits MARKETS_WAIT at most (BUSY_RETRY once one found the store
          busy): adapters write markets in the middle of a refresh, its timeouts running.
        - A write waits as long as other processes keep finishing writes (the store is busy,
          not stuck), up to WRITE_WAIT_MAX; it gives up when none finishes for
          `busy_timeout`; then later writes wait only BUSY_RETRY until one succeeds.
        """
        if op == "read":
            self._set_busy_timeout(conn, READ_WAIT)
            return fn(conn)
        if op in ("markets", "cache"):
            self._set_busy_timeout(
                conn, min(BUSY_RETRY if self._markets_busy else MARKETS_WAIT, self._busy_timeout)
            )
            result = fn(conn)
            self._markets_busy = False
            return result
        if self._busy_spent:
            self._set_busy_timeout(conn, min(BUSY_RETRY, self._busy_timeout))
            result = fn(conn)
            self._busy_spent = False  # the lock is gone: wait fully again
            return result
        started = last = time.monotonic()
        version = _data_version(conn)
        while True:
            self._set_busy_timeout(conn, min(_SLICE, self._busy_timeout))
            try:
                return fn(conn)
            except sqlite3.OperationalError as exc:
                if error_code(exc) not in BUSY_CODES:
                    raise
                now = time.monotonic()
                if (seen := _data_version(conn)) != version:  # another process wrote: busy
                    version, last = seen, now
                if now - last >= self._busy_timeout or now - started >= max(
                    WRITE_WAIT_MAX, self._busy_timeout
                ):
                    raise

    @staticmethod
    def _write(conn: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with transaction(conn):
            conn.executemany(sql, rows)

    @staticmethod
    def _write_all(
        conn: sqlite3.Connection,
        rows: list[tuple[Any, ...]],
        snaps: list[tuple[Any, ...]],
        now: float,
    ) -> None:
        """Balances and snapshots in one transaction, the written keys' snapshots pruned."""
        with transaction(conn):
            conn.executemany(_UPSERT, rows)
            last = "SELECT max(time) FROM snapshots WHERE namespace = ? AND key = ?"
            written = {
                (ns, key): conn.execute(last, (ns, key)).fetchone()[0] for ns, key, *_ in snaps
            }
            conn.executemany(_SNAPSHOT, snaps)
            for (ns, key), before in written.items():
                if before is not None:
                    _prune(conn, ns, key, before, now)

    def _connection(self, create: bool, op: str = "read") -> sqlite3.Connection | None:
        if self._disabled:
            return None
        if self._readonly is not None and op != "read":
            if self._readonly != "full" or _low_space(self.path):
                return None  # dropped; said once when it began
            self._readonly = None  # room again: write (on a read-write connection)
            if self._ro:
                self._drop_connection()
        if self._conn is not None:
            if self._pid != os.getpid():  # forked: the parent's connection is not ours to use
                self._conn, self._pid = None, os.getpid()
            elif self._ident == file_identity(self.path) and not (
                self._immutable and _size(f"{self.path}-wal")
            ):
                return self._conn
            else:  # the file was replaced or removed under us (another process recovered it),
                self._drop_connection()  # or a WAL appeared beside a file read without locks
        if not create and not self.path.exists():
            return None
        try:
            if create:
                make_dirs(self.path.parent)
            check_trusted(self.path)  # before anything is made in its directory
        except Untrusted as exc:
            self._untrusted(exc)
            return None
        except OSError as exc:
            self._open_failed(exc)
            return self._conn
        corrupt: str | None = None
        try:
            # Shared: no other process is replacing the file or still creating it meanwhile.
            with self._flock.held(exclusive=False, timeout=READ_WAIT):
                if self._readonly is not None:  # reopened while read-only: read-only again
                    self._open_read_only(None)
                    return self._conn
                corrupt = self._open_or_say(init=False)
            if corrupt == _INIT:  # new, older or not yet WAL: made ready under the exclusive lock
                with self._flock.held(exclusive=True, timeout=READ_WAIT):
                    corrupt = self._open_or_say(init=True)
        except LockTimeout:
            self._warn(
                f"busy:{op}",
                f"cache at {self.path} is being replaced by another process (waited "
                f"{READ_WAIT:g} s); {op} skipped",
            )
            return None
        if corrupt is not None:
            self._recover(corrupt)
        return self._conn

    def _open_or_say(self, *, init: bool) -> str | None:
        """Open the connection (`self._conn`), or say why not; returns the message of a corrupt
        file (to recover, outside the lock), `_INIT` when the file needs `init`, else None."""
        try:
            self._conn = self._open(init=init)
        except _NeedsInit:
            return _INIT
        except NewerSchema as exc:
            self._disable(
                f"cache at {self.path} was written by a newer nija-balances (schema {exc}, "
                f"this one reads {SCHEMA_VERSION}); balances are not cached"
            )
        except sqlite3.Error as exc:
            if error_code(exc) in CORRUPT_CODES:
                return str(exc)
            if error_code(exc) in BUSY_CODES:
                self._failed("open", exc)
            elif error_code(exc) in (IOERR, FULL):  # e.g. no room to map the -shm
                self._open_read_only(exc)
            else:
                self._disable(f"cache at {self.path} cannot be opened ({exc}); not caching")
        except OSError as exc:
            self._open_failed(exc)
        return None

    def _open_failed(self, exc: OSError) -> None:
        if exc.errno in _NO_SPACE:
            self._open_read_only(exc)
        else:
            self._disable(f"cache at {self.path} cannot be opened ({exc}); not caching")

    def _open_read_only(self, exc: Exception | None) -> None:
        """After a write could not be made (`exc`; None: reopening): serve what the file holds.

        Read-only first (it works while another process keeps the -shm mapped); when even the
        -shm cannot be grown and no -wal holds anything, the main file alone is the whole
        store, so it is read as immutable (without locks or -shm). Otherwise the store gives up.
        """
        self._drop_connection()
        if exc is not None:
            full = (
                error_code(exc) == FULL
                if isinstance(exc, sqlite3.Error)
                else getattr(exc, "errno", None) in _NO_SPACE
            )
            full = full or _low_space(self.path)
            self._readonly = "full" if full else "io"
            self._readonly_detail = str(exc)
        try:
            self._conn = self._read_only_connection()
        except Untrusted as err:
            self._untrusted(err)
            return
        except NewerSchema as err:
            self._disable(
                f"cache at {self.path} was written by a newer nija-balances (schema {err}, "
                f"this one reads {SCHEMA_VERSION}); balances are not cached"
            )
            return
        except (sqlite3.Error, OSError) as err:
            what = "is full (no space left on device)" if self._readonly == "full" else ""
            self._disable(
                f"cache at {self.path} {what or f'cannot be written ({self._readonly_detail})'}"
                " and cannot be "
                f"read ({err}); not caching"
            )
            return
        if self._readonly == "full":
            self._warn(
                "readonly",
                f"cache at {self.path} is full (no space left on device): reading only; "
                "free some space",
            )
        else:
            self._warn(
                "readonly",
                f"cache at {self.path} cannot be written ({self._readonly_detail}): reading only",
            )

    def _read_only_connection(self) -> sqlite3.Connection:
        self._ro, self._immutable = True, False
        self._ident = file_identity(self.path)
        if self._ident is None:  # nothing to read: an empty store
            return _empty()
        check_trusted(self.path)
        uri = self.path.absolute().as_uri() + "?mode=ro"
        try:
            conn = self._checked(uri)
        except sqlite3.Error as exc:
            if error_code(exc) not in (IOERR, FULL) or _size(f"{self.path}-wal"):
                raise
            conn = self._checked(uri + "&immutable=1")
            self._immutable = True
        return conn

    def _checked(self, uri: str) -> sqlite3.Connection:
        """A read-only connection to a store of this schema, or an empty one in its place."""
        conn = sqlite3.connect(
            uri, uri=True, timeout=READ_WAIT, isolation_level=None, check_same_thread=False
        )
        self._timeout = READ_WAIT
        try:
            version = schema_version(conn)
        except BaseException:
            conn.close()
            raise
        # Older schemas differ only by the tables they lack: their balances are still served
        # (a store that cannot be upgraded because the disk is full keeps its last values).
        if version in READABLE_VERSIONS:
            return conn
        conn.close()
        if version is not None and version > SCHEMA_VERSION:
            raise NewerSchema(version)
        return _empty()  # an older or foreign file: nothing this version can serve

    def _open(self, *, init: bool) -> sqlite3.Connection:
        """A connection to the file, WAL, with this schema. Without `init` (under the shared
        lock) a file that is empty, not yet WAL or of an older schema raises `_NeedsInit`:
        making it so takes the exclusive lock, or two processes creating the file at once
        meet SQLite's deadlock answer (SQLITE_BUSY at once, no busy wait)."""
        try:  # create the file ourselves so it is 0600; SQLite gives -wal/-shm the same mode
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with contextlib.suppress(AttributeError, OSError):  # umask may have taken bits
                os.fchmod(fd, 0o600)
            os.close(fd)
        self._ident = file_identity(self.path)
        conn = sqlite3.connect(
            self.path, timeout=READ_WAIT, isolation_level=None, check_same_thread=False
        )
        self._timeout = READ_WAIT
        try:
            empty = conn.execute("PRAGMA page_count").fetchone()[0] == 0
            wal = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal"
            version = None if empty else schema_version(conn)
            if version is not None and version > SCHEMA_VERSION:
                raise NewerSchema(version)
            if empty or not wal or version != SCHEMA_VERSION:
                if not init:
                    raise _NeedsInit
                if empty:
                    # Only a new file takes it; on an existing one the pragma waits for the
                    # write lock, so a process holding it would stall even the reads of this one.
                    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise sqlite3.OperationalError(f"cannot use WAL mode (journal_mode={mode})")
                ensure_schema(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _recover(self, detail: str) -> None:
        """Move a corrupt file (and its -wal) aside and open a new one, once across processes
        (under the exclusive lock: no other process opens the file meanwhile)."""
        seen = self._ident
        self._drop_connection()
        try:
            with self._flock.held(exclusive=True, timeout=READ_WAIT):
                if seen is not None and file_identity(self.path) not in (seen, None):
                    self._conn = self._open(init=True)  # another process already rebuilt it
                    return
                stamp = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y%m%dT%H%M%SZ")
                dest = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
                n = 0
                while dest.exists():
                    n += 1
                    dest = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
                for src, dst in ((self.path, dest), (f"{self.path}-wal", f"{dest}-wal")):
                    with contextlib.suppress(FileNotFoundError):
                        os.replace(src, dst)  # the -wal goes along: it must never meet a new file
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{self.path}-shm")
                self._warn(
                    None,
                    f"cache at {self.path} was corrupt ({detail}); moved to {dest} and rebuilt",
                )
                self._conn = self._open(init=True)
        except LockTimeout:
            self._warn(
                "busy:recover",
                f"cache at {self.path} is corrupt ({detail}) and another process holds it "
                f"(waited {READ_WAIT:g} s); not rebuilt",
            )
        except Untrusted as exc:
            self._untrusted(exc)
        except (OSError, sqlite3.Error, NewerSchema) as exc:
            self._disable(
                f"cache at {self.path} is corrupt ({detail}) and could not be rebuilt ({exc}); "
                "not caching"
            )

    def _set_busy_timeout(self, conn: sqlite3.Connection, seconds: float) -> None:
        if seconds != self._timeout:
            with contextlib.suppress(sqlite3.Error):
                conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
                self._timeout = seconds

    def _drop_connection(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None
        self._ro = self._immutable = False

    def _failed(self, op: str, exc: sqlite3.Error) -> None:
        code = error_code(exc)
        if op != "read" and (code == FULL or (code == IOERR and _low_space(self.path))):
            # The connection stays (reads go on); writes wait until there is room again.
            self._readonly = "full"
            self._warn(
                "readonly",
                f"cache at {self.path} is full (no space left on device): reading only; "
                "free some space",
            )
        elif code in BUSY_CODES and op in ("markets", "cache"):
            # Markets are only a cache of what the exchange sends: fetched again next time
            # (and replays are computed again).
            self._markets_busy = True
            what = "markets" if op == "markets" else "replays"
            log.info("cache at %s is busy: %s not cached this time", self.path, what)
        elif code in BUSY_CODES:
            # A refresh may make several writes: once one waited in vain (no other process
            # finished a write for the whole busy timeout), the next ones only retry briefly.
            if op == "write":
                self._busy_spent = True
            waited = READ_WAIT if op in ("read", "open") else self._busy_timeout
            self._warn(
                f"busy:{op}",
                f"cache at {self.path} is locked by another process (waited "
                f"{waited:g} s); {op} skipped",
            )
        else:
            op = "write" if op in ("markets", "cache") else op
            self._warn(f"{op}:{exc}", f"cache at {self.path}: {op} failed ({exc})")

    def _untrusted(self, exc: Untrusted) -> None:
        self._disable(f"cache at {self.path} is not trusted ({exc}); not caching")

    def _disable(self, message: str) -> None:
        self._disabled = True
        self._drop_connection()
        self._warn("disabled", message)

    def _warn(self, key: str | None, message: str) -> None:
        if key is not None:
            if key in self._warned:
                return
            self._warned.add(key)
        self.warnings.append(message)
        log.info("%s", message)


def _prune(conn: sqlite3.Connection, namespace: str, key: str, before: float, now: float) -> None:
    """Drop the snapshots of one key that retention no longer keeps, cheaply: only those
    that crossed an age limit (48 h, 90 days) since the key's last write (`before`, its
    newest snapshot then) can have become droppable, so only they are looked at, with the
    later snapshots of their hour (day) that decide whether each is the last of it. Earlier
    rows looked at without all of theirs are at worst kept, never wrongly dropped."""
    windows = (
        (before - KEEP_ALL.total_seconds() - _HOUR, now - KEEP_ALL.total_seconds() + _HOUR),
        (before - KEEP_HOURLY.total_seconds() - _DAY, now - KEEP_HOURLY.total_seconds() + _DAY),
    )
    sql = "SELECT time FROM snapshots WHERE namespace = ? AND key = ? AND time BETWEEN ? AND ?"
    drop: list[tuple[str, str, float]] = []
    at = datetime.fromtimestamp(now, UTC)
    for lo, hi in windows:
        times = [t for (t,) in conn.execute(sql, (namespace, key, lo, hi))]
        if not times or min(times) > now - KEEP_ALL.total_seconds():
            continue
        moments = {datetime.fromtimestamp(t, UTC): t for t in times}
        keep = snapshots_to_keep(moments, at)
        drop += [(namespace, key, t) for m, t in moments.items() if m not in keep]
    if drop:
        sql = "DELETE FROM snapshots WHERE namespace = ? AND key = ? AND time = ?"
        conn.executemany(sql, drop)


def _low_space(path: Path) -> bool:
    """Whether the filesystem of `path` has less than LOW_SPACE free (False: unknown)."""
    free = free_space(path)
    return free is not None and free < LOW_SPACE


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _data_version(conn: sqlite3.Connection) -> int | None:
    """Changes whenever another connection commits (None: not known now)."""
    try:
        return int(conn.execute("PRAGMA data_version").fetchone()[0])
    except sqlite3.Error:
        return None


class _NeedsInit(Exception):
    """The file must be created, converted to WAL or given this schema (exclusive lock)."""


_INIT = "\0init"  # `_open_or_say`: the file needs the exclusive lock to be made ready


def _empty() -> sqlite3.Connection:
    """An in-memory store with the schema and nothing in it: every read misses."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    ensure_schema(conn)
    return conn
