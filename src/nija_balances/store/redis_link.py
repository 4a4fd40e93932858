"""The Redis connection of the shared store, and the one place Redis errors become ours.

`RedisLink.call(fn, fallback)` runs `fn(client)`; when Redis is down, unreachable, refuses
the password or answers with an error, it says so once (a warning naming the URL without
its password) and runs `fallback()` instead — the local SQLite store. While Redis is down
nothing waits on it: for RETRY_AFTER seconds every call goes straight to the fallback,
then the next call tries Redis again and, once it answers, uses it again (a long-running
`nija watch`/`monitor`/`serve` so comes back by itself; values written to the local store
meanwhile stay there and are not copied to Redis: the next fetch writes Redis again).

redis-py is imported on the first call, never at import time.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

T = TypeVar("T")
CONNECT_TIMEOUT = 1.0  # seconds to reach the server: a host that does not answer is down
OP_TIMEOUT = 3.0  # seconds an answer may take (the largest is a 300-entry read, ~1 ms)
RETRY_AFTER = 30.0  # seconds Redis is left alone after a failure before it is tried again


def public_url(url: str) -> str:
    """The URL as it may be shown: without a password (none should be there anyway)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, "", ""))


class RedisUnavailable(Exception):
    """Redis cannot be used: the message says why, without any secret."""


class RedisLink:
    """A lazily made client for `url` (password from `password_env`), with the fallback."""

    def __init__(
        self,
        url: str,
        *,
        password_env: str | None = None,
        environ: dict[str, str] | None = None,
        on_warning: Callable[[str, str], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = public_url(url)
        self._url = url
        self._password_env = password_env
        self._environ = environ
        self._warn = on_warning
        self._monotonic = monotonic
        self._client: Redis | None = None
        self._pid = os.getpid()
        self._password: str | None = None  # held to be redacted from any message
        self._down_until: float | None = None  # monotonic time Redis is tried again
        self.down_reason: str | None = None  # why the last call failed (None: it worked)

    @property
    def up(self) -> bool:
        """Whether the next call will try Redis (not: whether Redis answers)."""
        return self._down_until is None or self._monotonic() >= self._down_until

    def call(self, fn: Callable[[Redis], T], fallback: Callable[[], T]) -> T:
        """`fn(client)`, or `fallback()` when Redis cannot be used now."""
        if not self.up:
            return fallback()
        try:
            result = fn(self.client())
        except Exception as exc:  # the one place: every Redis failure becomes a fallback
            self.fail(exc)
            return fallback()
        if self.down_reason is not None:
            log.info("redis at %s answers again: using it", self.url)
        self._down_until = self.down_reason = None
        return result

    def fail(self, exc: BaseException) -> None:
        """Note that Redis failed with `exc`: warn once, leave it alone for RETRY_AFTER."""
        self.down_reason = describe(exc, self.url)
        if self._password:
            self.down_reason = self.down_reason.replace(self._password, "***")
        self._down_until = self._monotonic() + RETRY_AFTER
        self._drop()
        self._warn(
            "redis-down",
            f"redis at {self.url} cannot be used ({self.down_reason}); "
            "using the local cache instead",
        )

    def client(self) -> Redis:
        if self._client is not None and self._pid == os.getpid():
            return self._client
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        password = None
        if self._password_env:
            env = os.environ if self._environ is None else self._environ
            password = (env.get(self._password_env) or "").strip() or None
            if password is None:
                raise RedisUnavailable(f"{self._password_env} is not set")
            self._password = password
        self._client = redis.Redis.from_url(
            self._url,
            password=password,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=OP_TIMEOUT,
            retry=Retry(NoBackoff(), 0),  # a failure falls back at once; no hidden retries
            client_name="nija-balances",
        )
        self._pid = os.getpid()
        return self._client

    def close(self) -> None:
        self._drop()

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._pid == os.getpid():
            try:
                client.close()
            except Exception as exc:  # closing never fails the caller
                log.debug("closing redis client: %s", exc)


def describe(exc: BaseException, url: str) -> str:
    """A one-line reason for a Redis failure, without secrets (redis-py's messages hold the
    host and port, never the password; the URL is shown without one)."""
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    lowered = text.lower()
    if isinstance(exc, RedisUnavailable):
        return f"no password: {text}"
    if isinstance(exc, ImportError):
        return 'the redis client is not installed: pip install "nija-balances[redis]"'
    if name == "AuthenticationError" or any(
        word in lowered for word in ("wrongpass", "noauth", "invalid password", "username-password")
    ):
        return "password refused"
    if name in ("ConnectionError", "TimeoutError") or isinstance(exc, OSError):
        return f"unreachable: {text or name}" if text else "unreachable"
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{name}: {text}" if text else name
