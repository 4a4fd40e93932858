"""`RedisStore`'s history (`HistoryStore`), alert state (`AlertStore`) and the drop alert's
reads (`EquityStore`), shared by every host through Redis: one method per port method, each
`self._link.call(redis_fn, local_fn)` over `redis_history` / `redis_alerts`.

Writes go to Redis and through to this host's local store, so a host whose Redis goes away
still has what it synced; while Redis is down, reads and claims use the local store (two
monitors on one host still never send an alert twice; across hosts they may, until Redis is
back: see README, "Shared store"). No redis import here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from nija_balances.domain.history import Fill, Flow, Snapshot, SyncState
from nija_balances.store import redis_history

if TYPE_CHECKING:
    from redis import Redis

    from nija_balances.domain.alerts import Alert, SinkReport
    from nija_balances.store.redis_link import RedisLink
    from nija_balances.store.sqlite import SqliteStore

T = TypeVar("T")


class SharedHistory:
    """`HistoryStore`, `AlertStore` and `EquityStore` for `RedisStore` (mixed in)."""

    if TYPE_CHECKING:
        _link: RedisLink
        _local: SqliteStore
        _clock: Callable[[], float]

        def _adopt_local_warnings(self) -> None: ...

    def _shared(self, fn: Callable[[Redis], T], local: Callable[[], T]) -> T:
        found = self._link.call(fn, local)
        self._adopt_local_warnings()
        return found

    # -- history (engine.ports.HistoryStore)

    def put_history_page(
        self,
        namespace: str,
        key: str,
        account: str,
        kind: str,
        *,
        fills: Iterable[Fill] = (),
        flows: Iterable[Flow] = (),
        cursor: str | None,
    ) -> tuple[int, int] | None:
        """The page and its cursor in one write to Redis and one to the local store; the
        new counts are Redis's (the local store's while Redis is down)."""
        page, moved = list(fills), list(flows)
        now = self._clock()
        shared = self._link.call(
            lambda c: redis_history.put_page(
                c, namespace, key, account, kind, page, moved, cursor, now
            ),
            lambda: None,
        )
        local = self._local.put_history_page(
            namespace, key, account, kind, fills=page, flows=moved, cursor=cursor
        )
        self._adopt_local_warnings()
        return local if shared is None else shared

    def set_sync_state(
        self, namespace: str, key: str, account: str, kind: str, state: SyncState
    ) -> bool:
        now = self._clock()
        shared = self._link.call(
            lambda c: redis_history.put_sync_state(c, namespace, key, account, kind, state, now),
            lambda: False,
        )
        local = self._local.set_sync_state(namespace, key, account, kind, state)
        self._adopt_local_warnings()
        return shared or local

    def get_sync_states(
        self, namespace: str, keys: Iterable[str], accounts: Mapping[str, str] | None = None
    ) -> dict[str, dict[str, SyncState]]:
        wanted = list(dict.fromkeys(keys))
        return self._shared(
            lambda c: redis_history.get_sync_states(c, namespace, wanted, accounts),
            lambda: self._local.get_sync_states(namespace, wanted, accounts),
        )

    def get_fills(
        self,
        namespace: str,
        keys: Iterable[str],
        since: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, list[Fill]]:
        wanted = list(dict.fromkeys(keys))
        return self._shared(
            lambda c: redis_history.get_items(c, namespace, wanted, since, accounts, "fills"),
            lambda: self._local.get_fills(namespace, wanted, since, accounts),
        )

    def get_flows(
        self,
        namespace: str,
        keys: Iterable[str],
        since: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, list[Flow]]:
        wanted = list(dict.fromkeys(keys))
        return self._shared(
            lambda c: redis_history.get_items(c, namespace, wanted, since, accounts, "flows"),
            lambda: self._local.get_flows(namespace, wanted, since, accounts),
        )

    def first_snapshots(
        self, namespace: str, keys: Iterable[str], accounts: Mapping[str, str] | None = None
    ) -> dict[str, Snapshot]:
        wanted = list(dict.fromkeys(keys))
        return self._shared(
            lambda c: redis_history.edge_snapshots(c, namespace, wanted, accounts, None, True),
            lambda: self._local.first_snapshots(namespace, wanted, accounts),
        )

    def last_snapshots(
        self,
        namespace: str,
        keys: Iterable[str],
        before: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, Snapshot]:
        wanted = list(dict.fromkeys(keys))
        return self._shared(
            lambda c: redis_history.edge_snapshots(c, namespace, wanted, accounts, before, False),
            lambda: self._local.last_snapshots(namespace, wanted, before, accounts),
        )

    def currencies_seen(
        self, namespace: str, keys: Iterable[str], accounts: Mapping[str, str] | None = None
    ) -> dict[str, frozenset[str]]:
        wanted = list(dict.fromkeys(keys))
        return self._shared(
            lambda c: redis_history.currencies_seen(c, namespace, wanted, accounts),
            lambda: self._local.currencies_seen(namespace, wanted, accounts),
        )

    def drop_history(self, namespace: str, keys: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(keys))
        self._link.call(lambda c: redis_history.drop(c, namespace, wanted), lambda: None)
        self._local.drop_history(namespace, wanted)
        self._adopt_local_warnings()

    # -- alert state (engine.ports.AlertStore) and the drop alert's reads (EquityStore)

    def get_alerts(self, namespace: str) -> list[Alert]:
        from nija_balances.store import redis_alerts  # when alerts are used: not by `show`

        return self._shared(
            lambda c: redis_alerts.get_alerts(c, namespace),
            lambda: self._local.get_alerts(namespace),
        )

    def put_alert(self, namespace: str, before: Alert | None, after: Alert) -> bool | None:
        """The claim, in Redis (every host); the local store's while Redis is down. A claim
        won in Redis is copied to the local store, for when Redis goes away."""
        from nija_balances.store import redis_alerts  # when alerts are used: not by `show`

        now = self._clock()
        won = self._link.call(
            lambda c: redis_alerts.put_alert(c, namespace, before, after, now),
            lambda: None,
        )
        if won is None:  # Redis is down: this host's store decides
            claimed = self._local.put_alert(namespace, before, after)
        else:
            claimed = won
            if won:
                mine = {a.key: a for a in self._local.get_alerts(namespace)}
                self._local.put_alert(namespace, mine.get(after.key), after)
        self._adopt_local_warnings()
        return claimed

    def get_sink_reports(self, namespace: str) -> list[SinkReport]:
        from nija_balances.store import redis_alerts  # when alerts are used: not by `show`

        return self._shared(
            lambda c: redis_alerts.get_sinks(c, namespace),
            lambda: self._local.get_sink_reports(namespace),
        )

    def put_sink_report(self, namespace: str, sink: str, error: str | None) -> None:
        from nija_balances.store import redis_alerts  # when alerts are used: not by `show`

        now = self._clock()
        self._link.call(
            lambda c: redis_alerts.put_sink(c, namespace, sink, error, now), lambda: None
        )
        self._local.put_sink_report(namespace, sink, error)
        self._adopt_local_warnings()

    def claim_mark(self, namespace: str, name: str, every: float) -> bool | None:
        from nija_balances.store import redis_alerts  # when alerts are used: not by `show`

        now = self._clock()
        return self._shared(
            lambda c: redis_alerts.claim_mark(c, namespace, name, every, now),
            lambda: self._local.claim_mark(namespace, name, every),
        )

    def get_equity(
        self,
        namespace: str,
        keys: Iterable[str],
        since: datetime,
        accounts: Mapping[str, str] | None = None,
        step: float = 0.0,
    ) -> dict[str, list[tuple[datetime, Decimal]]]:
        from nija_balances.store import redis_alerts  # when alerts are used: not by `show`

        wanted = list(dict.fromkeys(keys))
        return self._shared(
            lambda c: redis_alerts.get_equity(c, namespace, wanted, since, accounts, step),
            lambda: self._local.get_equity(namespace, wanted, since, accounts, step),
        )
