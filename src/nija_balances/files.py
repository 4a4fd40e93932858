"""Reading an input file with a bound on its size. Stdlib only.

A config or a NIJA user file is small; one of 1 GB (a mistake, or a hostile one) must be
refused, not read whole into memory. `read_text_capped` looks at the size first, then reads
at most `limit + 1` bytes whatever the size said: a file may grow meanwhile, or have no size
at all (a pipe, a device, a file under /proc).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class FileTooLarge(OSError):
    """The file holds more than `limit` bytes. `size` is its size when it has one (a regular
    file), else None (a pipe or a device: more than `limit` bytes were there to read).

    An OSError (EFBIG), so a caller that reports "cannot read the file (...)" for OSErrors
    reports this one sensibly too; `str()` names the file, its size and the limit.
    """

    def __init__(self, path: Path, limit: int, size: int | None) -> None:
        self.path, self.limit, self.size = path, limit, size
        what = f"{size:,} bytes" if size is not None else f"more than {limit:,} bytes"
        super().__init__(
            errno.EFBIG, f"too large to read ({what}; at most {limit:,} are read)", str(path)
        )

    def __str__(self) -> str:
        return f"{self.path} is {self.strerror}"


def read_bytes_capped(path: Path, limit: int) -> bytes:
    """The bytes of `path`, or `FileTooLarge` if it holds more than `limit` of them.

    The size is checked on the opened file (no race with a rename), and at most `limit + 1`
    bytes are read in any case. Other errors are those of `open` (FileNotFoundError,
    IsADirectoryError, PermissionError, ...). Opening a named pipe waits for its writer, as
    `open` does: a caller that must not wait checks `stat.S_ISREG` first.
    """
    if limit < 0:
        raise ValueError(f"limit must be >= 0, not {limit}")
    path = Path(path)
    with open(path, "rb", buffering=0) as f:
        st = os.fstat(f.fileno())
        if stat.S_ISREG(st.st_mode) and st.st_size > limit:
            raise FileTooLarge(path, limit, st.st_size)
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = f.read(min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    data = b"".join(chunks)
    if len(data) > limit:  # no size (a pipe, a device), or it grew since: size not known
        raise FileTooLarge(path, limit, None)
    return data


def read_text_capped(path: Path, limit: int, *, encoding: str = "utf-8-sig") -> str:
    """The text of `path` (UTF-8, a byte-order mark dropped), at most `limit` bytes of it.

    Raises `FileTooLarge` beyond `limit` bytes, `UnicodeDecodeError` for text that is not in
    `encoding`, and the OSErrors of `open`.
    """
    return read_bytes_capped(path, limit).decode(encoding)
