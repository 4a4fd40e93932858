"""The Redis store's alert state (DESIGN.md §11), sink reports, marks and the drop alert's
equity reads, shared by every host: functions of a redis-py client.

`put_alert` is the claim before a send: a Lua script writes the new state only when the
stored one still has the version it was computed from (none: no state yet), so of several
processes or hosts making the same change exactly one gets True and sends. `claim_mark`
moves a mark only when it is `every` seconds old (one process per period), in one script
too. Keys: `redis_keys.alerts_key`, `sinks_key`, `mark_key`; snapshots: `snapshots_key`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from nija_balances.domain.alerts import Alert, AlertKind, SinkReport
from nija_balances.store.redis_keys import (
    ALERTS_TTL,
    VALUE_VERSION,
    alerts_key,
    mark_key,
    sinks_key,
    snapshots_key,
    unwrap,
    wrap,
)

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)
KEEP_RESOLVED = 30 * 86400.0  # seconds a resolved alert stays listed (as in SQLite)
_PHASES = ("pending", "firing", "resolved", "clear")

# KEYS[1] alerts hash. ARGV: field, the version written over ("0": no state yet), the new
# value (its version one more), ttl, the oldest `since` a resolved/cleared alert keeps.
# A stored value of another envelope version counts as no state. 1 when written, else 0.
PUT_ALERT = f"""
local old = redis.call('HGET', KEYS[1], ARGV[1])
local version = 0
if old then
  local ok, doc = pcall(cjson.decode, old)
  if ok and type(doc) == 'table' and doc.v == {VALUE_VERSION} then
    version = tonumber(doc.n) or 0
  end
end
if version ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local ok, doc = pcall(cjson.decode, all[i + 1])
  if ok and type(doc) == 'table' and (doc.st == 'resolved' or doc.st == 'clear')
      and (tonumber(doc.s) or 0) < tonumber(ARGV[5]) then
    redis.call('HDEL', KEYS[1], all[i])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

# KEYS[1] sinks hash. ARGV: sink, now (text), "ok" or "failed", ttl, the error.
PUT_SINK = f"""
local doc = {{v = {VALUE_VERSION}, failures = 0}}
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local ok, found = pcall(cjson.decode, old)
  if ok and type(found) == 'table' and found.v == {VALUE_VERSION} then doc = found end
end
if ARGV[3] == 'ok' then
  doc.ok = ARGV[2]
  doc.failures = 0
else
  doc.failed = ARGV[2]
  doc.failures = (tonumber(doc.failures) or 0) + 1
  doc.error = ARGV[5]
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(doc))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

# KEYS[1] the mark. ARGV: now, every (s), the new value, its lifetime (ms). 1 when moved.
CLAIM_MARK = f"""
local old = redis.call('GET', KEYS[1])
if old then
  local ok, doc = pcall(cjson.decode, old)
  if ok and type(doc) == 'table' and doc.v == {VALUE_VERSION}
      and tonumber(doc.t) > tonumber(ARGV[1]) - tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1
