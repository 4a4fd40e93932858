"""Fetching: every exchange at once, one adapter each, each connection within its timeout.

First every exchange's adapter is built and prepared (importing its client library,
building its objects: our start-up, bounded by `prepare_limit`), then every connection is
fetched, each within `settings.timeout`, which so measures the exchange alone. A failure of
one connection never stops another; a failed fetch with an earlier good value is shown
`stale`; prices come from one call per exchange after the balances.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from nija_balances.adapters.interface import AdapterError, NotedHoldings, PreparingAdapter
from nija_balances.domain.history import AssetPosition, Snapshot
from nija_balances.domain.models import (
    Config,
    ConnectionReport,
    Holdings,
    Settings,
    Status,
    StoredResult,
    Valuation,
)
from nija_balances.domain.secrets import redact

if TYPE_CHECKING:
    import asyncio

    from nija_balances.adapters.interface import Adapter

from nija_balances.engine.flight import SingleFlight
from nija_balances.engine.planning import FetchJob, RefreshPlan
from nija_balances.engine.ports import Observer, ResultStore, SnapshotStore
from nija_balances.engine.reports import blank_report, from_stored, pick_basis

log = logging.getLogger("nija_balances.engine.collect")
_T = TypeVar("_T")


def prepare_limit(timeout: float) -> float:
    """How long the start-up of one exchange's adapter may take: importing ccxt costs ~1 s of
    CPU, and ten times that on a machine shared by ten busy processes."""
    return max(60.0, 4 * timeout)


# --------------------------------------------------------------------------- fetching


async def fetch(
    plan: RefreshPlan,
    *,
    store: ResultStore | None = None,
    observer: Observer | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, ConnectionReport]:
    """Run the plan's jobs, every exchange concurrently; return a report per fetched job."""

    by_exchange: dict[str, list[FetchJob]] = {}
    for job in plan.jobs:
        by_exchange.setdefault(job.connection.exchange, []).append(job)
    progress = {"done": 0}
    total = len(plan.jobs)

    def finished() -> None:
        progress["done"] += 1
        if observer is not None:
            observer(progress["done"], total)

    if observer is not None:
        observer(0, total)  # the total is known before the first answer

    adapters: dict[str, Adapter] = {}  # built and not closed yet
    flight = SingleFlight.for_store(
        store, plan.config.namespace, plan.config.settings.timeout, clock
    )
    try:
        return await _fetch_all(plan, by_exchange, adapters, store, flight, clock, finished)
    finally:  # only once the results are stored: waiters then read them
        if flight is not None:
            flight.release_all()


async def _fetch_all(
    plan: RefreshPlan,
    by_exchange: dict[str, list[FetchJob]],
    adapters: dict[str, Adapter],
    store: ResultStore | None,
    flight: SingleFlight | None,
    clock: Callable[[], float],
    finished: Callable[[], None],
) -> dict[str, ConnectionReport]:
    import asyncio

    try:
        failures = await asyncio.gather(
            *(
                _open(exchange, jobs, plan.config, store, adapters)
                for exchange, jobs in by_exchange.items()
            )
        )
        if flight is not None:  # every free lock, and what peers stored, in a few round trips
            await flight.prepare(plan.jobs)
        groups = await asyncio.gather(
            *(
                _fetch_exchange(
                    exchange, jobs, plan.config, adapters, failure, clock, finished, flight
                )
                for (exchange, jobs), failure in zip(by_exchange.items(), failures, strict=True)
            )
        )
    finally:  # after an interrupt: the adapters no `_fetch_exchange` closed
        for exchange in list(adapters):
            await _close(exchange, adapters)
    outcomes = {key: outcome for group in groups for key, outcome in group.items()}
    reports = {key: report for key, (report, _) in outcomes.items()}
    if flight is not None:  # another process stored these: nothing to write again
        outcomes = {k: o for k, o in outcomes.items() if k not in flight.peers}
    now = clock()
    remembered = {
        job.connection.key: record
        for job in plan.jobs
        if job.spec.cacheable
        and job.connection.key in outcomes
        and (record := _to_store(job, *outcomes[job.connection.key], now)) is not None
    }
    snapshots = [
        (job.connection.key, job.account, snapshot)
        for job in plan.jobs
        if job.spec.cacheable
        and job.connection.key in outcomes
        and (snapshot := _snapshot(outcomes[job.connection.key][0])) is not None
    ]
    if store is not None and (remembered or snapshots):
        if snapshots and isinstance(store, SnapshotStore):  # the same write as the balances
            store.put_many(plan.config.namespace, remembered, snapshots=snapshots)
        elif remembered:
            store.put_many(plan.config.namespace, remembered)
    return reports


