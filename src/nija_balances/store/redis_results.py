"""The Redis store's results (last good values, remembered failures) and snapshots.

Functions of a redis-py client; the store (`redis_store.RedisStore`) chooses when Redis is
used and when the local store is. The keep-the-newest rule is the SQLite store's, done
atomically in one Lua script: a stored value is replaced by one at least as new, or when it
is dated in the future (written while the clock was ahead), or when it is another exchange
account's (the connection's key was changed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from nija_balances.domain.history import KEEP_ALL, KEEP_HOURLY, Snapshot, snapshots_to_keep
from nija_balances.domain.models import StoredResult
from nija_balances.store.codec import decode, decode_snapshot, encode, encode_assets
from nija_balances.store.redis_keys import (
    HISTORY_TTL,
    RESULTS_TTL,
    SNAPSHOTS_TTL,
    VALUE_VERSION,
    history_keys,
    name_key,
    results_key,
    snapshots_key,
    unwrap,
    wrap,
)

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

SnapshotItem = tuple[str, str | None, Snapshot]
_HOUR, _DAY = 3600.0, 86400.0

# KEYS[1] results hash, KEYS[2] name key; ARGV: now, ttl (s), namespace, then per item
# field, fetched_at, account, value.
UPSERT = f"""
local now = tonumber(ARGV[1])
for i = 4, #ARGV, 4 do
  local field, f, a, value = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]
  local old = redis.call('HGET', KEYS[1], field)
  local put = true
  if old then
    local ok, doc = pcall(cjson.decode, old)
    if ok and type(doc) == 'table' and doc.v == {VALUE_VERSION} then
      local of = tonumber(doc.f) or 0
      put = f >= of or of > now or (doc.a or '') ~= a
    end
  end
  if put then redis.call('HSET', KEYS[1], field, value) end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[2])
