"""The SQLite store's trades (fills), flows and sync state: `SqliteHistory`, a mixin of
`SqliteStore` that runs every query through the store's `_run` (so the store's rules hold:
never raise, reads miss, writes are dropped, each problem said once in `warnings`).

Rows are keyed by namespace, connection key, exchange account hash and the exchange's own
id, and de-duplicated on insert (`INSERT OR IGNORE`): a page stored twice counts once. A
page's items and the cursor to resume after it go in one transaction, so a sync that stops
between pages resumes after the last page stored and never counts an item twice.
Stdlib only, cheap to import.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from nija_balances.domain.history import Fill, Flow, Snapshot, SyncState
from nija_balances.store.codec import decode_snapshot
from nija_balances.store.sqlite_schema import StoreMixin, has_table, key_chunks, transaction

log = logging.getLogger("nija_balances.store.sqlite")

_FILL_COLUMNS = (
    "key, account, id, order_id, time, symbol, side, amount, price, cost, fee, fee_currency"
)
_FLOW_COLUMNS = (
    "key, account, id, kind, time, currency, amount, fee, fee_currency, value, estimated"
)
_INSERT_FILL = f"INSERT OR IGNORE INTO fills (namespace, {_FILL_COLUMNS}) VALUES ({'?,' * 12}?)"
_INSERT_FLOW = f"INSERT OR IGNORE INTO flows (namespace, {_FLOW_COLUMNS}) VALUES ({'?,' * 11}?)"
_PAGE_CURSOR = (
    "INSERT INTO sync_state (namespace, key, account, kind, cursor, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (namespace, key, account, kind)"
    " DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at"
)
_SET_STATE = (
    "INSERT OR REPLACE INTO sync_state (namespace, key, account, kind, cursor, finished_at,"
    " complete, unsupported, problem, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class SqliteHistory(StoreMixin):
    """Trades, flows and sync state of the SQLite store (mixed into `SqliteStore`)."""

    # -- writes

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
        """Store one page of a connection's history and the `cursor` to resume after it, in
        one transaction; items already stored (same exchange id) are left as they are.

        Returns (new fills, new flows), or None when the write was dropped (then neither the
        items nor the cursor were stored; `warnings` says why)."""
        fill_rows = [_fill_row(namespace, key, account, f) for f in fills]
        flow_rows = [_flow_row(namespace, key, account, f) for f in flows]
        state_row = (namespace, key, account, kind, cursor, self._clock())

        def write(conn: sqlite3.Connection) -> tuple[int, int]:
            with transaction(conn):
                before = conn.total_changes
                conn.executemany(_INSERT_FILL, fill_rows)
                middle = conn.total_changes
                conn.executemany(_INSERT_FLOW, flow_rows)
                after = conn.total_changes
                conn.execute(_PAGE_CURSOR, state_row)
            return middle - before, after - middle

        return self._run("write", write, None)

    def set_sync_state(
        self, namespace: str, key: str, account: str, kind: str, state: SyncState
    ) -> bool:
        """Replace the sync state of (key, account, kind); False when the write was dropped."""
        finished = None if state.finished_at is None else state.finished_at.timestamp()
        row = (
            namespace, key, account, kind, state.cursor, finished, int(state.complete),
            int(state.unsupported), state.problem, self._clock(),
        )  # fmt: skip

        def write(conn: sqlite3.Connection) -> bool:
            with transaction(conn):
                conn.execute(_SET_STATE, row)
            return True

        return self._run("write", write, False)

    def drop_history(self, namespace: str, keys: Iterable[str]) -> None:
        """Remove the snapshots, fills, flows, sync state and kept replays of `keys` (the
        demo's reseeding)."""
        wanted = list(dict.fromkeys(keys))

        def write(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                for table in ("snapshots", "fills", "flows", "sync_state", "replays"):
                    for chunk in key_chunks(wanted):
                        marks = ",".join("?" * len(chunk))
                        sql = f"DELETE FROM {table} WHERE namespace = ? AND key IN ({marks})"
                        conn.execute(sql, (namespace, *chunk))

        if wanted:
            self._run("write", write, None, create=False)

    # -- reads

    def get_sync_states(
        self, namespace: str, keys: Iterable[str], accounts: Mapping[str, str] | None = None
    ) -> dict[str, dict[str, SyncState]]:
        """Per key that has any, its sync state per kind ("trades", "flows"); with `accounts`
        (key -> account hash), only the states of that exchange account."""
        found: dict[str, dict[str, SyncState]] = {}
        sql = (
            "SELECT key, account, kind, cursor, finished_at, complete, unsupported, problem"
            " FROM sync_state WHERE namespace = ? AND key IN ({}) ORDER BY updated_at"
        )
        for key, account, kind, cursor, finished, complete, unsupported, problem in self._rows(
            "sync_state", sql, namespace, keys
        ):
            if accounts is not None and accounts.get(key) != account:
                continue
            at = None if finished is None else datetime.fromtimestamp(finished, UTC)
            state = SyncState(cursor, at, bool(complete), bool(unsupported), problem)
            found.setdefault(key, {})[kind] = state
        return found

    def get_fills(
        self,
        namespace: str,
        keys: Iterable[str],
        since: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, list[Fill]]:
        """Per key that has any, its fills from `since` on, oldest first (ties by id); with
        `accounts` (key -> account hash), only those of that exchange account."""
        sql = (
            f"SELECT {_FILL_COLUMNS} FROM fills WHERE namespace = ? AND key IN ({{}})"
            " AND time >= ? ORDER BY key, time, id"
        )
        found: dict[str, list[Fill]] = {}
        for row in self._rows("fills", sql, namespace, keys, _start(since)):
            key, account = row[0], row[1]
            if accounts is not None and accounts.get(key) != account:
                continue
            try:
                found.setdefault(key, []).append(_fill(row[2:]))
            except (ValueError, TypeError, ArithmeticError, OverflowError) as exc:
                log.warning("ignoring unreadable fill %s/%s: %s", namespace, key, exc)
        return found

    def get_flows(
        self,
        namespace: str,
        keys: Iterable[str],
        since: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, list[Flow]]:
        """Per key that has any, its deposits and withdrawals from `since` on, oldest first
        (ties by id); with `accounts`, only those of that exchange account."""
        sql = (
            f"SELECT {_FLOW_COLUMNS} FROM flows WHERE namespace = ? AND key IN ({{}})"
            " AND time >= ? ORDER BY key, time, id"
        )
        found: dict[str, list[Flow]] = {}
        for row in self._rows("flows", sql, namespace, keys, _start(since)):
            key, account = row[0], row[1]
            if accounts is not None and accounts.get(key) != account:
                continue
            try:
                found.setdefault(key, []).append(_flow(row[2:]))
            except (ValueError, TypeError, ArithmeticError, OverflowError) as exc:
                log.warning("ignoring unreadable flow %s/%s: %s", namespace, key, exc)
        return found

    def first_snapshots(
        self, namespace: str, keys: Iterable[str], accounts: Mapping[str, str] | None = None
    ) -> dict[str, Snapshot]:
        """Per key that has any, its oldest snapshot (the start of its tracked span); with
        `accounts`, the oldest of that exchange account. One indexed lookup per key."""
        return self._edge_snapshots(namespace, keys, accounts, None, oldest=True)

    def last_snapshots(
        self,
        namespace: str,
        keys: Iterable[str],
        before: datetime | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> dict[str, Snapshot]:
        """Per key that has any, its newest snapshot strictly before `before` (None: the
        newest of all), e.g. the end of the previous day; with `accounts`, of that exchange
        account. One indexed lookup per key, whatever the history's length."""
        return self._edge_snapshots(namespace, keys, accounts, before, oldest=False)

    def _edge_snapshots(
        self,
        namespace: str,
        keys: Iterable[str],
        accounts: Mapping[str, str] | None,
        before: datetime | None,
        *,
        oldest: bool,
    ) -> dict[str, Snapshot]:
        wanted = list(dict.fromkeys(keys))
        limit = float("inf") if before is None else before.timestamp()
        order = "ASC" if oldest else "DESC"
        account_test = "" if accounts is None else " AND account = ?"
        sql = (
            "SELECT time, cash, equity, assets FROM snapshots WHERE namespace = ? AND key = ?"
            f" AND time < ?{account_test} ORDER BY time {order} LIMIT 1"
        )

        def read(conn: sqlite3.Connection) -> list[tuple[str, tuple[Any, ...]]]:
            if not has_table(conn, "snapshots"):
                return []
            rows: list[tuple[str, tuple[Any, ...]]] = []
            for key in wanted:
                if accounts is not None and key not in accounts:
                    continue
                args = (namespace, key, limit) + (() if accounts is None else (accounts[key],))
                if (row := conn.execute(sql, args).fetchone()) is not None:
                    rows.append((key, row))
            return rows

        none: list[tuple[str, tuple[Any, ...]]] = []
        found: dict[str, Snapshot] = {}
        for key, row in self._run("read", read, none, create=False) if wanted else none:
            try:
                found[key] = decode_snapshot(*row)
            except (ValueError, KeyError, TypeError, ArithmeticError, OverflowError) as exc:
                log.warning("ignoring unreadable snapshot %s/%s: %s", namespace, key, exc)
        return found

    def currencies_seen(
        self, namespace: str, keys: Iterable[str], accounts: Mapping[str, str] | None = None
    ) -> dict[str, frozenset[str]]:
        """Per key, every currency its account ever held in a snapshot, moved in a flow or
        traded in a fill (what Binance-like exchanges need a market for)."""
        found: dict[str, set[str]] = {}
        queries = (
            (
                "snapshots",
                "SELECT DISTINCT s.key, s.account, json_extract(a.value, '$[0]')"
                " FROM snapshots AS s, json_each(s.assets) AS a"
                " WHERE s.namespace = ? AND s.key IN ({}) AND json_valid(s.assets)",
            ),
            (
                "flows",
                "SELECT DISTINCT key, account, currency FROM flows"
                " WHERE namespace = ? AND key IN ({})",
            ),
            (
                "fills",
                "SELECT DISTINCT key, account, symbol FROM fills"
                " WHERE namespace = ? AND key IN ({})",
            ),
        )
        for table, sql in queries:
            for key, account, text in self._rows(table, sql, namespace, keys):
                if (accounts is not None and accounts.get(key) != account) or not text:
                    continue
                names = found.setdefault(key, set())
                if table == "fills":
                    base, _, quote = str(text).partition("/")
                    names.update(c for c in (base, quote.partition(":")[0]) if c)
                else:
                    names.add(str(text))
        return {key: frozenset(names) for key, names in found.items()}

    def _rows(
        self, table: str, sql: str, namespace: str, keys: Iterable[str], *tail: Any
    ) -> list[tuple[Any, ...]]:
        """The rows of `sql` (its `IN ({})` filled per chunk of keys); [] when the table is
        missing (an older file read without upgrading) or the read failed."""
        wanted = list(dict.fromkeys(keys))

        def read(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            if not has_table(conn, table):
                return []
            rows: list[tuple[Any, ...]] = []
            for chunk in key_chunks(wanted):
                query = sql.format(",".join("?" * len(chunk)))
                rows += conn.execute(query, (namespace, *chunk, *tail)).fetchall()
            return rows

        none: list[tuple[Any, ...]] = []
        return self._run("read", read, none, create=False) if wanted else none


def _start(since: datetime | None) -> float:
    return float("-inf") if since is None else since.timestamp()


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _fill_row(namespace: str, key: str, account: str, f: Fill) -> tuple[Any, ...]:
    return (
        namespace, key, account, f.id, f.order, f.time.timestamp(), f.symbol, f.side,
        str(f.amount), str(f.price), str(f.cost), str(f.fee), f.fee_currency,
    )  # fmt: skip


def _flow_row(namespace: str, key: str, account: str, f: Flow) -> tuple[Any, ...]:
    return (
        namespace, key, account, f.id, f.kind, f.time.timestamp(), f.currency, str(f.amount),
        str(f.fee), f.fee_currency, _opt(f.value), int(f.estimated),
    )  # fmt: skip


def _fill(row: tuple[Any, ...]) -> Fill:
    fid, order, moment, symbol, side, amount, price, cost, fee, fee_currency = row
    return Fill(
        id=str(fid),
        order=str(order),
        time=datetime.fromtimestamp(moment, UTC),
        symbol=str(symbol),
        side=side,
        amount=Decimal(amount),
        price=Decimal(price),
        cost=Decimal(cost),
        fee=Decimal(fee),
        fee_currency=fee_currency,
    )


def _flow(row: tuple[Any, ...]) -> Flow:
    fid, kind, moment, currency, amount, fee, fee_currency, value, estimated = row
    return Flow(
        id=str(fid),
        kind=kind,
        time=datetime.fromtimestamp(moment, UTC),
        currency=str(currency),
        amount=Decimal(amount),
        fee=Decimal(fee),
        fee_currency=fee_currency,
        value=None if value is None else Decimal(value),
        estimated=bool(estimated),
    )
