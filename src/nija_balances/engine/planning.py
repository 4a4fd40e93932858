"""Planning a refresh: which connections are decided without a fetch, and which must be fetched.

Runs synchronously and imports nothing heavy, so a refresh served wholly from the cache
starts no event loop and never imports ccxt.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from nija_balances.adapters import registry
from nija_balances.adapters.interface import AdapterSpec
from nija_balances.config.credentials import load_dotenv_files, resolve
from nija_balances.domain.models import (
    AccountConfig,
    Basis,
    Config,
    ConnectionConfig,
    ConnectionReport,
    Status,
    StoredResult,
)
from nija_balances.domain.secrets import Credentials
from nija_balances.engine.ports import ResultStore
from nija_balances.engine.reports import blank_report, from_stored, remembered_failure

if TYPE_CHECKING:
    pass

AdapterLookup = Callable[[str], AdapterSpec | None]


@dataclass(frozen=True)
class FetchJob:
    """A connection that must be fetched now."""

    connection: ConnectionConfig
    kind: str
    spec: AdapterSpec
    credentials: Credentials
    last_good: StoredResult | None
    account: str  # the exchange account's identity hash (see `account_hash`)


@dataclass(frozen=True)
class RefreshPlan:
    """What a refresh will do: reports already decided, and the jobs left to fetch."""

    config: Config
    decided: dict[str, ConnectionReport]
    jobs: tuple[FetchJob, ...]


# --------------------------------------------------------------------------- selection


class SelectionError(ValueError):
    """`--user` or `--broker` named something the config does not have."""


def select(config: Config, user: str | None = None, broker: str | None = None) -> Config:
    """The config narrowed to one user (no platform) and/or one broker (connection or exchange)."""
    if user is not None and config.user(user) is None:
        known = ", ".join(u.id for u in config.users)
        raise SelectionError(f"unknown user '{user}' (known users: {known})")
    if broker is not None:
        names = {c.name for a in config.accounts for c in a.connections}
        names |= {c.exchange for a in config.accounts for c in a.connections}
        if broker.lower() not in {n.lower() for n in names}:
            raise SelectionError(
                f"no connection or exchange named '{broker}' (known: {', '.join(sorted(names))})"
            )

    def keep(account: AccountConfig) -> AccountConfig:
        if broker is None:
            return account
        wanted = broker.lower()
        conns = tuple(
            c for c in account.connections if wanted in (c.name.lower(), c.exchange.lower())
        )
        return replace(account, connections=conns)

    platform = keep(config.platform)
    users = tuple(keep(u) for u in config.users)
    if user is not None:
        platform = replace(platform, connections=())
        users = tuple(u for u in users if u.id == user)
    return replace(config, platform=platform, users=users)


def with_basis(config: Config, basis: Basis | None) -> Config:
    """The config with `settings.basis` overridden (None: unchanged)."""
    if basis is None or basis == config.settings.basis:
        return config
    return replace(config, settings=replace(config.settings, basis=basis))


# --------------------------------------------------------------------------- planning


def plan_refresh(
    config: Config,
    *,
    refresh: bool = False,
    max_age: float | None = None,
    store: ResultStore | None = None,
    clock: Callable[[], float] = time.time,
    environ: Mapping[str, str] | None = None,
    adapters: AdapterLookup = registry.find_adapter,
) -> RefreshPlan:
    """Decide every connection that needs no fetch; list the ones that do."""
    now = clock()
    ttl = config.settings.cache_ttl if max_age is None else max_age
    active = [
        (account, conn)
        for account in config.accounts
        if account.enabled
        for conn in account.connections
    ]
    stored = store.get_many(config.namespace, [c.key for _, c in active]) if store else {}
    dotenv: dict[str, str] | None = None
    seen_accounts: dict[tuple[str, ...], str] = {}  # one exchange account, counted once
    decided: dict[str, ConnectionReport] = {}
    jobs: list[FetchJob] = []
    for account in config.accounts:
        for conn in account.connections:
            blank = blank_report(conn, account.kind)
            if not account.enabled:
                decided[conn.key] = replace(blank, status=Status.DISABLED, error="user is disabled")
                continue
            spec = adapters(conn.exchange)
            if spec is None:
                decided[conn.key] = replace(
                    blank,
                    status=Status.UNSUPPORTED,
                    error=f"no adapter for '{conn.exchange}' (ccxt does not support it)",
                )
                continue
            credentials = Credentials()
            if spec.requires_credentials:
                if dotenv is None:
                    dotenv = load_dotenv_files(config.env_files)
                credentials = resolve(conn, environ, dotenv)
                if not credentials.present:
                    decided[conn.key] = replace(
                        blank, status=Status.NO_CREDENTIALS, error=_missing(conn, credentials)
                    )
                    continue
                identity = _account_identity(conn, credentials)
                if (twin := seen_accounts.setdefault(identity, conn.key)) != conn.key:
                    decided[conn.key] = replace(blank, status=Status.ERROR, error=_twin(twin))
                    continue
            # the paper adapter's data is local (never cached): no account to tell apart
            account_id = account_hash(conn, credentials) if spec.cacheable else ""
            last = stored.get(conn.key)
            if last is not None and (last.exchange != conn.exchange or last.account != account_id):
                last = None  # another exchange, key or settings since: another account's value
            # Within the window of the last attempt nothing is fetched (a failing exchange is
            # not hammered either); a value whose last attempt failed is shown `stale` with why,
            # and a connection that never worked shows its last failure. An attempt dated in
            # the future (the clock was ahead) is never fresh.
            if last is not None and spec.cacheable and not refresh:
                age = now - last.last_attempt
                window = ttl if max_age is not None else _window(last, ttl)
                if 0 <= age < window:
                    if last.valuation is None:
                        decided[conn.key] = remembered_failure(blank, last, now)
                    elif last.failure is None:
                        decided[conn.key] = from_stored(blank, last, Status.CACHED, now, config)
                    else:
                        decided[conn.key] = from_stored(
                            blank, last, Status.STALE, now, config, error=last.failure
                        )
                    continue
            good = last if last is not None and last.valuation is not None else None
            jobs.append(FetchJob(conn, account.kind, spec, credentials, good, account_id))
    return RefreshPlan(config, decided, tuple(jobs))


AUTH_BACKOFF = 900.0  # seconds a rejected key is not tried again (unless --refresh/--max-age)


def _window(last: StoredResult, ttl: float) -> float:
    """How long the last attempt stands: the TTL, longer after a rejected key."""
    if last.valuation is None and last.failure_status is Status.AUTH_FAILED:
        return max(ttl, AUTH_BACKOFF)
    return ttl


def account_hash(conn: ConnectionConfig, credentials: Credentials) -> str:
    """A stable id of the exchange account a connection reads: a hash of the exchange, the key
    id (never the secret) and the settings that change what is read (ccxt options, URLs,
    wallet type). Stored beside cached values; the key itself is never stored."""
    import json

    from nija_balances.domain.digest import sha256_hex

    settings = json.dumps(conn.ccxt, sort_keys=True, default=str)
    text = json.dumps([conn.exchange, credentials.api_key or "", settings])
    return sha256_hex(text.encode())[:24]


def _account_identity(conn: ConnectionConfig, credentials: Credentials) -> tuple[str, ...]:
    """What makes two connections the same exchange account (same key, same ccxt settings).

    The same key with other settings can be another wallet (Binance spot vs futures), so the
    settings are part of it. Held in memory only, never shown.
    """
    import json

    settings = json.dumps(conn.ccxt, sort_keys=True, default=str)
    return (conn.exchange, credentials.api_key or "", credentials.api_secret or "", settings)


def _twin(first: str) -> str:
    return (
        f"uses the same API key and settings as {first}: the same account, not counted twice "
        '(a second account needs its own api_key_env = "..." and api_secret_env = "...")'
    )


def _missing(conn: ConnectionConfig, credentials: Credentials) -> str:
    from nija_balances.config.credentials import candidate_env_names

    parts = []
    if not credentials.api_key:
        parts.append(" or ".join(candidate_env_names(conn, "API_KEY")))
    if not credentials.api_secret:
        parts.append(" or ".join(candidate_env_names(conn, "API_SECRET")))
    return "set " + " and ".join(parts)