return 1
"""


def get_results(client: Redis, namespace: str, keys: list[str]) -> dict[str, StoredResult]:
    """The stored results of those of `keys` that have one (one round trip)."""
    if not keys:
        return {}
    found: dict[str, StoredResult] = {}
    for key, raw in zip(keys, client.hmget(results_key(namespace), keys), strict=True):
        doc = unwrap(raw)
        if doc is None:
            continue
        try:
            found[key] = decode(doc["d"])
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            log.warning("ignoring unreadable cache entry %s/%s: %s", namespace, key, exc)
    return found


def put_all(
    client: Redis,
    namespace: str,
    items: Mapping[str, StoredResult],
    snapshots: list[SnapshotItem],
    now: float,
) -> None:
    """Results (keep-the-newest) and snapshots (pruned to retention) of one refresh."""
    if items:
        args: list[Any] = [now, RESULTS_TTL, namespace]
        for key, result in items.items():
            args += [key, result.fetched_at or 0.0, result.account or ""]
            args.append(wrap({"f": result.fetched_at or 0.0, "a": result.account or "",
                              "d": encode(result)}))  # fmt: skip
        client.eval(UPSERT, 2, results_key(namespace), name_key(namespace), *args)
    if snapshots:
        put_snapshots(client, namespace, snapshots, now)


def put_snapshots(client: Redis, namespace: str, items: list[SnapshotItem], now: float) -> None:
    """Keep each snapshot (one per key and time), then prune the written keys."""
    keys = list(dict.fromkeys(snapshots_key(namespace, key) for key, _, _ in items))
    read = client.pipeline(transaction=False)
    for zkey in keys:
        read.zrange(zkey, -1, -1, withscores=True)
    before = {
        zkey: (rows[0][1] if rows else None)
        for zkey, rows in zip(keys, read.execute(), strict=True)
    }
    write = client.pipeline(transaction=True)
    for key, account, snap in items:
        zkey = snapshots_key(namespace, key)
        moment = snap.time.timestamp()
        member = wrap({"t": moment, "a": account or "", "c": str(snap.cash),
                       "e": str(snap.equity), "x": encode_assets(snap.assets)})  # fmt: skip
        write.zremrangebyscore(zkey, moment, moment)  # one snapshot per key and time
        write.zadd(zkey, {member: moment})
        write.expire(zkey, SNAPSHOTS_TTL)
        if snap.assets:  # the currencies ever held (`currencies_seen`, redis_history)
            seen = history_keys(namespace, key)["seen"]
            write.hset(seen, mapping={f"{account or ''}:{a.currency}": 1 for a in snap.assets})
            write.expire(seen, HISTORY_TTL)
    write.execute()
    _prune(client, {zkey: float(last) for zkey, last in before.items() if last is not None}, now)


def get_snapshots(
    client: Redis,
    namespace: str,
    keys: list[str],
    since: datetime | None,
    accounts: Mapping[str, str] | None,
) -> dict[str, list[Snapshot]]:
    """Per key that has any, its snapshots from `since` on, oldest first (see the port)."""
    start: float | str = "-inf" if since is None else since.timestamp()
    read = client.pipeline(transaction=False)
    for key in keys:
        read.zrangebyscore(snapshots_key(namespace, key), start, "+inf")
    found: dict[str, list[Snapshot]] = {}
    for key, members in zip(keys, read.execute() if keys else [], strict=True):
        for member in members:
            doc = unwrap(member)
            if doc is None:
                continue
            if accounts is not None and accounts.get(key) != doc.get("a"):
                continue  # another exchange account's history (the key was changed)
            try:
                snap = decode_snapshot(float(doc["t"]), doc["c"], doc["e"], doc["x"])
            except (ValueError, KeyError, TypeError, ArithmeticError, OverflowError) as exc:
                log.warning("ignoring unreadable snapshot %s/%s: %s", namespace, key, exc)
                continue
            found.setdefault(key, []).append(snap)
    return found


def _prune(client: Redis, before: dict[str, float], now: float) -> None:
    """Drop what retention no longer keeps, looking only at the snapshots that crossed an
    age limit since each key's last write (`before`), as the SQLite store does; two
    pipelines for every key written (a read of the windows, the removals)."""
    if not before:
        return
    read = client.pipeline(transaction=False)
    for zkey, last in before.items():
        for lo, hi in (
            (last - KEEP_ALL.total_seconds() - _HOUR, now - KEEP_ALL.total_seconds() + _HOUR),
            (last - KEEP_HOURLY.total_seconds() - _DAY, now - KEEP_HOURLY.total_seconds() + _DAY),
        ):
            read.zrangebyscore(zkey, lo, hi, withscores=True)
    replies = cast(list[list[tuple[bytes, float]]], read.execute())
    at = datetime.fromtimestamp(now, UTC)
    drop = client.pipeline(transaction=False)
    dropping = False
    for n, zkey in enumerate(before):
        for rows in replies[2 * n : 2 * n + 2]:
            if not rows or min(t for _, t in rows) > now - KEEP_ALL.total_seconds():
                continue
            moments = {datetime.fromtimestamp(t, UTC): t for _, t in rows}
            kept = {moments[m] for m in snapshots_to_keep(moments, at)}
            members = [member for member, t in rows if t not in kept]
            if members:
                drop.zrem(zkey, *members)
                dropping = True
    if dropping:
        drop.execute()


def namespace_keys(client: Redis, prefix: str) -> list[bytes]:
    """Every key under `prefix` (SCAN, never KEYS: it does not block the server)."""
    return list(client.scan_iter(match=_glob_escape(prefix) + "*", count=1000))


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def entries_summary(client: Redis, namespace: str) -> tuple[int, float | None, float | None]:
    """(entries with a good value ever, oldest, newest fetched_at) of one namespace."""
    times = []
    for raw in client.hvals(results_key(namespace)):
        doc = unwrap(raw)
        if doc is not None and float(doc.get("f") or 0) > 0:
            times.append(float(doc["f"]))
    return len(times), (min(times) if times else None), (max(times) if times else None)
