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

from nija_balances.adapters.interface import AdapterError
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
    reports = {key: report for group in groups for key, report in group.items()}
    cacheable = {job.connection.key for job in plan.jobs if job.spec.cacheable}
    good = {
        key: StoredResult(r.exchange, _valuation(r), r.fetched_at.timestamp(), r.latency_s)
        for key, r in reports.items()
        if r.status is Status.OK and r.fetched_at is not None and key in cacheable
    }
    # A failure after a good value is remembered with it, so that later reads within the
    # TTL say `stale` (with the reason) instead of `cached`.
    for job in plan.jobs:
        report = reports.get(job.connection.key)
        if report is not None and report.status is Status.STALE and job.last_good is not None:
            good[job.connection.key] = replace(
                job.last_good, failure=report.error, failed_at=clock()
            )
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

    from nija_balances.domain import valuation

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
            blank = blank_report(job.connection, job.kind)
            if isinstance(outcome, Holdings):
                valued = valuation.value(outcome, prices, settings)
                note = None
                if valued.unpriced and price_error:
                    note = f"could not price {', '.join(valued.unpriced)}: {price_error}"
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
            reports[job.connection.key] = report
    except Exception as exc:  # the adapter could not even be built: every job fails alike
        status, message = _classify(exc, ())
        now = clock()
        for job in jobs:
            if job.connection.key not in reports:
                blank = blank_report(job.connection, job.kind)
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
        return from_stored(
            blank, job.last_good, Status.STALE, now, config, error=f"{status.value}: {message}"
        )
    return replace(blank, status=status, error=message, latency_s=latency)
