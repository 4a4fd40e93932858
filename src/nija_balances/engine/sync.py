"""History sync (`nija sync`, `Session.sync`): every selected connection's trades and flows,
page by page, into the store.

Planned first, synchronously (`plan_sync`: which connections, their credentials, sync
states and the currencies their accounts ever held), then run (`run_sync`): one adapter per
exchange, at most `settings.max_in_flight` connections of one exchange at once, each page
within `settings.timeout`. Each page is stored with its cursor in one write, so a sync
that stops part-way keeps what it stored and the next one resumes after it. A connection
that fails never stops another; an adapter that cannot list history (`HistoryUnsupported`,
or a plugin that is no `HistoryAdapter`) is recorded `unsupported` with its reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from nija_balances.adapters import registry
from nija_balances.adapters.interface import (
    AdapterError,
    AdapterSpec,
    HistoryAdapter,
    HistoryKind,
    HistoryPage,
    HistoryRequest,
    HistoryUnsupported,
    PreparingAdapter,
)
from nija_balances.domain.history import SyncState
from nija_balances.domain.models import Config, ConnectionConfig
from nija_balances.domain.secrets import Credentials, redact
from nija_balances.engine.fetching import prepare_limit
from nija_balances.engine.ports import Store

if TYPE_CHECKING:
    from nija_balances.adapters.interface import Adapter

log = logging.getLogger("nija_balances.engine.sync")

KINDS: tuple[HistoryKind, ...] = ("trades", "flows")
KindStatus = Literal["complete", "unsupported", "failed"]


@dataclass(frozen=True)
class SyncJob:
    """A connection to sync: its adapter, credentials, exchange account hash, stored sync
    state per kind, and the currencies its account ever held."""

    connection: ConnectionConfig
    owner: str  # "platform" or the user id
    spec: AdapterSpec | None  # None: no adapter serves the exchange (recorded unsupported)
    credentials: Credentials
    account: str
    states: Mapping[str, SyncState] = field(default_factory=dict)
    currencies: frozenset[str] = frozenset()


@dataclass(frozen=True)
class KindResult:
    """How one kind of one connection went: new items stored, pages, and the problem."""

    kind: HistoryKind
    status: KindStatus
    new_fills: int = 0
    new_flows: int = 0
    pages: int = 0
    problem: str | None = None


@dataclass(frozen=True)
class ConnectionSync:
    """One connection's outcome; `skipped` says why nothing was tried (no credentials, a
    disabled user, the same exchange account as another connection)."""

    key: str
    owner: str
    connection: str
    exchange: str
    kinds: tuple[KindResult, ...] = ()
    skipped: str | None = None

    @property
    def status(self) -> Literal["complete", "unsupported", "failed", "skipped"]:
        """`failed` if a kind failed, else `skipped`, else `unsupported` if a kind is, else
        `complete`."""
        statuses = {k.status for k in self.kinds}
        if "failed" in statuses:
            return "failed"
        if self.skipped is not None:
            return "skipped"
        return "unsupported" if "unsupported" in statuses else "complete"

    @property
    def new_fills(self) -> int:
        return sum(k.new_fills for k in self.kinds)

    @property
    def new_flows(self) -> int:
        return sum(k.new_flows for k in self.kinds)


@dataclass(frozen=True)
class SyncReport:
    """Every selected connection's outcome, in config order."""

    started_at: datetime  # aware UTC
    finished_at: datetime
    connections: tuple[ConnectionSync, ...]

    @property
    def ok(self) -> bool:
        """No connection failed (skipped and unsupported ones are not failures)."""
        return all(c.status != "failed" for c in self.connections)


@dataclass(frozen=True)
class SyncProgress:
    """What a sync has done so far: connections done of `total`, pages and items stored."""

    done: int
    total: int
    pages: int
    items: int


SyncObserver = Callable[[SyncProgress], None]


@dataclass(frozen=True)
class SyncPlan:
    config: Config
    kinds: tuple[HistoryKind, ...]
    jobs: tuple[SyncJob, ...]
    skipped: dict[str, ConnectionSync]


# --------------------------------------------------------------------------- planning


