"""The alert tables of the SQLite store (schema in `sqlite_schema._ALERTS`): alert states,
sink reports and marks, as functions over a connection that `SqliteStore` runs with its
waiting and recovery. Stdlib only.

An alert is written only over the version it was read at (`put_alert`): of two processes
that computed the same change from the same state, one write succeeds and the other finds
the version moved, so exactly one of them sends the notification.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from nija_balances.domain.alerts import Alert, AlertKind, SinkReport
from nija_balances.store.sqlite_schema import has_table, key_chunks, transaction

KEEP_RESOLVED = 30 * 86400.0  # seconds a resolved alert stays listed under `recent`
_COLUMNS = (
    "kind, account, connection, state, since, last_sent, sent_count, balance, threshold,"
    " message, version"
)


def _time(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _decimal(text: str | None) -> Decimal | None:
    try:
        return None if text is None else Decimal(text)
    except InvalidOperation:
        return None


def read_alerts(conn: sqlite3.Connection, namespace: str) -> list[Alert]:
    """Every alert state of `namespace` (unreadable rows are left out)."""
    if not has_table(conn, "alerts"):
        return []
    sql = f"SELECT {_COLUMNS} FROM alerts WHERE namespace = ? ORDER BY since"
    found: list[Alert] = []
    for (
        kind,
        account,
        connection,
        state,
        since,
        sent,
        count,
        bal,
        thr,
        msg,
        version,
    ) in conn.execute(sql, (namespace,)).fetchall():
        if kind not in AlertKind.__members__ or state not in (
            "pending",
            "firing",
            "resolved",
            "clear",
        ):
            continue
        found.append(
            Alert(
                AlertKind(kind),
                account,
                connection or None,
                state,
                _time(since) or _EPOCH,
                _time(sent),
                int(count),
                _decimal(bal),
                _decimal(thr),
                str(msg),
                int(version),
            )
        )
    return found


_EPOCH = datetime.fromtimestamp(0, UTC)


def write_alert(
    conn: sqlite3.Connection, namespace: str, before: Alert | None, after: Alert, now: float
) -> bool:
    """Write `after` if the stored state is still `before` (None: no row); whether it was.
    Resolved and cleared alerts older than KEEP_RESOLVED are dropped in the same write."""

    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    kind, account, connection = after.key
    values = (
        after.state,
        after.since.timestamp(),
        None if after.last_sent is None else after.last_sent.timestamp(),
        after.sent_count,
        text(after.balance),
        text(after.threshold),
        after.message,
    )
    with transaction(conn):
        if before is None:
            sql = (
                f"INSERT OR IGNORE INTO alerts (namespace, {_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
            )
            won = conn.execute(sql, (namespace, kind, account, connection, *values)).rowcount
        else:
            sql = (
                "UPDATE alerts SET state = ?, since = ?, last_sent = ?, sent_count = ?,"
                " balance = ?, threshold = ?, message = ?, version = version + 1"
                " WHERE namespace = ? AND kind = ? AND account = ? AND connection = ?"
                " AND version = ?"
            )
            won = conn.execute(
                sql, (*values, namespace, kind, account, connection, before.version)
            ).rowcount
        conn.execute(
            "DELETE FROM alerts WHERE namespace = ? AND state IN ('resolved', 'clear')"
            " AND since < ?",
            (namespace, now - KEEP_RESOLVED),
        )
    return won == 1


def read_equity(
    conn: sqlite3.Connection,
    namespace: str,
    keys: list[str],
    since: float,
    accounts: Mapping[str, str] | None,
    step: float,
) -> dict[str, list[tuple[datetime, Decimal]]]:
    """Per key, the equity of its snapshots from `since` on, oldest first: the last one of
    each `step` seconds (all with 0), read without their assets, so a monitor checking often
    holds at most window / step points per connection. With `accounts` (key -> account
    hash), only those of that exchange account."""
    found: dict[str, list[tuple[datetime, Decimal]]] = {}
    if not keys or not has_table(conn, "snapshots"):
        return found
    for chunk in key_chunks(keys):
        sql = (
            "SELECT key, account, time, equity FROM snapshots WHERE namespace = ?"
            f" AND key IN ({','.join('?' * len(chunk))}) AND time >= ? ORDER BY key, time"
        )
        last: tuple[str, float] | None = None
        for key, account, moment, equity in conn.execute(sql, (namespace, *chunk, since)):
            if accounts is not None and accounts.get(key) != account:
                continue
            value = _decimal(equity)
            if value is None or not value.is_finite():
                continue
            bucket = (key, moment // step if step > 0 else moment)
            points = found.setdefault(key, [])
            point = (datetime.fromtimestamp(moment, UTC), value)
            if bucket == last:
                points[-1] = point
            else:
                points.append(point)
            last = bucket
    return found


def read_sinks(conn: sqlite3.Connection, namespace: str) -> list[SinkReport]:
    if not has_table(conn, "alert_sinks"):
        return []
    sql = (
        "SELECT sink, last_ok, last_failed, failures, error FROM alert_sinks"
        " WHERE namespace = ? ORDER BY sink"
    )
    return [
        SinkReport(sink, _time(ok), _time(failed), int(failures), error)
        for sink, ok, failed, failures, error in conn.execute(sql, (namespace,)).fetchall()
    ]


def write_sink(
    conn: sqlite3.Connection, namespace: str, sink: str, error: str | None, now: float
) -> None:
    """A delivery to `sink` succeeded (`error` None) or failed with `error`."""
    with transaction(conn):
        conn.execute(
            "INSERT OR IGNORE INTO alert_sinks VALUES (?, ?, NULL, NULL, 0, NULL)",
            (namespace, sink),
        )
        if error is None:
            sql = (
                "UPDATE alert_sinks SET last_ok = ?, failures = 0 WHERE namespace = ? AND sink = ?"
            )
            conn.execute(sql, (now, namespace, sink))
        else:
            sql = (
                "UPDATE alert_sinks SET last_failed = ?, failures = failures + 1, error = ?"
                " WHERE namespace = ? AND sink = ?"
            )
            conn.execute(sql, (now, error, namespace, sink))


def claim_mark(
    conn: sqlite3.Connection, namespace: str, name: str, now: float, every: float
) -> bool:
    """Move the mark `name` to `now` if it is at least `every` old (or new); whether it moved."""
    with transaction(conn):
        conn.execute("INSERT OR IGNORE INTO marks VALUES (?, ?, ?)", (namespace, name, -every))
        sql = "UPDATE marks SET time = ? WHERE namespace = ? AND name = ? AND time <= ?"
        return conn.execute(sql, (now, namespace, name, now - every)).rowcount == 1
