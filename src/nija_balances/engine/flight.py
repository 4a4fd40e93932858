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

The uncontended case is done for all jobs at once (`prepare`, after the adapters are
ready): the free locks in one round trip, one read of what peers stored, the budget in one
take — with Redis a handful of round trips per refresh instead of several per connection.

This also keeps one API key's nonces (Kraken) from colliding across processes: one
process at a time signs requests for an account.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
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
SKEW = 5.0  # seconds another host's clock may be ahead of ours


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
        # a result attempted since then is this refresh's answer (the plan was made just
        # before, with no I/O between; an earlier one is what the plan decided to refresh)
        self._clock = clock
        self._since = clock()
        self._held: list[object] = []
        self.peers: set[str] = set()  # keys answered by another process's stored result
        self._keepers: list[asyncio.Task[None]] = []
        # from `prepare`: per connection key, the lock taken, or the result a peer stored
        self._ready: dict[str, object | StoredResult] = {}
        self._paid: set[str] = set()  # keys whose budget `prepare` already took

    @classmethod
    def for_store(
        cls, store: ResultStore | None, namespace: str, timeout: float, clock: Callable[[], float]
    ) -> SingleFlight | None:
        """Single-flight through `store`, or None when it offers no locks."""
        if store is None or not isinstance(store, FlightStore):
            return None
        return cls(store.flights(), store, namespace, timeout, clock)

    async def prepare(self, jobs: Sequence[FetchJob]) -> None:
        """The uncontended case in a few round trips, not a few per job: every lock that is
        free, then one read for results stored since this refresh began (those locks go at
        once), then the budget of the jobs left. `run` handles the rest one by one."""
        import asyncio

        guarded = [job for job in jobs if job.spec.cacheable]
        if not guarded:
            return
        taken = self._flights.try_acquire_many([job.account for job in guarded], self._lease)
        mine = [(job, held) for job, held in zip(guarded, taken, strict=True) if held is not None]
        keys = [job.connection.key for job, _ in mine]
        stored = self._store.get_many(self._namespace, keys) if keys else {}
        done: list[object] = []
        fetching: list[FetchJob] = []
        for job, held in mine:
            peer = self._fresh(job, stored.get(job.connection.key))
            if peer is not None:
                self._ready[job.connection.key] = peer
                done.append(held)
            else:
                self._ready[job.connection.key] = held
                self._held.append(held)
                fetching.append(job)
        if done:
            self._flights.release_many(done)
        waits = self._flights.take_many(
            [buckets_for(job.connection.exchange, job.account) for job in fetching]
        )
        self._paid = {job.connection.key for job, w in zip(fetching, waits, strict=True) if not w}
        if self._held:
            self._keepers.append(asyncio.create_task(self._keep_all()))

    async def run(self, job: FetchJob, fetch_now: Callable[[], Awaitable[T]]) -> T | StoredResult:
        """`fetch_now()` under the account's lock, or the result another process stored."""
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        key = job.connection.key
        if key in self._ready:  # settled by `prepare`
            ready = self._ready.pop(key)
            if isinstance(ready, StoredResult):
                return self._use(job, ready)
            if key not in self._paid:
                await self._spend(job, deadline)
            return await fetch_now()
        held = self._flights.try_acquire(job.account, self._lease)
        while held is None and loop.time() < deadline:
            await asyncio.sleep(POLL)
            held = self._flights.try_acquire(job.account, self._lease)
        peer = self._fresh(job, self._store.get_many(self._namespace, [key]).get(key))
        if peer is not None:
            if held is not None:
                self._flights.release(held)
            return self._use(job, peer)
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
        held, self._held = self._held, []
        self._flights.release_many(held)

    def _use(self, job: FetchJob, peer: StoredResult) -> StoredResult:
        log.info("%s: fetched by another process, using its result", job.connection.key)
        self.peers.add(job.connection.key)
        return peer

    def _fresh(self, job: FetchJob, stored: StoredResult | None) -> StoredResult | None:
        """`stored` when it is this account's, attempted since this refresh began."""
        if stored is None or stored.account != job.account:
            return None  # nothing, or another exchange account's value
        if stored.exchange != job.connection.exchange:
            return None
        # Attempted since this refresh began, and not dated in the future: a value written
        # while a clock was ahead is never anyone's fresh answer (hosts' clocks may differ
        # by SKEW; more is a clock that is wrong).
        attempted = stored.last_attempt
        return stored if self._since <= attempted <= self._clock() + SKEW else None

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

    async def _keep_all(self) -> None:
        """Extend the locks `prepare` took (a third of the lease apart: rare, one by one)."""
        import asyncio

        alive = list(self._held)
        while alive:
            await asyncio.sleep(self._lease / 3)
            alive = [held for held in alive if self._flights.extend(held, self._lease)]

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