def _snapshot(report: ConnectionReport) -> Snapshot | None:
    """The history record of a good fetch: time, cash, equity, and each
    asset's amount and price; None for anything but a fetch that succeeded now."""
    if report.status is not Status.OK or report.fetched_at is None:
        return None
    assets = tuple(AssetPosition(a.currency, a.total, a.price) for a in report.assets)
    return Snapshot(report.fetched_at, report.cash, report.equity, assets)


def _to_store(
    job: FetchJob, report: ConnectionReport, status: Status, now: float
) -> StoredResult | None:
    """What the store keeps of this fetch: a good value; a failure after a good value (the
    value, marked, so later reads within the TTL say `stale` with why); or a failure of a
    connection that never worked (so it is not tried again on every read)."""
    if report.status is Status.OK and report.fetched_at is not None:
        valuation = Valuation(report.cash, report.equity, report.assets, report.unpriced)
        fetched_at = report.fetched_at.timestamp()
        return StoredResult(
            report.exchange, valuation, fetched_at, report.latency_s, account=job.account
        )
    if report.status is Status.STALE and job.last_good is not None:
        return replace(job.last_good, failure=report.error, failed_at=now, failure_status=status)
    if status is not Status.OK and report.error is not None:
        return StoredResult(
            report.exchange,
            None,
            None,
            report.latency_s,
            failure=report.error,
            failed_at=now,
            failure_status=status,
            account=job.account,
        )
    return None


async def _open(
    exchange: str,
    jobs: list[FetchJob],
    config: Config,
    store: ResultStore | None,
    adapters: dict[str, Adapter],
) -> tuple[Status, str] | None:
    """Build and prepare one exchange's adapter (into `adapters`); None, or why every one of
    its connections fails."""
    import asyncio

    try:
        adapter = adapters[exchange] = jobs[0].spec.factory(exchange, config.settings, store)
    except Exception as exc:  # the adapter could not even be built: every job fails alike
        return _classify(exc, ())
    if not isinstance(adapter, PreparingAdapter):
        return None
    limit = prepare_limit(config.settings.timeout)
    secrets = tuple(s for job in jobs for s in job.credentials.secrets())
    try:
        await asyncio.wait_for(
            adapter.prepare([(job.connection, job.credentials) for job in jobs]), limit
        )
    except TimeoutError:
        return Status.TIMEOUT, f"start-up took longer than {limit:g} s (is the machine overloaded?)"
    except Exception as exc:
        return _classify(exc, secrets)
    return None


async def _close(exchange: str, adapters: dict[str, Adapter]) -> None:
    adapter = adapters.pop(exchange, None)
    if adapter is not None:
        try:
            await adapter.aclose()
        except Exception as exc:  # closing must never lose the results
            log.warning("%s: error while closing: %s", exchange, exc)


