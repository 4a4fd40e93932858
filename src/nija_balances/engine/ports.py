"""The engine's ports: what it needs from a store, from adapter lookup and from observers.

Stores (`store/`) implement these protocols structurally (they import nothing from here);
the engine, the CLI and the API depend only on them, so a second store can slot in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from nija_balances.adapters.interface import MarketStore
from nija_balances.domain.history import Snapshot
from nija_balances.domain.models import StoredResult
from nija_balances.store.codec import StoreInfo

if TYPE_CHECKING:  # only in annotations: the warm path imports none of them
    from nija_balances.domain.alerts import Alert, SinkReport
    from nija_balances.domain.budget import Bucket
    from nija_balances.domain.history import Fill, Flow, SyncState

Observer = Callable[[int, int], None]
"""Called as each connection's fetch finishes, ok or not: (done, total to fetch)."""


class ResultStore(MarketStore, Protocol):
    """What a refresh reads and writes: results per namespace and key, and markets."""

    def get_many(self, namespace: str, keys: Iterable[str]) -> dict[str, StoredResult]: ...

    def put_many(self, namespace: str, items: Mapping[str, StoredResult]) -> None: ...


SnapshotItem = tuple[str, str | None, Snapshot]
"""A snapshot to keep: (connection key, exchange account identity hash, snapshot)."""


@runtime_checkable
class SnapshotStore(ResultStore, Protocol):
    """History: a snapshot per good fetch, pruned to the retention of
    `domain.history.snapshots_to_keep` as it is written."""

    def put_many(
        self,
        namespace: str,
        items: Mapping[str, StoredResult],
        *,
        snapshots: Iterable[SnapshotItem] = (),
    ) -> None:
        """Results and snapshots in one write."""
        ...

    def put_snapshots(self, namespace: str, items: Iterable[SnapshotItem]) -> None: ...

    def get_snapshots(
        self,
        namespace: str,
        keys: Iterable[str],
        since: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, list[Snapshot]]:
        """Per key that has any, its snapshots from `since` on, oldest first; with
        `accounts` (key -> account hash), only those read from that exchange account."""
        ...


@runtime_checkable
class HistoryStore(Protocol):
    """Trades (fills), flows and per-(connection, kind) sync state, keyed like snapshots by
    namespace, connection key and exchange account hash; `kind` is "trades" or "flows".

    Items are de-duplicated by the exchange's id; a page's items and its resume cursor are
    stored in one write, so a sync that stops between pages never counts an item twice.
    Reads return, per key that has any, oldest first; with `accounts` (key -> account hash,
    see `engine.history.account_hashes`) only those of the exchange account read now.
    """

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
        """Store a page and its cursor in one write: (new fills, new flows), None if dropped."""
        ...

    def set_sync_state(
        self, namespace: str, key: str, account: str, kind: str, state: SyncState
    ) -> bool:
        """Replace one sync state; False when the write was dropped."""
        ...

    def get_sync_states(
        self, namespace: str, keys: Iterable[str], accounts: Mapping[str, str] | None = None
    ) -> dict[str, dict[str, SyncState]]:
        """Per key, its state per kind (a kind never synced is absent)."""
        ...

    def get_fills(
        self,
        namespace: str,
        keys: Iterable[str],
        since: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, list[Fill]]: ...

    def get_flows(
        self,
        namespace: str,
        keys: Iterable[str],
        since: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, list[Flow]]: ...

    def first_snapshots(
        self, namespace: str, keys: Iterable[str], accounts: Mapping[str, str] | None = None
    ) -> dict[str, Snapshot]:
        """Per key, its oldest snapshot (the start of the tracked span)."""
        ...

    def last_snapshots(
        self,
        namespace: str,
        keys: Iterable[str],
        before: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, Snapshot]:
        """Per key, its newest snapshot strictly before `before` (None: the newest)."""
        ...

    def currencies_seen(
        self, namespace: str, keys: Iterable[str], accounts: Mapping[str, str] | None = None
    ) -> dict[str, frozenset[str]]:
        """Per key, the currencies ever held in a snapshot, moved in a flow or traded."""
        ...

    def drop_history(self, namespace: str, keys: Iterable[str]) -> None:
        """Remove the snapshots, fills, flows and sync state of `keys` (and what a
        `ReplayCache` kept for them)."""
        ...


