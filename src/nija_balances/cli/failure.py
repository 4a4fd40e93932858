"""How a run ends when something goes wrong outside a command's own checks.

- an exception that is not a user error (a bug): one line, `error: internal error: TYPE:
  MESSAGE (run with -v for the traceback)`, exit 70 (`EX_SOFTWARE`); with `-v` the
  traceback first. Never a secret in either: every credential the run knows of (from the
  environment, and from the loaded config) is redacted.
- a user error that escaped its command (`ConfigError`, `SelectionError`): `error: MESSAGE`,
  exit 2, as if the command had caught it.
- stdout that cannot be written (full, closed): one line, exit 74 (`EX_IOERR`); a reader
  that went away (`nija show | head -1`): no word, exit 141 (128 + SIGPIPE, as the shell
  reports for `ls` or `cat`). `sys.stdout` is guarded for the run (`GuardedStdout`), so
  whoever writes (Rich, click's help, `print`) fails the same way.

Imports nothing heavy: it runs on every start (the root group installs it).
"""

from __future__ import annotations

import errno
import io
import os
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

# A key or variable name whose value is a secret (config show hides such values; an internal
# error's message never shows the value of such a variable).
SECRET_NAME = re.compile(
    r"key|secret|pass|token|private|twofa|totp|seed|otp|uid|auth|credential", re.IGNORECASE
)


def is_user_error(exc: BaseException) -> bool:
    """Whether `exc` is one of ours that says what the user got wrong (exit 2). Imported
    here, on the error path only, so the warm path does not pay for them."""
    from nija_balances.domain.syntax import ConfigError
    from nija_balances.engine.planning import SelectionError

    return isinstance(exc, ConfigError | SelectionError)


def env_secrets() -> list[str]:
    """The values of the environment variables whose names look secret (`*_API_KEY`,
    `*_SECRET`, `*TOKEN*`, ...). Values shorter than 4 characters are left out: redacting
    them would garble the message and they reveal next to nothing."""
    return [
        value
        for name, value in os.environ.items()
        if SECRET_NAME.search(name) and len(value.strip()) >= 4
    ]


def one_line(exc: BaseException) -> str:
    """`TYPE: MESSAGE` on one line (whitespace runs, newlines included, become one space)."""
    message = " ".join(str(exc).split())
    if len(message) > 500:
        message = message[:500] + "…"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def internal_error_text(exc: BaseException, *, verbose: bool, secrets: Iterable[str]) -> str:
    """What stderr shows for an internal error: the traceback when `verbose`, then the one
    line; every secret redacted."""
    from nija_balances.domain.secrets import redact

    known = [s for s in secrets if s]
    summary = one_line(exc)
    if not verbose:
        return redact(f"error: internal error: {summary} (run with -v for the traceback)\n", known)
    import traceback

    trace = "".join(traceback.format_exception(exc))
    return redact(f"{trace}error: internal error: {summary}\n", known)


def write_stderr(text: str) -> None:
    """`text` on stderr as is; nothing when stderr is gone (the exit code says it)."""
    import contextlib

    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.write(text)
        sys.stderr.flush()


# ---------------------------------------------------------------------------- stdout


class OutputError(Exception):
    """stdout could not be written: a full disk (`> /dev/full`), a closed descriptor
    (`>&-`), or a reader that went away (`| head -1`, `errno` EPIPE).

    Not an `OSError`, so that nothing between the write and `Root.main` (Rich's own broken
    pipe handling, click's) takes it for something else."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(cause.strerror or str(cause))
        self.errno = cause.errno
        self.reason = "it is closed" if cause.errno == errno.EBADF else (cause.strerror or "")


class _Closed:
    """What stdout is when the process started without one (`sys.stdout` is None)."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "Bad file descriptor")

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise io.UnsupportedOperation("stdout is closed")


class GuardedStdout:
    """`sys.stdout` for the run: writes and flushes that fail raise `OutputError`; every
    other attribute is the real stream's (Rich and click see the same stream)."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream: Any = stream if stream is not None else _Closed()
        self.original = stream

    def write(self, text: str) -> int:
        try:
            return int(self.stream.write(text))
        except (OSError, ValueError) as exc:  # ValueError: I/O operation on closed file
            raise OutputError(_as_os_error(exc)) from exc

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError) as exc:
            raise OutputError(_as_os_error(exc)) from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def silence(self) -> None:
        """After a failure: point the descriptor at /dev/null, so that what is still
        buffered cannot fail again when the interpreter exits ('Exception ignored ...')."""
        import contextlib

        with contextlib.suppress(OSError, ValueError, AttributeError, io.UnsupportedOperation):
            fd = self.stream.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)


def _as_os_error(exc: OSError | ValueError) -> OSError:
    return exc if isinstance(exc, OSError) else OSError(errno.EBADF, str(exc))


@contextmanager
def guarded_stdout() -> Iterator[GuardedStdout]:
    """`sys.stdout` guarded for the duration (already guarded: that guard)."""
    current = sys.stdout
    if isinstance(current, GuardedStdout):
        yield current
        return
    guard = GuardedStdout(current)
    sys.stdout = guard
    try:
        yield guard
    finally:
        if sys.stdout is guard:
            sys.stdout = current


def output_failed(exc: OutputError, guard: GuardedStdout) -> int:
    """Report an `OutputError` and return the exit code: 141 (128 + SIGPIPE) without a word
    when the reader went away, as `ls | head -1` does; else one line on stderr and 74
    (`EX_IOERR`)."""
    from nija_balances.cli import EXIT_IOERR, EXIT_PIPE

    guard.silence()
    if exc.errno == errno.EPIPE:
        return EXIT_PIPE
    write_stderr(f"error: cannot write to stdout: {exc.reason}\n")
    return EXIT_IOERR
