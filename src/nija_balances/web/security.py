"""The dashboard's access rules that need no web framework: where it may listen, the token
file, one-time login codes and browser sessions.

Every secret is compared in constant time (`hmac.compare_digest`); login codes and session
ids are kept only as SHA-256 digests, looked up by digest, so neither a timing nor a memory
dump gives one away. Imports nothing heavy: `nija serve` checks its options with this module
before Starlette is loaded.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path

#: The browser session cookie (HttpOnly, SameSite=Strict, Path=/).
COOKIE = "nija_session"
#: A login link works once, within this many seconds.
CODE_TTL = 15 * 60.0
#: A browser session lasts this long (the cookie's Max-Age).
SESSION_TTL = 7 * 24 * 3600.0
#: At most this many live sessions and unused codes each; the oldest go first.
MAX_ENTRIES = 1000
MIN_TOKEN_LENGTH = 16


class TokenFileError(Exception):
    """The token file cannot be used (unsafe mode, too short, unreadable): a user error."""


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or `localhost`) is reachable from this machine only."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def load_or_create_token(path: Path) -> tuple[str, bool]:
    """The bearer token kept in `path`, and whether it was just created there.

    A missing file is created (mode 600, never replacing one made meanwhile) with a fresh
    random token. An existing file must be readable by its owner only and hold one token of
    at least 16 printable characters; anything else raises `TokenFileError` with the fix.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_token(path), False
    except OSError as exc:
        raise TokenFileError(f"{path}: cannot create the token file: {exc.strerror}") from None
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(token + "\n")
    return token, True


def _read_token(path: Path) -> str:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise TokenFileError(f"{path}: not a regular file")
        if info.st_mode & 0o077:
            mode = stat.S_IMODE(info.st_mode)
            raise TokenFileError(
                f"{path}: the token file is readable by others (mode {mode:o}); "
                f"run `chmod 600 {path}`"
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TokenFileError(f"{path}: cannot read the token file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise TokenFileError(f"{path}: the token file is not UTF-8 text") from None
    token = text.strip()
    if len(token) < MIN_TOKEN_LENGTH or not token.isprintable() or any(c.isspace() for c in token):
        raise TokenFileError(
            f"{path}: expected one token of at least {MIN_TOKEN_LENGTH} printable characters "
            "without spaces; delete the file and `nija serve` writes a new one"
        )
    return token


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


class Gate:
    """Who may read the dashboard: holders of the bearer token, and browsers that redeemed a
    one-time login code for a session cookie. Without a token everyone may (loopback only).

    Lives on the server's event loop (not thread-safe); the clock is monotonic seconds.
    """

    def __init__(self, token: str | None, *, clock: Callable[[], float] = time.monotonic):
        self._token = None if token is None else token.encode("utf-8")
        self._clock = clock
        self._codes: dict[bytes, float] = {}  # digest -> expiry
        self._sessions: dict[bytes, float] = {}

    @property
    def required(self) -> bool:
        """Whether requests must prove who they are (a token is configured)."""
        return self._token is not None

    def bearer_ok(self, authorization: str | None) -> bool:
        """`Authorization: Bearer <token>` with the right token."""
        if self._token is None or not authorization:
            return False
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode("utf-8", "surrogatepass"), self._token)

    def new_code(self) -> str:
        """A fresh one-time login code (valid `CODE_TTL` seconds)."""
        code = secrets.token_urlsafe(24)
        self._remember(self._codes, _digest(code), CODE_TTL)
        return code

    def redeem(self, code: str | None) -> str | None:
        """A new session id for a valid, unused login code (which is then spent); else None."""
        if not code:
            return None
        expiry = self._codes.pop(_digest(code), None)
        if expiry is None or expiry < self._clock():
            return None
        session = secrets.token_urlsafe(32)
        self._remember(self._sessions, _digest(session), SESSION_TTL)
        return session

    def session_ok(self, cookie: str | None) -> bool:
        """A live session cookie."""
        if not cookie:
            return False
        digest = _digest(cookie)  # looked up by digest: the timing tells nothing of the id
        expiry = self._sessions.get(digest)
        if expiry is None:
            return False
        if expiry < self._clock():
            del self._sessions[digest]
            return False
        return True

    def _remember(self, table: dict[bytes, float], digest: bytes, ttl: float) -> None:
        now = self._clock()
        for old in [d for d, expiry in table.items() if expiry < now]:
            del table[old]
        while len(table) >= MAX_ENTRIES:
            del table[next(iter(table))]  # dicts keep insertion order: the oldest first
        table[digest] = now + ttl