@runtime_checkable
class ReplayCache(Protocol):
    """Optional: a `HistoryStore` that keeps, per connection key and exchange account, one
    text document (the P&L's FIFO replay, `engine.replay_cache`), so that figures need not
    read every fill each time. The store neither reads nor judges the documents; it says how
    many fills and flows each account holds (both only ever grow, until `drop_history`
    removes them and the documents), and the engine decides what is still valid. A store
    without it has its figures computed from the fills every time.
    """

    def get_replays(
        self, namespace: str, keys: Iterable[str], accounts: Mapping[str, str]
    ) -> dict[str, tuple[int, int, str | None]]:
        """Per key of `accounts` (key -> account hash): (fills stored, flows stored, the
        document kept or None); empty when the store cannot be read."""
        ...

    def put_replays(self, namespace: str, items: Iterable[tuple[str, str, str]]) -> bool:
        """Keep (key, account hash, document) items in one write, each replacing the last;
        False when skipped (never raises, never warns for a busy store)."""
        ...


@runtime_checkable
class EquityStore(Protocol):
    """Snapshots' equity alone, thinned: what the drop alert reads every cycle."""

    def get_equity(
        self,
        namespace: str,
        keys: Iterable[str],
        since: datetime,
        accounts: Mapping[str, str] | None = None,
        step: float = 0.0,
    ) -> dict[str, list[tuple[datetime, Decimal]]]:
        """Per key, its snapshots' equity from `since` on, oldest first, the last of each
        `step` seconds only (a light `get_snapshots`: what the drop alert reads)."""
        ...


@runtime_checkable
class AlertStore(Protocol):
    """Alert state (DESIGN.md §11), shared by every process that monitors one config.

    `put_alert` is the claim before a send: it writes only over the state it was computed
    from, atomically, so of several processes making the same change exactly one gets True
    and sends. A store that cannot be written answers None (nothing is sent; the next
    evaluation tries again)."""

    def get_alerts(self, namespace: str) -> list[Alert]: ...

    def put_alert(self, namespace: str, before: Alert | None, after: Alert) -> bool | None: ...

    def get_sink_reports(self, namespace: str) -> list[SinkReport]: ...

    def put_sink_report(self, namespace: str, sink: str, error: str | None) -> None:
        """A delivery to `sink` went through (`error` None) or failed with `error`."""
        ...

    def claim_mark(self, namespace: str, name: str, every: float) -> bool | None:
        """Move the mark `name` to now if it is `every` seconds old (one process per period)."""
        ...


class Store(SnapshotStore, HistoryStore, Protocol):
    """The whole store interface: what the engine, the CLI and the API use.

    A store never raises for a problem with its backing file or server: reads miss, writes
    are dropped, and each problem is said once in `warnings`.
    """

    warnings: list[str]

    @property
    def location(self) -> str:
        """Where the store keeps its data (a file path or a URL without its password)."""
        ...

    @property
    def available(self) -> bool:
        """False once the store gave up (cannot open its file, newer schema)."""
        ...

    def info(self) -> StoreInfo:
        """What the store holds: entries, markets, age range, size."""
        ...

    def clear(self) -> int:
        """Remove every entry; return how many were removed."""
        ...

    def close(self) -> None:
        """Release the file or connection; the store may be used again afterwards."""
        ...


# ---------------------------------------------------------------------------- single-flight


class FlightLock(Protocol):
    """Locks shared by every process (and, through Redis, every host) using one store, and
    the shared rate budget. A lock is named by an exchange account's identity hash; `Held`
    values are opaque. Never raises: a store that cannot lock says so in its warnings and
    answers as if the lock were free (the fetch then runs, as without single-flight)."""

    def try_acquire(self, name: str, lease: float) -> object | None:
        """The lock, held for `lease` seconds unless extended, or None when another has it."""
        ...

    def extend(self, held: object, lease: float) -> bool:
        """Keep the lock `lease` seconds more; False when it was lost (it expired)."""
        ...

    def release(self, held: object) -> None:
        """Let the lock go (only if still ours: compare-and-delete)."""
        ...

    def take(self, buckets: tuple[Bucket, ...], cost: float = 1.0) -> float:
        """Take `cost` from every bucket (`domain.budget.take`); 0.0, or seconds to wait."""
        ...

    def try_acquire_many(self, names: list[str], lease: float) -> list[object | None]:
        """`try_acquire` for each name, in one round trip where the store can."""
        ...

    def release_many(self, held: list[object]) -> None:
        """`release` for each, in one round trip where the store can."""
        ...

    def take_many(self, requests: list[tuple[Bucket, ...]]) -> list[float]:
        """`take` (cost 1) for each request in turn, in one round trip where the store can."""
        ...


@runtime_checkable
class FlightStore(Protocol):
    """A store that offers single-flight locks and the shared rate budget."""

    def flights(self) -> FlightLock: ...
