"""Collect a `Portfolio`: decide per connection (cache, skip, fetch), fetch concurrently, value.

The plan is made synchronously, so that when every connection is served from the cache
nothing heavier than sqlite is imported (no asyncio loop, no ccxt). Fetching happens per
exchange: one adapter per exchange per refresh, every connection of it at once, one price
call after the balances. A failure of one connection never stops another; a failed
fetch with an earlier good value is shown `stale`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from nija_balances.adapters import registry
from nija_balances.adapters.interface import AdapterError, AdapterSpec, Holdings
from nija_balances.credentials import Credentials, load_dotenv_files, redact, resolve
from nija_balances.models import (
    ZERO,
    AccountConfig,
    AccountReport,
    Basis,
    Config,
    ConnectionConfig,
    ConnectionReport,
    Portfolio,
    Status,
    StoredResult,
    Summary,
    Valuation,
    to_cents,
)

if TYPE_CHECKING:
    from nija_balances.adapters.interface import Adapter

log = logging.getLogger(__name__)

Observer = Callable[[int, int], None]
"""Called as each connection's fetch finishes, ok or not: (done, total to fetch)."""
AdapterLookup = Callable[[str], AdapterSpec | None]


class ResultStore(Protocol):
    """The part of `cache.BalanceStore` the service uses (also the ccxt `MarketStore`)."""

    def get_many(self, namespace: str, keys: Iterable[str]) -> dict[str, StoredResult]: ...

    def put_many(self, namespace: str, items: Mapping[str, StoredResult]) -> None: ...

    def load_markets(self, exchange: str, max_age: float) -> dict[str, Any] | None: ...

    def save_markets(self, exchange: str, markets: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class FetchJob:
    """A connection that must be fetched now."""

    connection: ConnectionConfig
    kind: str
    spec: AdapterSpec
    credentials: Credentials
    last_good: StoredResult | None


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
            blank = _blank(conn, account.kind)
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
            last = stored.get(conn.key)
            if last is not None and last.exchange != conn.exchange:
                last = None  # the connection was pointed at another exchange since
            if last is not None and spec.cacheable and not refresh and now - last.fetched_at < ttl:
                decided[conn.key] = _from_stored(blank, last, Status.CACHED, now, config)
                continue
            jobs.append(FetchJob(conn, account.kind, spec, credentials, last))
    return RefreshPlan(config, decided, tuple(jobs))


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


def _blank(conn: ConnectionConfig, kind: str) -> ConnectionReport:
    return ConnectionReport(
        account=conn.account,
        account_kind="platform" if kind == "platform" else "user",
        connection=conn.name,
        exchange=conn.exchange,
        status=Status.ERROR,
    )


def _missing(conn: ConnectionConfig, credentials: Credentials) -> str:
    from nija_balances.credentials import candidate_env_names

    parts = []
    if not credentials.api_key:
        parts.append(" or ".join(candidate_env_names(conn, "API_KEY")))
    if not credentials.api_secret:
        parts.append(" or ".join(candidate_env_names(conn, "API_SECRET")))
    return "set " + " and ".join(parts)


def _from_stored(
    blank: ConnectionReport,
    stored: StoredResult,
    status: Status,
    now: float,
    config: Config,
    error: str | None = None,
) -> ConnectionReport:
    valuation = stored.valuation
    return replace(
        blank,
        status=status,
        balance=_pick(valuation, config.settings.basis),
        cash=valuation.cash,
        equity=valuation.equity,
        fetched_at=datetime.fromtimestamp(stored.fetched_at, UTC),
        age_s=max(0.0, now - stored.fetched_at),
        latency_s=stored.latency_s,
        error=error,
        assets=valuation.assets,
        unpriced=valuation.unpriced,
    )


def _pick(valuation: Valuation, basis: Basis) -> Any:
    return valuation.cash if basis == "cash" else valuation.equity


# --------------------------------------------------------------------------- fetching


async def fetch(
    plan: RefreshPlan,
    *,
    store: ResultStore | None = None,
    observer: Observer | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, ConnectionReport]:
    """Run the plan's jobs, every exchange concurrently; return a report per fetched job."""
    import asyncio

    by_exchange: dict[str, list[FetchJob]] = {}
    for job in plan.jobs:
        by_exchange.setdefault(job.connection.exchange, []).append(job)
    progress = {"done": 0}
    total = len(plan.jobs)

    def finished() -> None:
        progress["done"] += 1
        if observer is not None:
            observer(progress["done"], total)

    groups = await asyncio.gather(
        *(
            _fetch_exchange(exchange, jobs, plan.config, store, clock, finished)
            for exchange, jobs in by_exchange.items()
        )
    )
    reports = {key: report for group in groups for key, report in group.items()}
    cacheable = {job.connection.key for job in plan.jobs if job.spec.cacheable}
    good = {
        key: StoredResult(r.exchange, _valuation(r), r.fetched_at.timestamp(), r.latency_s)
        for key, r in reports.items()
        if r.status is Status.OK and r.fetched_at is not None and key in cacheable
    }
    if store is not None and good:
        store.put_many(plan.config.namespace, good)
    return reports


def _valuation(report: ConnectionReport) -> Valuation:
    return Valuation(report.cash, report.equity, report.assets, report.unpriced)


async def _fetch_exchange(
    exchange: str,
    jobs: list[FetchJob],
    config: Config,
    store: ResultStore | None,
    clock: Callable[[], float],
    finished: Callable[[], None],
) -> dict[str, ConnectionReport]:
    import asyncio

    from nija_balances import valuation

    settings = config.settings
    adapter: Adapter | None = None
    reports: dict[str, ConnectionReport] = {}
    try:
        log.info("%s: fetching %d connection(s)", exchange, len(jobs))
        adapter = jobs[0].spec.factory(exchange, settings, store)
        outcomes = await asyncio.gather(
            *(_fetch_one(adapter, job, settings.timeout, clock, finished) for job in jobs)
        )
        held = [outcome for _, outcome, _ in outcomes if isinstance(outcome, Holdings)]
        needed = valuation.currencies_to_price(held, settings)
        prices: Mapping[str, Any] = {}
        price_error: str | None = None
        if needed:
            try:
                prices = await asyncio.wait_for(
                    adapter.fetch_prices(needed, settings.quote), settings.timeout
                )
            except Exception as exc:  # prices failing must not fail the balances
                price_error = _classify(exc, (), settings.timeout)[1]
                log.warning("%s: prices unavailable: %s", exchange, price_error)
        now = clock()
        for job, outcome, latency in outcomes:
            blank = _blank(job.connection, job.kind)
            if isinstance(outcome, Holdings):
                valued = valuation.value(outcome, prices, settings)
                note = None
                if valued.unpriced and price_error:
                    note = f"could not price {', '.join(valued.unpriced)}: {price_error}"
                report = replace(
                    blank,
                    status=Status.OK,
                    balance=_pick(valued, settings.basis),
                    cash=valued.cash,
                    equity=valued.equity,
                    fetched_at=datetime.fromtimestamp(now, UTC),
                    age_s=0.0,
                    latency_s=latency,
                    error=note,
                    assets=valued.assets,
                    unpriced=valued.unpriced,
                )
            else:
                status, message = outcome
                report = _failed(blank, job, status, message, latency, now, config)
            reports[job.connection.key] = report
    except Exception as exc:  # the adapter could not even be built: every job fails alike
        status, message = _classify(exc, ())
        now = clock()
        for job in jobs:
            if job.connection.key not in reports:
                blank = _blank(job.connection, job.kind)
                reports[job.connection.key] = _failed(
                    blank, job, status, message, None, now, config
                )
                finished()
    finally:
        if adapter is not None:
            try:
                await adapter.aclose()
            except Exception as exc:  # closing must never lose the results
                log.warning("%s: error while closing: %s", exchange, exc)
    return reports


async def _fetch_one(
    adapter: Adapter,
    job: FetchJob,
    timeout: float,
    clock: Callable[[], float],
    finished: Callable[[], None],
) -> tuple[FetchJob, Holdings | tuple[Status, str], float]:
    import asyncio

    started = clock()
    outcome: Holdings | tuple[Status, str]
    try:
        outcome = await asyncio.wait_for(
            adapter.fetch_holdings(job.connection, job.credentials), timeout
        )
    except Exception as exc:
        outcome = _classify(exc, job.credentials.secrets(), timeout)
    elapsed = clock() - started
    if isinstance(outcome, Holdings):
        log.info(
            "%s: fetched %d assets in %.2f s", job.connection.key, len(outcome.assets), elapsed
        )
    else:
        log.info(
            "%s: %s after %.2f s: %s", job.connection.key, outcome[0].value, elapsed, outcome[1]
        )
    finished()
    return job, outcome, elapsed


def _classify(
    exc: BaseException, secrets: tuple[str, ...], timeout: float | None = None
) -> tuple[Status, str]:
    if isinstance(exc, AdapterError):
        return exc.status, redact(exc.message, secrets)
    if isinstance(exc, TimeoutError):
        return Status.TIMEOUT, f"no answer within {timeout:g} s" if timeout else "timed out"
    return Status.ERROR, _describe(exc, secrets)


def _describe(exc: BaseException, secrets: tuple[str, ...]) -> str:
    text = str(exc) or type(exc).__name__
    text = redact(text, secrets)
    return text if len(text) <= 300 else text[:297] + "..."


def _failed(
    blank: ConnectionReport,
    job: FetchJob,
    status: Status,
    message: str,
    latency: float | None,
    now: float,
    config: Config,
) -> ConnectionReport:
    if job.last_good is not None:
        return _from_stored(
            blank, job.last_good, Status.STALE, now, config, error=f"{status.value}: {message}"
        )
    return replace(blank, status=status, error=message, latency_s=latency)


# --------------------------------------------------------------------------- assembling


def build_portfolio(
    config: Config, reports: Mapping[str, ConnectionReport], generated_at: datetime
) -> Portfolio:
    """Arrange the reports by account, in config order, with totals and the summary."""

    def account_report(account: AccountConfig) -> AccountReport:
        return AccountReport(
            id=account.id,
            kind=account.kind,
            name=account.name,
            enabled=account.enabled,
            connections=tuple(reports[c.key] for c in account.connections),
        )

    platform = account_report(config.platform)
    users = tuple(account_report(u) for u in config.users)
    enabled = [u for u in users if u.enabled]
    user_totals = {u.id: u.total for u in enabled}
    capital = sum(user_totals.values(), ZERO)
    active = [c for a in (platform, *enabled) for c in a.connections]
    summary = Summary(
        platform_total=platform.total,
        user_totals=user_totals,
        total_user_capital=capital,
        user_count=len(enabled),
        average_per_user=to_cents(capital / len(enabled)) if enabled else ZERO,
        connections_total=len(active),
        connections_counted=sum(1 for c in active if c.counted),
    )
    return Portfolio(
        generated_at=generated_at,
        basis=config.settings.basis,
        quote=config.settings.quote,
        platform=platform,
        users=users,
        summary=summary,
    )


async def collect(
    config: Config,
    *,
    refresh: bool = False,
    max_age: float | None = None,
    store: ResultStore | None = None,
    observer: Observer | None = None,
    clock: Callable[[], float] = time.time,
    environ: Mapping[str, str] | None = None,
    adapters: AdapterLookup = registry.find_adapter,
) -> Portfolio:
    """Refresh every connection of `config` (through `store` when given) into a Portfolio."""
    plan = plan_refresh(
        config,
        refresh=refresh,
        max_age=max_age,
        store=store,
        clock=clock,
        environ=environ,
        adapters=adapters,
    )
    fetched = await fetch(plan, store=store, observer=observer, clock=clock) if plan.jobs else {}
    return build_portfolio(config, {**plan.decided, **fetched}, _local_now(clock))


def collect_sync(
    config: Config,
    *,
    refresh: bool = False,
    max_age: float | None = None,
    store: ResultStore | None = None,
    observer: Observer | None = None,
    clock: Callable[[], float] = time.time,
    environ: Mapping[str, str] | None = None,
    adapters: AdapterLookup = registry.find_adapter,
) -> Portfolio:
    """`collect` for synchronous callers; starts no event loop when nothing must be fetched."""
    plan = plan_refresh(
        config,
        refresh=refresh,
        max_age=max_age,
        store=store,
        clock=clock,
        environ=environ,
        adapters=adapters,
    )
    fetched: dict[str, ConnectionReport] = {}
    if plan.jobs:
        import asyncio

        fetched = asyncio.run(fetch(plan, store=store, observer=observer, clock=clock))
    return build_portfolio(config, {**plan.decided, **fetched}, _local_now(clock))


def _local_now(clock: Callable[[], float]) -> datetime:
    return datetime.fromtimestamp(clock())
