"""Reading an input file (a config, a NIJA user file) without trusting its size or kind.

A config is a few kilobytes. `read_input` takes the size with `fstat` on the opened file
and refuses more than `limit` bytes before reading anything, then reads at most
`limit + 1` bytes, since the file may grow in between. It opens without blocking, so a
named pipe put where a file was expected is refused instead of waited on.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from nija_balances.domain.syntax import ConfigError

MAX_INPUT_BYTES = 10 * 1024 * 1024  # "10 MB"


def size_text(size: int) -> str:
    """`11534436` -> `11.0 MB`, `10485760` -> `10 MB`, `100` -> `100 bytes`."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size // scale} {unit}" if size % scale == 0 else f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _too_large(path: Path, what: str, size: int | None, limit: int) -> ConfigError:
    found = f"is {size_text(size)}" if size is not None else f"is larger than {size_text(limit)}"
    return ConfigError(
        f"the file {found}; {what} may be at most {size_text(limit)}",
        file=path,
        hint=f"{what} is a few kilobytes: is this the right file?",
    )


def read_input(
    path: Path, what: str, *, limit: int = MAX_INPUT_BYTES, hint: str | None = None
) -> bytes:
    """The bytes of the regular file `path`: a `ConfigError` when it holds more than `limit`
    bytes or is not a regular file; `OSError` (IsADirectoryError for a directory) otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError("not a regular file (a pipe, socket or device)", file=path, hint=hint)
        if info.st_size > limit:
            raise _too_large(path, what, info.st_size, limit)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, limit + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise _too_large(path, what, None, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)
