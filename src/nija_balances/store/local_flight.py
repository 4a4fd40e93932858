"""Single-flight locks and the rate budget between the processes of one host: files.

The files live in the user's runtime directory (`$XDG_RUNTIME_DIR`, else a 0700
`nija-balances-UID` directory in the temp dir), one directory per store file
(`flight_dir`): locks need no persistence, and the cache directory keeps only the store.
A lock is `flock(2)` on `DIR/{name}.lock` (one small file per exchange account, kept).
The lease is the kernel's: a lock goes when its process exits, however it ends (killed,
crashed), so a dead holder never blocks anyone; a live holder that hangs is waited for at
most `settings.timeout` by the others (the engine's bound), who then fetch themselves.
Taking a lock costs ~20 µs (open + flock, measured on the CI machine); no SQLite write.

The rate budget is one JSON file (`DIR/budget.json`, name -> [tokens, time]) read and
written under an exclusive flock of `DIR/budget.lock`: ~0.1 ms a take.

Never raises: where the directory cannot be made or is not only ours, or fcntl is
missing, nothing is locked (every process fetches, as before single-flight) and nothing
is budgeted; logged once (the store's own problems are the store's warnings).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from nija_balances.domain.budget import Bucket, take
from nija_balances.store.sqlite_schema import make_dirs

log = logging.getLogger(__name__)


def flight_dir(store_path: Path) -> Path:
    """Where the locks of the store at `store_path` live (see the module docstring)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isdir(runtime):
        root = Path(runtime) / "nija-balances"
    else:
        uid = os.getuid() if hasattr(os, "getuid") else 0
        root = Path(tempfile.gettempdir()) / f"nija-balances-{uid}"
    digest = hashlib.sha256(str(store_path.absolute()).encode()).hexdigest()[:16]
    return root / f"flight-{digest}"


class LocalFlights:
    """`engine.ports.FlightLock` for one host, in `directory` (made 0700)."""

    def __init__(
        self,
        directory: Path,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self._clock = clock
        self._broken = False

    def try_acquire(self, name: str, lease: float) -> object | None:
        fcntl = self._fcntl()
        if fcntl is None:
            return _Free()
        try:
            fd = os.open(self.directory / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            self._broke(exc)
            return _Free()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except OSError as exc:
            os.close(fd)
            self._broke(exc)
            return _Free()
        return _Held(fd, os.getpid())

    def extend(self, held: object, lease: float) -> bool:
        return isinstance(held, _Held | _Free)  # the kernel's lock lasts as long as we live

    def release(self, held: object) -> None:
        if isinstance(held, _Held) and held.pid == os.getpid() and held.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(held.fd)  # closing the file lets the flock go
            held.fd = -1

    def try_acquire_many(self, names: list[str], lease: float) -> list[object | None]:
        return [self.try_acquire(name, lease) for name in names]

    def release_many(self, held: list[object]) -> None:
        for one in held:
            self.release(one)

    def take(self, buckets: tuple[Bucket, ...], cost: float = 1.0) -> float:
        return self._take([buckets], cost)[0]

    def take_many(self, requests: list[tuple[Bucket, ...]]) -> list[float]:
        return self._take(requests, 1.0)

    def _take(self, requests: list[tuple[Bucket, ...]], cost: float) -> list[float]:
        """Each request in turn, under one flock and one read and write of the file."""
        fcntl = self._fcntl()
        if fcntl is None:
            return [0.0] * len(requests)
        try:
            fd = os.open(self.directory / "budget.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            self._broke(exc)
            return [0.0] * len(requests)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            path = self.directory / "budget.json"
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                state = {k: (float(v[0]), float(v[1])) for k, v in raw.items()}
            except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
                state = {}  # missing or damaged: the buckets start full
            now = self._clock()
            waits = [take(state, buckets, now, cost) for buckets in requests]
            tmp = path.with_name(f"budget.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({k: list(v) for k, v in state.items()}), encoding="utf-8")
            os.replace(tmp, path)
            return waits
        except OSError as exc:
            self._broke(exc)
            return [0.0] * len(requests)
        finally:
            os.close(fd)  # and with it the flock

    def _fcntl(self) -> ModuleType | None:
        if self._broken:
            return None
        try:
            import fcntl
        except ImportError:  # not POSIX: no locks
            self._broken = True
            return None
        try:
            make_dirs(self.directory)
            _check_ours(self.directory.parent)
        except OSError as exc:
            self._broke(exc)
            return None
        return fcntl

    def _broke(self, exc: OSError) -> None:
        self._broken = True
        log.info(
            "single-flight locks at %s cannot be used (%s); each process fetches on its own",
            self.directory,
            exc,
        )


def _check_ours(directory: Path) -> None:
    """Raise unless `directory` is ours and no one else may write in it (a directory
    planted in /tmp by another user could hold our locks)."""
    info = directory.stat()
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise PermissionError(f"{directory} belongs to another user")
    if stat.S_IMODE(info.st_mode) & 0o022:
        raise PermissionError(f"{directory} may be written by others")


class _Held:
    """A lock file held open (and flocked) by this process."""

    def __init__(self, fd: int, pid: int) -> None:
        self.fd, self.pid = fd, pid


class _Free:
    """Not a lock: locking is unavailable, the fetch goes ahead unguarded."""
