"""How a run ends when something goes wrong outside a command's own checks.

- an exception that is not a user error (a bug): one line, `error: internal error: TYPE:
  MESSAGE (run with -v for the traceback)`, exit 70 (`EX_SOFTWARE`); with `-v` the
  traceback first. Never a secret in either: every credential the run knows of (from the
  environment, and from the loaded config) is redacted.
- a user error that escaped its command (`ConfigError`, `SelectionError`): `error: MESSAGE`,
  exit 2, as if the command had caught it.

Imports nothing heavy: it runs on every start (the root group installs it).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable

# A key or variable name whose value is a secret (config show hides such values; an internal
# error's message never shows the value of such a variable).
SECRET_NAME = re.compile(
    r"key|secret|pass|token|private|twofa|totp|seed|otp|uid|auth|credential", re.IGNORECASE
)

# Exceptions that are user errors wherever they come from: (module, class name). Matched by
# name so that this module imports neither the config loader nor the engine.
_USER_ERRORS = (
    ("nija_balances.config.syntax", "ConfigError"),
    ("nija_balances.engine.planning", "SelectionError"),
)


def is_user_error(exc: BaseException) -> bool:
    """Whether `exc` is one of ours that says what the user got wrong (exit 2)."""
    for module, name in _USER_ERRORS:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return True
    return False


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