def plan_sync(
    config: Config,
    store: Store,
    *,
    kinds: Collection[HistoryKind] = KINDS,
    environ: Mapping[str, str] | None = None,
    adapters: Callable[[str], AdapterSpec | None] = registry.find_adapter,
) -> SyncPlan:
    """Decide which connections to sync; read their sync states and currencies at once."""
    from nija_balances.config.credentials import load_dotenv_files, resolve
    from nija_balances.engine.planning import account_hash

    chosen = tuple(k for k in KINDS if k in kinds)
    dotenv = load_dotenv_files(config.env_files)
    skipped: dict[str, ConnectionSync] = {}
    pending: list[SyncJob] = []
    seen: dict[str, str] = {}  # account hash -> first key: one exchange account, synced once
    for account in config.accounts:
        for conn in account.connections:
            blank = ConnectionSync(conn.key, account.id, conn.name, conn.exchange)
            if not account.enabled:
                skipped[conn.key] = replace(blank, skipped="user is disabled")
                continue
            spec = adapters(conn.exchange)
            credentials = resolve(conn, environ, dotenv)
            owner_hash = account_hash(conn, credentials)
            if spec is not None and spec.requires_credentials:
                if not credentials.present:
                    skipped[conn.key] = replace(blank, skipped="no credentials")
                    continue
                if (first := seen.setdefault(owner_hash, conn.key)) != conn.key:
                    skipped[conn.key] = replace(blank, skipped=f"same exchange account as {first}")
                    continue
            pending.append(SyncJob(conn, account.id, spec, credentials, owner_hash))
    keys = [job.connection.key for job in pending]
    owners = {job.connection.key: job.account for job in pending}
    states = store.get_sync_states(config.namespace, keys, owners) if keys else {}
    seen_currencies = store.currencies_seen(config.namespace, keys, owners) if keys else {}
    jobs = tuple(
        replace(
            job,
            states=states.get(job.connection.key, {}),
            currencies=seen_currencies.get(job.connection.key, frozenset()),
        )
        for job in pending
    )
    return SyncPlan(config, chosen, jobs, skipped)


# --------------------------------------------------------------------------- running


async def run_sync(
    plan: SyncPlan,
    store: Store,
    *,
    observer: SyncObserver | None = None,
    clock: Callable[[], float] = time.time,
) -> SyncReport:
    """Sync the plan's jobs, every exchange at once; the report in config order."""
    import asyncio

    started = datetime.fromtimestamp(clock(), UTC)
    total = len(plan.jobs)
    tally = {"done": 0, "pages": 0, "items": 0}

    def tell(pages: int = 0, items: int = 0, done: int = 0) -> None:
        tally["pages"] += pages
        tally["items"] += items
        tally["done"] += done
        if observer is not None:
            observer(SyncProgress(tally["done"], total, tally["pages"], tally["items"]))

    tell()
    by_exchange: dict[str, list[SyncJob]] = {}
    for job in plan.jobs:
        by_exchange.setdefault(job.connection.exchange, []).append(job)
    runs = [
        _sync_exchange(plan, exchange, jobs, store, clock, tell)
        for exchange, jobs in by_exchange.items()
    ]
    outcomes: dict[str, ConnectionSync] = dict(plan.skipped)
    for group in await asyncio.gather(*runs):
        outcomes.update(group)
    ordered = tuple(
        outcomes[c.key] for a in plan.config.accounts for c in a.connections if c.key in outcomes
    )
    return SyncReport(started, datetime.fromtimestamp(clock(), UTC), ordered)


async def _sync_exchange(
    plan: SyncPlan,
    exchange: str,
    jobs: list[SyncJob],
    store: Store,
    clock: Callable[[], float],
    tell: Callable[..., None],
) -> dict[str, ConnectionSync]:
    import asyncio

    settings = plan.config.settings
    adapter: Adapter | None = None
    opened: str | None = None  # why no connection of this exchange can be synced
    spec = jobs[0].spec
    try:
        if spec is None:
            unsupported = f"no adapter for '{exchange}'"
        else:
            unsupported = ""
            try:
                adapter = spec.factory(exchange, settings, store)
            except Exception as exc:
                opened = _describe(exc, ())
            if adapter is not None and not isinstance(adapter, HistoryAdapter):
                unsupported = f"the {spec.name} adapter cannot list trades or flows"
            elif adapter is not None and isinstance(adapter, PreparingAdapter):
                limit = prepare_limit(settings.timeout)
                secrets = tuple(s for j in jobs for s in j.credentials.secrets())
                try:
                    await asyncio.wait_for(
                        adapter.prepare([(j.connection, j.credentials) for j in jobs]), limit
                    )
                except Exception as exc:
                    opened = _describe(exc, secrets, limit)
        gate = asyncio.Semaphore(max(1, int(settings.max_in_flight)))
        lister = adapter if isinstance(adapter, HistoryAdapter) else None

        async def one(job: SyncJob) -> ConnectionSync:
            async with gate:
                results: list[KindResult] = []
                for kind in plan.kinds:
                    if unsupported:
                        result = _record_unsupported(plan, store, job, kind, unsupported)
                    elif opened is not None or lister is None:
                        result = _record_failure(plan, store, job, kind, opened or "", 0, 0, 0)
                    else:
                        result = await _sync_kind(plan, store, lister, job, kind, clock, tell)
                    results.append(result)
                tell(done=1)
                c = job.connection
                return ConnectionSync(c.key, job.owner, c.name, c.exchange, tuple(results))

        synced = await asyncio.gather(*(one(job) for job in jobs))
    finally:
        if adapter is not None:
            try:
                await adapter.aclose()
            except Exception as exc:  # closing must never lose what was stored
                log.warning("%s: error while closing: %s", exchange, exc)
    return {s.key: s for s in synced}


