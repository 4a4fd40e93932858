"""What the Redis store keeps on this host's SQLite store: fills, flows, sync state and alert
state. Snapshot reads of the P&L and the drop alert go to Redis (every host's snapshots).

Each host syncs its own connections' history into its own store, and claims alerts in it:
two monitors on one host never send an alert twice; monitors on two hosts each keep their
own alert state (see README, "Shared store"). No redis import here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from nija_balances.domain.alerts import Alert, SinkReport
from nija_balances.domain.history import Fill, Flow, Snapshot, SyncState

if TYPE_CHECKING:
    from nija_balances.store.sqlite import SqliteStore


class _Shared(Protocol):
    _local: SqliteStore

    def get_snapshots(
        self,
        namespace: str,
        keys: Iterable[str],
        since: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, list[Snapshot]]: ...


class HostHistory:
    """`HistoryStore`, `AlertStore` and `EquityStore` for `RedisStore`, on this host."""

    # -- history (engine.ports.HistoryStore)

    def put_history_page(
        self: _Shared,
        namespace: str,
        key: str,
        account: str,
        kind: str,
        *,
        fills: Iterable[Fill] = (),
        flows: Iterable[Flow] = (),
        cursor: str | None,
    ) -> tuple[int, int] | None:
        return self._local.put_history_page(
            namespace, key, account, kind, fills=fills, flows=flows, cursor=cursor
        )

    def set_sync_state(
        self: _Shared, namespace: str, key: str, account: str, kind: str, state: SyncState
    ) -> bool:
        return self._local.set_sync_state(namespace, key, account, kind, state)

    def get_sync_states(
        self: _Shared,
        namespace: str,
        keys: Iterable[str],
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, dict[str, SyncState]]:
        return self._local.get_sync_states(namespace, keys, accounts)

    def get_fills(
        self: _Shared,
        namespace: str,
        keys: Iterable[str],
        since: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, list[Fill]]:
        return self._local.get_fills(namespace, keys, since, accounts)

    def get_flows(
        self: _Shared,
        namespace: str,
        keys: Iterable[str],
        since: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, list[Flow]]:
        return self._local.get_flows(namespace, keys, since, accounts)

    def first_snapshots(
        self: _Shared,
        namespace: str,
        keys: Iterable[str],
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, Snapshot]:
        found = self.get_snapshots(namespace, keys, None, accounts)
        return {k: snaps[0] for k, snaps in found.items() if snaps}

    def last_snapshots(
        self: _Shared,
        namespace: str,
        keys: Iterable[str],
        before: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, Snapshot]:
        found = self.get_snapshots(namespace, keys, None, accounts)
        last: dict[str, Snapshot] = {}
        for key, snaps in found.items():
            earlier = [s for s in snaps if before is None or s.time < before]
            if earlier:
                last[key] = earlier[-1]
        return last

    def currencies_seen(
        self: _Shared,
        namespace: str,
        keys: Iterable[str],
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, frozenset[str]]:
        wanted = list(keys)
        seen = {
            k: set(v) for k, v in self._local.currencies_seen(namespace, wanted, accounts).items()
        }
        for key, snaps in self.get_snapshots(namespace, wanted, None, accounts).items():
            for snap in snaps:
                seen.setdefault(key, set()).update(a.currency for a in snap.assets)
        return {k: frozenset(v) for k, v in seen.items()}

    def drop_history(self: _Shared, namespace: str, keys: Iterable[str]) -> None:
        self._local.drop_history(namespace, keys)

    # -- alert state (engine.ports.AlertStore) and the drop alert's reads (EquityStore)

    def get_alerts(self: _Shared, namespace: str) -> list[Alert]:
        return self._local.get_alerts(namespace)

    def put_alert(self: _Shared, namespace: str, before: Alert | None, after: Alert) -> bool | None:
        return self._local.put_alert(namespace, before, after)

    def get_sink_reports(self: _Shared, namespace: str) -> list[SinkReport]:
        return self._local.get_sink_reports(namespace)

    def put_sink_report(self: _Shared, namespace: str, sink: str, error: str | None) -> None:
        self._local.put_sink_report(namespace, sink, error)

    def claim_mark(self: _Shared, namespace: str, name: str, every: float) -> bool | None:
        return self._local.claim_mark(namespace, name, every)

    def get_equity(
        self: _Shared,
        namespace: str,
        keys: Iterable[str],
        since: datetime,
        accounts: Mapping[str, str] | None = None,
        step: float = 0.0,
    ) -> dict[str, list[tuple[datetime, Decimal]]]:
        found: dict[str, list[tuple[datetime, Decimal]]] = {}
        for key, snaps in self.get_snapshots(namespace, keys, since, accounts).items():
            points: dict[float, tuple[datetime, Decimal]] = {}
            for snap in snaps:
                moment = snap.time.timestamp()
                points[moment // step if step > 0 else moment] = (snap.time, snap.equity)
            found[key] = list(points.values())
        return found
