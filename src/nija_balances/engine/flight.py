"""Single-flight: processes (and hosts) wanting the same exchange account at once make one
request; the others wait for it and use the result it stored.

Per job, before its fetch: take the account's lock from the store (`ports.FlightLock`). If
another process holds it, wait — at most `settings.timeout` — polling the lock (POLL), then
read the store: a result stored since this refresh began is this job's answer (`ok` when it
is a good value, as a fetch of ours would be). Otherwise (nothing stored: the holder failed
to write, crashed, or hung past the wait) fetch ourselves. The lock is extended while our
fetch runs and let go only after the refresh's results are written (`release_all`), so a
waiter never reads the store before the holder's result is in it. Before fetching, one
token is taken from each of the shared rate budgets (`domain.budget`).

This also keeps one API key's nonces (Kraken) from colliding across processes: one
process at a time signs requests for an account.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from nija_balances.domain.budget import buckets_for
from nija_balances.domain.models import Config, ConnectionReport, Status, StoredResult
from nija_balances.engine.ports import FlightLock, FlightStore, ResultStore
from nija_balances.engine.reports import from_stored

if TYPE_CHECKING:
    import asyncio

    from nija_balances.engine.planning import FetchJob

log = logging.getLogger("nija_balances.engine.collect")

T = TypeVar("T")
POLL = 0.05  # seconds between two looks at a lock another process holds
SLACK = 1.0  # seconds: a result stored this long before our refresh began still counts


def lease_for(timeout: float) -> float:
    """How long a lock lives unless extended: a fetch, its prices call and the write."""
    return 2 * timeout + 10.0


class SingleFlight:
    """The locks of one refresh: `run` guards each job's fetch, `release_all` ends them."""

    def __init__(
        self,
        flights: FlightLock,
        store: ResultStore,
        namespace: str,
        timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._flights = flights
        self._store = store
        self._namespace = namespace
        self._timeout = timeout
        self._lease = lease_for(timeout)
        self._since = clock() - SLACK
        self._held: list[object] = []
        self.peers: set[str] = set()  # keys answered by another process's stored result
        self._keepers: list[asyncio.Task[None]] = []

    @classmethod
    def for_store(
        cls, store: ResultStore | None, namespace: str, timeout: float, clock: Callable[[], float]
    ) -> SingleFlight | None:
        """Single-flight through `store`, or None when it offers no locks."""
        if store is None or not isinstance(store, FlightStore):
            return None
        return cls(store.flights(), store, namespace, timeout, clock)

    async def run(self, job: FetchJob, fetch_now: Callable[[], Awaitable[T]]) -> T | StoredResult:
        """`fetch_now()` under the account's lock, or the result another process stored."""
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        held = self._flights.try_acquire(job.account, self._lease)
        while held is None and loop.time() < deadline:
            await asyncio.sleep(POLL)
            held = self._flights.try_acquire(job.account, self._lease)
        peer = self._stored_since(job)
        if peer is not None:
            if held is not None:
                self._flights.release(held)
            log.info("%s: fetched by another process, using its result", job.connection.key)
            self.peers.add(job.connection.key)
            return peer
        if held is None:
            log.info("%s: lock still held after %g s: fetching", job.connection.key, self._timeout)
        else:
            self._held.append(held)
            self._keepers.append(asyncio.create_task(self._keep(held)))
        await self._spend(job, deadline)
        return await fetch_now()

    def release_all(self) -> None:
        """Let every lock go (after the results are stored)."""
        for keeper in self._keepers:
            keeper.cancel()
        self._keepers.clear()
        for held in self._held:
            self._flights.release(held)
        self._held.clear()

    def _stored_since(self, job: FetchJob) -> StoredResult | None:
        stored = self._store.get_many(self._namespace, [job.connection.key]).get(job.connection.key)
        if stored is None or stored.account != job.account:
            return None  # nothing, or another exchange account's value
        if stored.exchange != job.connection.exchange:
            return None
        return stored if stored.last_attempt >= self._since else None

    @staticmethod
    def report(
        blank: ConnectionReport, stored: StoredResult, now: float, config: Config
    ) -> tuple[ConnectionReport, Status]:
        """The report of a job another process fetched, and the status of its attempt."""
        failed = stored.failure_status or Status.ERROR
        if stored.valuation is None:  # failed just now, as our own fetch would have
            return replace(
                blank, status=failed, error=stored.failure, latency_s=stored.latency_s
            ), failed
        if stored.failure is None:
            return from_stored(blank, stored, Status.OK, now, config), Status.OK
        return from_stored(blank, stored, Status.STALE, now, config, error=stored.failure), failed

    async def _keep(self, held: object) -> None:
        import asyncio

        while True:
            await asyncio.sleep(self._lease / 3)
            if not self._flights.extend(held, self._lease):
                return

    async def _spend(self, job: FetchJob, deadline: float) -> None:
        """One token of each shared budget; waits for them up to the job's deadline."""
        import asyncio

        loop = asyncio.get_running_loop()
        buckets = buckets_for(job.connection.exchange, job.account)
        while (wait := self._flights.take(buckets)) > 0:
            if loop.time() + wait > deadline:
                log.info("%s: shared rate budget spent, fetching anyway", job.connection.key)
                return
            await asyncio.sleep(wait)
