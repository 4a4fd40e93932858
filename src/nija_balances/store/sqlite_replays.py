"""The SQLite store's replay cache: `SqliteReplays`, a mixin of `SqliteStore` that keeps, per
connection and exchange account, one text document (the engine's FIFO replay of its tracked
span, `engine.replay_cache`) and says how many fills and flows that account has stored.

The store neither reads the documents nor judges them: the engine does. Fills and flows are
only ever added (`INSERT OR IGNORE`) and only `drop_history` removes them, with the
documents; so their counts tell the engine whether what a document was computed from is
still all there is. Only a cache: writes wait briefly and a busy store skips them quietly.
Stdlib only, cheap to import.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from nija_balances.store.sqlite_schema import StoreMixin, has_table, key_chunks, transaction

_PUT = (
    "INSERT OR REPLACE INTO replays (namespace, key, account, data, updated_at)"
    " VALUES (?, ?, ?, ?, ?)"
)
_TABLES = ("fills", "flows", "replays")

StoredReplay = tuple[int, int, str | None]
"""(fills stored, flows stored, the replay document or None) of one exchange account."""


class SqliteReplays(StoreMixin):
    """The replay cache of the SQLite store (mixed into `SqliteStore`)."""

    def get_replays(
        self, namespace: str, keys: Iterable[str], accounts: Mapping[str, str]
    ) -> dict[str, StoredReplay]:
        """Per key of `accounts` (key -> exchange account hash): how many fills and flows
        that account has stored and the replay document kept for it (None: none). Empty
        when the store cannot be read; then every replay is computed again."""
        wanted = [k for k in dict.fromkeys(keys) if k in accounts]

        def read(conn: sqlite3.Connection) -> dict[str, StoredReplay]:
            if not all(has_table(conn, t) for t in _TABLES):  # an older file, not upgraded
                return {}
            counts: dict[str, list[int]] = {k: [0, 0] for k in wanted}
            docs: dict[str, str] = {}
            for chunk in key_chunks(wanted):
                marks = ",".join("?" * len(chunk))
                for slot, table in enumerate(_TABLES[:2]):
                    sql = (
                        f"SELECT key, account, count(*) FROM {table} WHERE namespace = ?"
                        f" AND key IN ({marks}) GROUP BY key, account"
                    )
                    for key, account, count in conn.execute(sql, (namespace, *chunk)):
                        if accounts.get(key) == account:
                            counts[key][slot] = int(count)
                sql = (
                    "SELECT key, account, data FROM replays WHERE namespace = ?"
                    f" AND key IN ({marks})"
                )
                for key, account, data in conn.execute(sql, (namespace, *chunk)):
                    if accounts.get(key) == account and isinstance(data, str):
                        docs[key] = data
            return {k: (fills, flows, docs.get(k)) for k, (fills, flows) in counts.items()}

        none: dict[str, StoredReplay] = {}
        return self._run("read", read, none, create=False) if wanted else none

    def put_replays(self, namespace: str, items: Iterable[tuple[str, str, str]]) -> bool:
        """Keep the replay documents of (key, account hash, document) in one transaction,
        each replacing that account's last one; False when the write was skipped (a busy
        or read-only store: the replays are computed again next time)."""
        now = self._clock()
        rows = [(namespace, key, account, data, now) for key, account, data in items]

        def write(conn: sqlite3.Connection) -> bool:
            with transaction(conn):
                conn.executemany(_PUT, rows)
            return True

        return self._run("cache", write, False) if rows else True