async def _fetch_exchange(
    exchange: str,
    jobs: list[FetchJob],
    config: Config,
    adapters: dict[str, Adapter],
    failure: tuple[Status, str] | None,
    clock: Callable[[], float],
    finished: Callable[[], None],
    flight: SingleFlight | None = None,
) -> dict[str, tuple[ConnectionReport, Status]]:
    """Fetch one exchange's jobs: per connection, its report and the status of this attempt
    (for a `stale` report, the status of the failure behind it)."""
    import asyncio

    from nija_balances.domain import valuation

    settings = config.settings
    reports: dict[str, tuple[ConnectionReport, Status]] = {}
    try:
        if failure is not None:
            raise AdapterError(*failure)
        adapter = adapters[exchange]
        log.info("%s: fetching %d connection(s)", exchange, len(jobs))
        # the currencies held last time are priced while the balances are fetched (one round
        # trip less); a currency nobody held before is priced after them
        early_asked = _held_before(jobs, settings)
        early = _start(_prices(adapter, early_asked, settings, exchange)) if early_asked else None
        outcomes = await asyncio.gather(
            *(_fetch_one(adapter, job, settings.timeout, clock, finished, flight) for job in jobs)
        )
        held = [outcome for _, outcome, _ in outcomes if isinstance(outcome, Holdings)]
        needed = valuation.currencies_to_price(held, settings)
        prices: dict[str, Any] = {}
        price_error: str | None = None
        if early is not None:
            prices, price_error = await early
            if not needed & early_asked:
                price_error = None  # none of what failed is needed now
        if missing := needed - early_asked:
            more, error = await _prices(adapter, missing, settings, exchange)
            prices.update(more)
            price_error = price_error or error
        now = clock()
        for job, outcome, latency in outcomes:
            blank = blank_report(job.connection, job.kind)
            status = Status.OK
            if isinstance(outcome, StoredResult):  # another process fetched it just now
                report, status = SingleFlight.report(blank, outcome, now, config)
            elif isinstance(outcome, Holdings):
                valued = valuation.value(outcome, prices, settings)
                notes = list(outcome.notes) if isinstance(outcome, NotedHoldings) else []
                if valued.unpriced and price_error:
                    notes.append(f"could not price {', '.join(valued.unpriced)}: {price_error}")
                note = "; ".join(notes) or None
                report = replace(
                    blank,
                    status=Status.OK,
                    balance=pick_basis(valued, settings.basis),
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
            reports[job.connection.key] = (report, status)
    except Exception as exc:  # no adapter, or it failed as a whole: every job fails alike
        status, message = _classify(exc, ())
        now = clock()
        for job in jobs:
            if job.connection.key not in reports:
                blank = blank_report(job.connection, job.kind)
                report = _failed(blank, job, status, message, None, now, config)
                reports[job.connection.key] = (report, status)
                finished()
    finally:
        await _close(exchange, adapters)
    return reports


def _held_before(jobs: list[FetchJob], settings: Settings) -> set[str]:
    """The non-cash currencies (non-zero) of the connections' last good values."""
    from nija_balances.domain import valuation

    cash = valuation.cash_currencies(settings)
    return {
        asset.currency
        for job in jobs
        if job.last_good is not None and job.last_good.valuation is not None
        for asset in job.last_good.valuation.assets
        if asset.currency not in cash and asset.total != 0
    }


def _start(coroutine: Coroutine[Any, Any, _T]) -> asyncio.Future[_T]:
    import asyncio

    return asyncio.ensure_future(coroutine)


async def _prices(
    adapter: Adapter, currencies: set[str], settings: Settings, exchange: str
) -> tuple[dict[str, Any], str | None]:
    """The prices of `currencies`, or why there are none (prices failing must not fail the
    balances)."""
    import asyncio

    try:
        found = await asyncio.wait_for(
            adapter.fetch_prices(currencies, settings.quote), settings.timeout
        )
    except Exception as exc:
        error = _classify(exc, (), settings.timeout)[1]
        log.warning("%s: prices unavailable: %s", exchange, error)
        return {}, error
    return dict(found), None


async def _fetch_one(
    adapter: Adapter,
    job: FetchJob,
    timeout: float,
    clock: Callable[[], float],
    finished: Callable[[], None],
    flight: SingleFlight | None = None,
) -> tuple[FetchJob, Holdings | StoredResult | tuple[Status, str], float]:
    import asyncio

    def fetch_now() -> Awaitable[Holdings]:
        return asyncio.wait_for(adapter.fetch_holdings(job.connection, job.credentials), timeout)

    started = clock()
    outcome: Holdings | StoredResult | tuple[Status, str]
    try:
        guarded = flight is not None and job.spec.cacheable
        outcome = await (flight.run(job, fetch_now) if flight and guarded else fetch_now())
    except Exception as exc:
        outcome = _classify(exc, job.credentials.secrets(), timeout)
    elapsed = clock() - started
    if isinstance(outcome, StoredResult):
        pass  # said by the single-flight
    elif isinstance(outcome, Holdings):
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
        return from_stored(
            blank, job.last_good, Status.STALE, now, config, error=f"{status.value}: {message}"
        )
    return replace(blank, status=status, error=message, latency_s=latency)
