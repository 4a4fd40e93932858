"""Fetching: every exchange at once, one adapter each, each connection within its timeout.

A failure of one connection never stops another; a failed fetch with an earlier good value
is shown `stale`; prices come from one call per exchange after the balances.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from nija_balances.adapters.interface import AdapterError, NotedHoldings
from nija_balances.domain.models import (
    Config,
    ConnectionReport,
    Holdings,
    Status,
    StoredResult,
    Valuation,
)
from nija_balances.domain.secrets import redact

if TYPE_CHECKING:
    from nija_balances.adapters.interface import Adapter

from nija_balances.engine.planning import FetchJob, RefreshPlan
from nija_balances.engine.ports import Observer, ResultStore
from nija_balances.engine.reports import blank_report, from_stored, pick_basis

log = logging.getLogger("nija_balances.engine.collect")


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

    if observer is not None:
        observer(0, total)  # the total is known before the first answer

    groups = await asyncio.gather(
        *(
            _fetch_exchange(exchange, jobs, plan.config, store, clock, finished)
            for exchange, jobs in by_exchange.items()
        )
    )
    outcomes = {key: outcome for group in groups for key, outcome in group.items()}
    reports = {key: report for key, (report, _) in outcomes.items()}
    now = clock()
    remembered = {
        job.connection.key: record
        for job in plan.jobs
        if job.spec.cacheable
        and job.connection.key in outcomes
        and (record := _to_store(job, *outcomes[job.connection.key], now)) is not None
    }
    if store is not None and remembered:
        store.put_many(plan.config.namespace, remembered)
    return reports


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


async def _fetch_exchange(
    exchange: str,
    jobs: list[FetchJob],
    config: Config,
    store: ResultStore | None,
    clock: Callable[[], float],
    finished: Callable[[], None],
) -> dict[str, tuple[ConnectionReport, Status]]:
    """Fetch one exchange's jobs: per connection, its report and the status of this attempt
    (for a `stale` report, the status of the failure behind it)."""
    import asyncio

    from nija_balances.domain import valuation

    settings = config.settings
    adapter: Adapter | None = None
    reports: dict[str, tuple[ConnectionReport, Status]] = {}
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
            blank = blank_report(job.connection, job.kind)
            status = Status.OK
            if isinstance(outcome, Holdings):
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
    except Exception as exc:  # the adapter could not even be built: every job fails alike
        status, message = _classify(exc, ())
        now = clock()
        for job in jobs:
            if job.connection.key not in reports:
                blank = blank_report(job.connection, job.kind)
                report = _failed(blank, job, status, message, None, now, config)
                reports[job.connection.key] = (report, status)
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
        return from_stored(
            blank, job.last_good, Status.STALE, now, config, error=f"{status.value}: {message}"
        )
    return replace(blank, status=status, error=message, latency_s=latency)