async def _sync_kind(
    plan: SyncPlan,
    store: Store,
    adapter: HistoryAdapter,
    job: SyncJob,
    kind: HistoryKind,
    clock: Callable[[], float],
    tell: Callable[..., None],
) -> KindResult:
    """Page through one kind of one connection, storing each page with its cursor."""
    import asyncio

    settings = plan.config.settings
    state = job.states.get(kind, SyncState())
    request = HistoryRequest(kind, state.cursor, job.currencies, settings.quote)
    key, ns = job.connection.key, plan.config.namespace
    pages = new_fills = new_flows = 0
    cursor = state.cursor
    iterator: AsyncIterator[HistoryPage] | None = None
    try:
        iterator = adapter.history_pages(job.connection, job.credentials, request)
        while True:
            try:
                page = await asyncio.wait_for(_next(iterator), settings.timeout)
            except StopAsyncIteration:
                break
            stored = store.put_history_page(
                ns, key, job.account, kind, fills=page.fills, flows=page.flows, cursor=page.cursor
            )
            if stored is None:
                raise _StoreFailed
            cursor = page.cursor
            pages += 1
            new_fills, new_flows = new_fills + stored[0], new_flows + stored[1]
            tell(pages=1, items=stored[0] + stored[1])
    except HistoryUnsupported as exc:
        return _record_unsupported(
            plan, store, job, kind, _describe(exc, job.credentials.secrets())
        )
    except Exception as exc:
        problem = _describe(exc, job.credentials.secrets(), settings.timeout)
        log.info("%s: %s sync failed after %d page(s): %s", key, kind, pages, problem)
        job = replace(job, states={**job.states, kind: replace(state, cursor=cursor)})
        return _record_failure(plan, store, job, kind, problem, pages, new_fills, new_flows)
    finally:
        if iterator is not None:
            await _close_iterator(iterator)
    finished = datetime.fromtimestamp(clock(), UTC)
    done = SyncState(cursor=cursor, finished_at=finished, complete=True)
    store.set_sync_state(ns, key, job.account, kind, done)
    log.info("%s: %s synced: %d page(s), %d new", key, kind, pages, new_fills + new_flows)
    return KindResult(kind, "complete", new_fills, new_flows, pages)


def _record_unsupported(
    plan: SyncPlan, store: Store, job: SyncJob, kind: HistoryKind, reason: str
) -> KindResult:
    state = replace(job.states.get(kind, SyncState()), unsupported=True, problem=reason)
    store.set_sync_state(plan.config.namespace, job.connection.key, job.account, kind, state)
    return KindResult(kind, "unsupported", problem=reason)


def _record_failure(
    plan: SyncPlan,
    store: Store,
    job: SyncJob,
    kind: HistoryKind,
    problem: str,
    pages: int,
    new_fills: int,
    new_flows: int,
) -> KindResult:
    """Keep what was stored (the cursor of the last page) and say why it stopped."""
    state = replace(job.states.get(kind, SyncState()), unsupported=False, problem=problem)
    store.set_sync_state(plan.config.namespace, job.connection.key, job.account, kind, state)
    return KindResult(kind, "failed", new_fills, new_flows, pages, problem)


async def _next(iterator: AsyncIterator[HistoryPage]) -> HistoryPage:
    return await iterator.__anext__()


async def _close_iterator(iterator: AsyncIterator[HistoryPage]) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        try:
            await close()
        except Exception as exc:  # a generator left mid-await may refuse; nothing is lost
            log.debug("closing a history iterator: %s", exc)


class _StoreFailed(Exception):
    def __str__(self) -> str:
        return "the store could not be written (see its warning); the next sync resumes here"


def _describe(exc: BaseException, secrets: tuple[str, ...], timeout: float | None = None) -> str:
    """One line for a failure: `status: message`, never a secret."""
    if isinstance(exc, AdapterError):
        text = f"{exc.status.value}: {exc.message}"
    elif isinstance(exc, TimeoutError):
        text = f"timeout: no answer within {timeout:g} s" if timeout else "timeout"
    elif isinstance(exc, HistoryUnsupported | _StoreFailed):
        text = str(exc)
    else:
        text = f"error: {exc or type(exc).__name__}"
    text = redact(" ".join(text.split()), secrets)
    return text if len(text) <= 300 else text[:297] + "..."


def sync_history(
    config: Config,
    store: Store,
    *,
    kinds: Collection[HistoryKind] = KINDS,
    observer: SyncObserver | None = None,
    clock: Callable[[], float] = time.time,
    environ: Mapping[str, str] | None = None,
    adapters: Callable[[str], AdapterSpec | None] = registry.find_adapter,
) -> SyncReport:
    """Plan and run a sync of `config`'s connections (starts its own event loop)."""
    import asyncio

    plan = plan_sync(config, store, kinds=kinds, environ=environ, adapters=adapters)
    return asyncio.run(run_sync(plan, store, observer=observer, clock=clock))
