"""The shared store: Redis, for several processes and hosts, with the local store behind it.

Implements `engine.ports.Store` (and `FlightStore`, `AlertStore`, `EquityStore`) by area —
results and snapshots (`redis_results`), markets (`redis_markets`), single-flight and rate
budget (`redis_flight`), fills, flows and sync state (`redis_history`), alert state
(`redis_alerts`; the last two mixed in from `redis_shared`) — over one key scheme
(`redis_keys`) and one link (`redis_link`), the one place Redis errors are handled. An area
is a module of functions `(client, ...)` plus one method per port method, each
`self._link.call(redis_fn, local_fn)`.

Redis down or unreachable: one warning, and every call goes to the local SQLite store
(`fallback`); never a traceback. Every write (results, snapshots, fills, flows, sync and
alert state) also goes through to the local store while Redis works, so a host whose Redis
goes away still has its own last good values and history (and no good value is lost: a
write Redis refused lands in the local store).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nija_balances.domain.history import Snapshot
from nija_balances.domain.models import StoredResult
from nija_balances.store import redis_markets, redis_results
from nija_balances.store.codec import StoreInfo
from nija_balances.store.local_flight import LocalFlights, flight_dir
from nija_balances.store.redis_flight import RedisFlights
from nija_balances.store.redis_keys import ns_prefix, results_key
from nija_balances.store.redis_link import RedisLink
from nija_balances.store.redis_shared import SharedHistory

if TYPE_CHECKING:
    from redis import Redis

    from nija_balances.store.sqlite import SqliteStore

log = logging.getLogger(__name__)

SnapshotItem = tuple[str, str | None, Snapshot]


class RedisStore(SharedHistory):
    """The Redis store at `url` for `namespace`, the local `fallback` behind it."""

    def __init__(
        self,
        url: str,
        *,
        namespace: str,
        fallback: SqliteStore,
        password_env: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.warnings: list[str] = []
        self._warned: set[str] = set()
        self._namespace = namespace
        self._local = fallback
        self._clock = clock
        self._link = RedisLink(url, password_env=password_env, on_warning=self._warn)

    @property
    def location(self) -> str:
        return self._link.url

    @property
    def available(self) -> bool:
        """Always: when Redis is not, the local store serves."""
        return True

    def __enter__(self) -> RedisStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- results

    def get(self, namespace: str, key: str) -> StoredResult | None:
        return self.get_many(namespace, [key]).get(key)

    def get_many(self, namespace: str, keys: Iterable[str]) -> dict[str, StoredResult]:
        wanted = list(dict.fromkeys(keys))
        return self._link.call(
            lambda c: redis_results.get_results(c, namespace, wanted),
            lambda: self._local.get_many(namespace, wanted),
        )

    def put(self, namespace: str, key: str, result: StoredResult) -> None:
        self.put_many(namespace, {key: result})

    def put_many(
        self,
        namespace: str,
        items: Mapping[str, StoredResult],
        *,
        snapshots: Iterable[SnapshotItem] = (),
    ) -> None:
        """Into Redis, and through to the local store (the fallback's last good values)."""
        snaps = list(snapshots)
        if not items and not snaps:
            return

        def write(client: Redis) -> None:
            redis_results.put_all(client, namespace, items, snaps, self._clock())

        self._link.call(write, lambda: None)
        self._local.put_many(namespace, items, snapshots=snaps)
        self._adopt_local_warnings()

    # -- snapshots

    def put_snapshots(self, namespace: str, items: Iterable[SnapshotItem]) -> None:
        self.put_many(namespace, {}, snapshots=items)

    def get_snapshots(
        self,
        namespace: str,
        keys: Iterable[str],
        since: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, list[Snapshot]]:
        wanted = list(dict.fromkeys(keys))
        return self._link.call(
            lambda c: redis_results.get_snapshots(c, namespace, wanted, since, accounts),
            lambda: self._local.get_snapshots(namespace, wanted, since, accounts),
        )

    # -- markets

    def load_markets(self, exchange: str, max_age: float) -> dict[str, Any] | None:
        return self._link.call(
            lambda c: redis_markets.load(c, exchange, max_age, self._clock()),
            lambda: self._local.load_markets(exchange, max_age),
        )

    def save_markets(self, exchange: str, markets: dict[str, Any]) -> None:
        self._link.call(
            lambda c: redis_markets.save(c, exchange, markets, self._clock()),
            lambda: self._local.save_markets(exchange, markets),
        )

    # -- single-flight and the rate budget

    def flights(self) -> RedisFlights:
        local = LocalFlights(flight_dir(self._local.path), clock=self._clock)
        return RedisFlights(self._link, local)

    # -- maintenance

    def info(self) -> StoreInfo:
        """This namespace's entries in Redis, the shared markets, and Redis's health; the
        local store's, when Redis cannot be used."""
        started = time.perf_counter()

        def read(client: Redis) -> StoreInfo:
            client.ping()
            ping_ms = (time.perf_counter() - started) * 1000
            version = client.info("server").get("redis_version", "?")
            entries, oldest, newest = redis_results.entries_summary(client, self._namespace)
            keys = redis_results.namespace_keys(client, ns_prefix(self._namespace))
            sizes = client.pipeline(transaction=False)
            for key in keys:
                sizes.memory_usage(key)
            size = sum(int(n or 0) for n in (sizes.execute() if keys else []))
            return StoreInfo(
                path=Path(self.location),
                size_bytes=size,
                entries=entries,
                markets=redis_markets.listed(client),
                oldest=oldest,
                newest=newest,
                kind="redis",
                location=self.location,
                health=f"ok (redis {version}, {ping_ms:.1f} ms to answer)",
            )

        def local() -> StoreInfo:
            described = self._local.info()
            health = f"cannot be used ({self._link.down_reason}); the local cache serves"
            return replace(described, kind="redis", location=self.location, health=health)

        return self._link.call(read, local)

    def clear(self) -> int:
        """Remove this namespace's cached results from Redis (and the local copy); history
        (snapshots), the shared markets and other configs' keys stay, as in the SQLite
        store's `clear` history does. Returns the entries removed."""

        def clear(client: Redis) -> int:
            pipe = client.pipeline(transaction=True)
            pipe.hlen(results_key(self._namespace))
            pipe.delete(results_key(self._namespace))
            removed, _ = pipe.execute()
            return int(removed)

        removed = self._link.call(clear, lambda: -1)
        local = self._local.clear()
        self._adopt_local_warnings()
        return local if removed < 0 else removed

    def close(self) -> None:
        self._link.close()
        self._local.close()
        self._adopt_local_warnings()

    # -- internals

    def _adopt_local_warnings(self) -> None:
        for message in self._local.warnings:
            self._warn(message, message)

    def _warn(self, key: str, message: str) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        self.warnings.append(message)
        log.info("%s", message)