"""

# KEYS: snapshot sorted sets. ARGV[1] since, ARGV[2] step (s), then per key a filter flag
# ("1": only ARGV account) and an account. Per key a flat list time, equity, time, ...:
# the last snapshot of each `step` seconds (all with 0), read on the server (run per key:
# 300 connections' full day of minute snapshots is ~2 s of server time in all).
EQUITY = f"""
local step = tonumber(ARGV[2])
local out = {{}}
for i, zkey in ipairs(KEYS) do
  local filter, account = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  local rows = redis.call('ZRANGEBYSCORE', zkey, ARGV[1], '+inf', 'WITHSCORES')
  local points, last = {{}}, nil
  for j = 1, #rows, 2 do
    local ok, doc = pcall(cjson.decode, rows[j])
    if ok and type(doc) == 'table' and doc.v == {VALUE_VERSION}
        and (filter == '0' or doc.a == account) and type(doc.e) == 'string' then
      local t = tonumber(rows[j + 1])
      local bucket = t
      if step > 0 then bucket = math.floor(t / step) end
      if bucket == last then
        points[#points - 1], points[#points] = rows[j + 1], doc.e
      else
        points[#points + 1], points[#points + 2] = rows[j + 1], doc.e
      end
      last = bucket
    end
  end
  out[i] = points
end
return out
"""


def alert_field(alert: Alert) -> str:
    """The hash field of an alert: its (kind, account, connection) as JSON."""
    return json.dumps(list(alert.key), separators=(",", ":"))


def get_alerts(client: Redis, namespace: str) -> list[Alert]:
    """Every alert state of `namespace`, oldest `since` first (unreadable ones left out)."""
    found = []
    for raw in client.hvals(alerts_key(namespace)):
        doc = unwrap(raw)
        try:
            if doc is not None and doc["k"] in AlertKind.__members__ and doc["st"] in _PHASES:
                found.append(_alert(doc))
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            log.warning("ignoring unreadable alert state in %s: %s", namespace, exc)
    return sorted(found, key=lambda a: a.since)


def put_alert(
    client: Redis, namespace: str, before: Alert | None, after: Alert, now: float
) -> bool:
    """Write `after` if the stored state still has `before`'s version (None: no state)."""
    version = 0 if before is None else before.version
    value = _wrap_alert(after, version + 1)
    keep = now - KEEP_RESOLVED
    args = (alert_field(after), version, value, ALERTS_TTL, repr(keep))
    return bool(client.eval(PUT_ALERT, 1, alerts_key(namespace), *args))


def get_sinks(client: Redis, namespace: str) -> list[SinkReport]:
    found = []
    for sink, raw in sorted(client.hgetall(sinks_key(namespace)).items()):
        doc = unwrap(raw)
        if doc is None:
            continue
        try:
            name = sink.decode() if isinstance(sink, bytes) else str(sink)
            found.append(SinkReport(name, _time(doc.get("ok")), _time(doc.get("failed")),
                                    int(doc["failures"]), doc.get("error")))  # fmt: skip
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            log.warning("ignoring unreadable sink report in %s: %s", namespace, exc)
    return found


def put_sink(client: Redis, namespace: str, sink: str, error: str | None, now: float) -> None:
    outcome = "ok" if error is None else "failed"
    args = (sink, repr(now), outcome, ALERTS_TTL, error or "")
    client.eval(PUT_SINK, 1, sinks_key(namespace), *args)


def claim_mark(client: Redis, namespace: str, name: str, every: float, now: float) -> bool:
    """Move the mark to `now` if it is at least `every` old (or absent); whether it moved.
    Times are the callers' clocks, as in the SQLite store; the key outlives the period."""
    lifetime = int(max(every, 1.0) * 2000)
    value = wrap({"t": now})
    args = (repr(now), repr(every), value, lifetime)
    return bool(client.eval(CLAIM_MARK, 1, mark_key(namespace, name), *args))


def get_equity(
    client: Redis,
    namespace: str,
    keys: list[str],
    since: datetime,
    accounts: Mapping[str, str] | None,
    step: float,
) -> dict[str, list[tuple[datetime, Decimal]]]:
    """Per key, its snapshots' equity from `since` on, the last of each `step` seconds,
    oldest first, thinned on the server (what the drop alert reads every cycle): only the
    points kept cross the wire."""
    wanted = [k for k in keys if accounts is None or k in accounts]
    if not wanted:
        return {}
    head = [repr(since.timestamp()), repr(float(step))]
    read = client.pipeline(transaction=False)  # a script per key: no long block of the server
    for key in wanted:
        owner = ["0", ""] if accounts is None else ["1", accounts[key]]
        read.eval(EQUITY, 1, snapshots_key(namespace, key), *head, *owner)
    found: dict[str, list[tuple[datetime, Decimal]]] = {}
    for key, (flat,) in zip(wanted, read.execute(), strict=True):
        points = []
        for moment, equity in zip(flat[::2], flat[1::2], strict=True):
            value = _decimal(bytes(equity).decode())
            if value is not None and value.is_finite():
                points.append((datetime.fromtimestamp(float(moment), UTC), value))
        if points:
            found[key] = points
    return found


# ---------------------------------------------------------------------------- values


def _wrap_alert(alert: Alert, version: int) -> str:
    sent = None if alert.last_sent is None else alert.last_sent.timestamp()
    return wrap({"k": alert.kind.value, "a": alert.account, "c": alert.connection or "",
                 "st": alert.state, "s": alert.since.timestamp(), "ls": sent,
                 "sc": alert.sent_count, "b": _text(alert.balance),
                 "th": _text(alert.threshold), "m": alert.message, "n": version})  # fmt: skip


def _alert(doc: dict[str, Any]) -> Alert:
    return Alert(
        AlertKind(doc["k"]), str(doc["a"]), doc["c"] or None, doc["st"],
        datetime.fromtimestamp(float(doc["s"]), UTC), _time(doc["ls"]), int(doc["sc"]),
        _decimal(doc["b"]), _decimal(doc["th"]), str(doc["m"]), int(doc["n"]),
    )  # fmt: skip


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _time(value: float | str | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), UTC)


def _decimal(text: str | None) -> Decimal | None:
    try:
        return None if text is None else Decimal(text)
    except InvalidOperation:
        return None
