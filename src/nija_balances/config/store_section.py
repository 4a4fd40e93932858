"""The `[store]` table: which store holds the cache, and how to reach it.

```toml
[store]
url = "redis://cache.internal:6379/0"   # or rediss:// (TLS), or sqlite:///path/balances.sqlite3
password_env = "NIJA_REDIS_PASSWORD"    # the password is read from this variable, never the file
namespace = "desk"                      # optional: separates configs sharing one store
```

A password written in the URL is refused (config files get copied, pasted and committed):
the error never quotes the URL. Nothing here connects anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nija_balances.domain.models import StoreSettings
from nija_balances.domain.syntax import (
    ENV_NAME_HINT,
    Locator,
    Problems,
    env_name_problem,
    string_value,
    table_value,
    unknown_key,
)

STORE_KEYS = ("url", "password_env", "namespace")
SCHEMES = ("sqlite", "redis", "rediss")
_URL_HINT = (
    'e.g. url = "redis://localhost:6379/0", "rediss://host:6380/0" (TLS) or '
    '"sqlite:///home/me/balances.sqlite3"'
)


def parse_store(loc: Locator, raw: Any, problems: Problems) -> StoreSettings:
    """The checked `[store]` table (every problem added to `problems`)."""
    table = table_value(loc, ("store",), raw, "[store]")
    for key in table:
        if key not in STORE_KEYS:
            problems.add(unknown_key(loc, ("store", key), STORE_KEYS))
    url = problems.run(_url, loc, table) if "url" in table else None
    password_env = problems.run(_password_env, loc, table) if "password_env" in table else None
    namespace = None
    if "namespace" in table:
        namespace = problems.run(string_value, loc, ("store", "namespace"), table["namespace"])
    return StoreSettings(url=url, password_env=password_env, namespace=namespace)


def _url(loc: Locator, table: Mapping[str, Any]) -> str:
    path = ("store", "url")
    value = table["url"]
    if not isinstance(value, str) or not value.strip():
        raise loc.error(path, f"expected a store URL, got {type(value).__name__}", hint=_URL_HINT)
    url = value.strip()
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise loc.error(path, f"not a valid URL ({_no_secret(exc, url)})", hint=_URL_HINT) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = scheme or "none"
        raise loc.error(
            path,
            f"unknown store scheme '{shown}': expected sqlite, redis or rediss",
            hint=_URL_HINT,
        )
    if parts.password is not None:
        raise loc.error(
            path,
            "the URL holds a password (it is not shown here)",
            hint='remove it from the URL and set password_env = "NIJA_REDIS_PASSWORD" '
            "(a variable holding the password)",
        )
    if parts.query or parts.fragment:
        raise loc.error(path, "expected no ?query or #fragment in the store URL", hint=_URL_HINT)
    if scheme == "sqlite":
        if parts.netloc or not parts.path.startswith("/"):
            raise loc.error(
                path,
                "expected sqlite:///ABSOLUTE/PATH (three slashes, then the file)",
                hint=_URL_HINT,
            )
        if Path(parts.path).name in ("", ".", ".."):
            raise loc.error(path, "expected a file name after sqlite:///", hint=_URL_HINT)
        return url
    if not parts.hostname:
        raise loc.error(path, "expected a host after redis://", hint=_URL_HINT)
    if port == 0:
        raise loc.error(path, "expected a port from 1 to 65535", hint=_URL_HINT)
    db = parts.path.lstrip("/")
    if db and not (db.isdigit() and db.isascii()):
        raise loc.error(
            path, f"expected a database number after the host, got '/{db}'", hint=_URL_HINT
        )
    return url


def _password_env(loc: Locator, table: Mapping[str, Any]) -> str:
    path = ("store", "password_env")
    value = table["password_env"]
    if not isinstance(value, str):
        raise loc.error(path, f"expected a variable name, got {type(value).__name__}")
    if (problem := env_name_problem(value.strip())) is not None:
        raise loc.error(path, f"expected a variable name ({problem})", hint=ENV_NAME_HINT)
    return value.strip()


def _no_secret(exc: Exception, url: str) -> str:
    """An error of `urlsplit` without the URL's userinfo (it may hold a password)."""
    text = str(exc)
    at = url.rfind("@")
    return text.replace(url[:at], "…") if at > 0 else text
