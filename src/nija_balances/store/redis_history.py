"""The Redis store's trades (fills), flows, sync state and snapshot edges, shared by every
host: functions of a redis-py client, and `SharedHistory`, the `HistoryStore` methods
`RedisStore` mixes in (each one `self._link.call(redis, local)`).

A connection's fills (flows alike) are a hash `{account}:{exchange id}` -> item, written
with HSETNX (de-duplication: the first copy stays, counted once), and a sorted set of the
same fields by time for the `since` reads. A page's items, its cursor and the currencies it
names go in one Lua script (all or nothing), so a sync that stops between pages never
counts an item twice.
Keys: `redis_keys.history_keys`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from nija_balances.domain.history import Fill, Flow, Snapshot, SyncState
from nija_balances.store.codec import decode_snapshot
from nija_balances.store.redis_keys import (
    HISTORY_TTL,
    VALUE_VERSION,
    history_keys,
    snapshots_key,
    unwrap,
    wrap,
)

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

# KEYS: snapshot sorted sets. ARGV[1] "first" or "last", ARGV[2] the upper bound of "last"
# ("+inf" or "(TIME": strictly before), then per key a filter flag ("1": only ARGV account)
# and an account. Per key the oldest / newest readable member that passes, or "".
EDGE = f"""
local out = {{}}
for i, zkey in ipairs(KEYS) do
  local filter, account = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  local found, offset = '', 0
  while true do
    local batch
    if ARGV[1] == 'first' then
      batch = redis.call('ZRANGEBYSCORE', zkey, '-inf', '+inf', 'LIMIT', offset, 64)
    else
      batch = redis.call('ZREVRANGEBYSCORE', zkey, ARGV[2], '-inf', 'LIMIT', offset, 64)
    end
    for _, member in ipairs(batch) do
      local ok, doc = pcall(cjson.decode, member)
      if ok and type(doc) == 'table' and doc.v == {VALUE_VERSION}
          and (filter == '0' or doc.a == account) then
        found = member
        break
      end
    end
    if found ~= '' or #batch < 64 then break end
    offset = offset + 64
  end
  out[i] = found
end
return out
"""


# KEYS: history_keys (fills, fills-t, flows, flows-t, sync, seen). ARGV: ttl, the cursor's
# field and value, the number of fills and of flows, then per item its field, time and
# value, then the `seen` fields. Every key's type is checked before anything is written, so
# the page and its cursor are stored whole or not at all. Returns {new fills, new flows}.
PUT_PAGE = """
for i, key in ipairs(KEYS) do
  local kind = redis.call('TYPE', key).ok
  local want = (i == 2 or i == 4) and 'zset' or 'hash'
  if kind ~= 'none' and kind ~= want then
    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. kind)
  end
end
local nfills, nflows = tonumber(ARGV[4]), tonumber(ARGV[5])
local counts, at = {0, 0}, 6
for n = 1, nfills + nflows do
  local which = (n <= nfills) and 1 or 2
  local field, moment, value = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  if redis.call('HSETNX', KEYS[2 * which - 1], field, value) == 1 then
    counts[which] = counts[which] + 1
    redis.call('ZADD', KEYS[2 * which], moment, field)
  end
  at = at + 3
end
for j = at, #ARGV do redis.call('HSET', KEYS[6], ARGV[j], 1) end
redis.call('HSET', KEYS[5], ARGV[2], ARGV[3])
for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ARGV[1]) end
return counts
"""


# ---------------------------------------------------------------------------- writes


def put_page(
    client: Redis,
    namespace: str,
    key: str,
    account: str,
    kind: str,
    fills: list[Fill],
    flows: list[Flow],
    cursor: str | None,
    now: float,
) -> tuple[int, int]:
    """A page's items (kept only where new), the cursor after it and the currencies it
    names, in one script: all or nothing; (new fills, new flows) from the HSETNX replies."""
    names = history_keys(namespace, key)
    args: list[Any] = [HISTORY_TTL, f"c:{account}:{kind}"]
    args += [wrap({"a": account, "k": kind, "c": cursor, "u": now}), len(fills), len(flows)]
    for fill in fills:
        args += [f"{account}:{fill.id}", repr(fill.time.timestamp()), _wrap_fill(account, fill)]
    for flow in flows:
        args += [f"{account}:{flow.id}", repr(flow.time.timestamp()), _wrap_flow(account, flow)]
    seen = {c for f in fills for c in (f.base, f.quote)} | {f.currency for f in flows}
    args += [f"{account}:{c}" for c in sorted(seen) if c]
    new_fills, new_flows = client.eval(PUT_PAGE, len(names), *names.values(), *args)
    return int(new_fills), int(new_flows)


def put_sync_state(
    client: Redis, namespace: str, key: str, account: str, kind: str, state: SyncState, now: float
) -> bool:
    """Replace one sync state (and forget the cursor of the pages before it), atomically."""
    names = history_keys(namespace, key)
    finished = None if state.finished_at is None else state.finished_at.timestamp()
    doc = {"a": account, "k": kind, "c": state.cursor, "f": finished, "ok": state.complete,
           "un": state.unsupported, "p": state.problem, "u": now}  # fmt: skip
    pipe = client.pipeline(transaction=True)
    pipe.hset(names["sync"], f"s:{account}:{kind}", wrap(doc))
    pipe.hdel(names["sync"], f"c:{account}:{kind}")
    for name in names.values():
        pipe.expire(name, HISTORY_TTL)
    pipe.execute()
    return True


def drop(client: Redis, namespace: str, keys: list[str]) -> None:
    """Remove the snapshots, fills, flows, sync state and currencies seen of `keys`."""
    doomed = [snapshots_key(namespace, key) for key in keys]
    doomed += [name for key in keys for name in history_keys(namespace, key).values()]
    if doomed:
        client.delete(*doomed)


# ---------------------------------------------------------------------------- reads


def get_items(
    client: Redis,
    namespace: str,
    keys: list[str],
    since: datetime | None,
    accounts: Mapping[str, str] | None,
    kind: str,
) -> dict[str, list[Any]]:
    """Per key that has any, its fills (`kind` "fills") or flows from `since` on, oldest
    first (ties by id); with `accounts`, only those of that exchange account. Two round
    trips: the time index, then the items."""
    wanted = [k for k in keys if accounts is None or k in accounts]
    start: float | str = "-inf" if since is None else since.timestamp()
    read = client.pipeline(transaction=False)
    for key in wanted:
        read.zrangebyscore(history_keys(namespace, key)[f"{kind}-t"], start, "+inf")
    listed: dict[str, list[bytes]] = {}
    for key, fields in zip(wanted, read.execute() if wanted else [], strict=True):
        if accounts is not None:
            mine = f"{accounts[key]}:".encode()
            fields = [f for f in fields if f.startswith(mine)]
        if fields:
            listed[key] = fields
    items = client.pipeline(transaction=False)
    for key, fields in listed.items():
        items.hmget(history_keys(namespace, key)[kind], fields)
    decode = _fill if kind == "fills" else _flow
    found: dict[str, list[Any]] = {}
    for key, values in zip(listed, items.execute() if listed else [], strict=True):
        rows = []
        for raw in values:
            doc = unwrap(raw)
            if doc is None or (accounts is not None and doc.get("a") != accounts[key]):
                continue
            try:
                rows.append(decode(doc))
            except (ValueError, KeyError, TypeError, ArithmeticError, OverflowError) as exc:
                log.warning("ignoring unreadable %s item %s/%s: %s", kind, namespace, key, exc)
        if rows:
            found[key] = sorted(rows, key=lambda item: (item.time, item.id))
    return found


def get_sync_states(
    client: Redis, namespace: str, keys: list[str], accounts: Mapping[str, str] | None
) -> dict[str, dict[str, SyncState]]:
    """Per key that has any, its sync state per kind (of that account, with `accounts`)."""
    read = client.pipeline(transaction=False)
    for key in keys:
        read.hgetall(history_keys(namespace, key)["sync"])
    found: dict[str, dict[str, SyncState]] = {}
    for key, fields in zip(keys, read.execute() if keys else [], strict=True):
        states: dict[tuple[str, str], tuple[float, SyncState]] = {}
        cursors: dict[tuple[str, str], tuple[float, str | None]] = {}
        for field, raw in sorted(fields.items()):
            doc = unwrap(raw)
            if doc is None or (accounts is not None and accounts.get(key) != doc.get("a")):
                continue
            try:
                which, moment = (str(doc["a"]), str(doc["k"])), float(doc["u"])
                if field.startswith(b"c:"):
                    cursors[which] = (moment, _opt_str(doc["c"]))
                    continue
                at = None if doc["f"] is None else datetime.fromtimestamp(doc["f"], UTC)
                state = SyncState(
                    _opt_str(doc["c"]), at, bool(doc["ok"]), bool(doc["un"]), _opt_str(doc["p"])
                )
                states[which] = (moment, state)
            except (ValueError, KeyError, TypeError, OverflowError) as exc:
                log.warning("ignoring unreadable sync state %s/%s: %s", namespace, key, exc)
        merged: list[tuple[float, str, SyncState]] = []
        for which in states.keys() | cursors.keys():
            moment, state = states.get(which, (0.0, SyncState()))
            if which in cursors:  # a page stored after the state moved its cursor
                moment, cursor = max(moment, cursors[which][0]), cursors[which][1]
                state = replace(state, cursor=cursor)
            merged.append((moment, which[1], state))
        for _, kind, state in sorted(merged, key=lambda row: row[0]):
            found.setdefault(key, {})[kind] = state  # the latest written wins, as in SQLite
    return found


def edge_snapshots(
    client: Redis,
    namespace: str,
    keys: list[str],
    accounts: Mapping[str, str] | None,
    before: datetime | None,
    oldest: bool,
) -> dict[str, Snapshot]:
    """Per key, its oldest (or newest, strictly before `before`) snapshot of that account:
    a range query per key on the server, never the whole history over the wire."""
    wanted = [k for k in keys if accounts is None or k in accounts]
    if not wanted:
        return {}
    bound = "+inf" if before is None else f"({before.timestamp()!r}"
    args: list[str] = ["first" if oldest else "last", bound]
    for key in wanted:
        args += ["0", ""] if accounts is None else ["1", accounts[key]]
    zkeys = [snapshots_key(namespace, key) for key in wanted]
    found: dict[str, Snapshot] = {}
    for key, member in zip(wanted, client.eval(EDGE, len(zkeys), *zkeys, *args), strict=True):
        doc = unwrap(member) if member else None
        if doc is None:
            continue
        try:
            found[key] = decode_snapshot(float(doc["t"]), doc["c"], doc["e"], doc["x"])
        except (ValueError, KeyError, TypeError, ArithmeticError, OverflowError) as exc:
            log.warning("ignoring unreadable snapshot %s/%s: %s", namespace, key, exc)
    return found


def currencies_seen(
    client: Redis, namespace: str, keys: list[str], accounts: Mapping[str, str] | None
) -> dict[str, frozenset[str]]:
    """Per key, every currency held in a snapshot, moved in a flow or traded (of that
    account, with `accounts`): the `seen` hash every write adds to."""
    read = client.pipeline(transaction=False)
    for key in keys:
        read.hkeys(history_keys(namespace, key)["seen"])
    found: dict[str, frozenset[str]] = {}
    for key, fields in zip(keys, read.execute() if keys else [], strict=True):
        names = set()
        for field in fields:
            account, _, currency = field.decode().partition(":")
            if currency and (accounts is None or accounts.get(key) == account):
                names.add(currency)
        if names:
            found[key] = frozenset(names)
    return found


# ---------------------------------------------------------------------------- values


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _wrap_fill(account: str, f: Fill) -> str:
    return wrap({"a": account, "t": f.time.timestamp(), "i": f.id, "o": f.order,
                 "s": f.symbol, "sd": f.side, "am": str(f.amount), "p": str(f.price),
                 "c": str(f.cost), "fe": str(f.fee), "fc": f.fee_currency})  # fmt: skip


def _wrap_flow(account: str, f: Flow) -> str:
    return wrap({"a": account, "t": f.time.timestamp(), "i": f.id, "k": f.kind,
                 "cu": f.currency, "am": str(f.amount), "fe": str(f.fee),
                 "fc": f.fee_currency, "va": _opt(f.value), "es": f.estimated})  # fmt: skip


def _fill(doc: dict[str, Any]) -> Fill:
    return Fill(
        id=str(doc["i"]), order=str(doc["o"]), time=datetime.fromtimestamp(doc["t"], UTC),
        symbol=str(doc["s"]), side=doc["sd"], amount=Decimal(doc["am"]),
        price=Decimal(doc["p"]), cost=Decimal(doc["c"]), fee=Decimal(doc["fe"]),
        fee_currency=_opt_str(doc["fc"]),
    )  # fmt: skip


def _flow(doc: dict[str, Any]) -> Flow:
    value = doc["va"]
    return Flow(
        id=str(doc["i"]), kind=doc["k"], time=datetime.fromtimestamp(doc["t"], UTC),
        currency=str(doc["cu"]), amount=Decimal(doc["am"]), fee=Decimal(doc["fe"]),
        fee_currency=_opt_str(doc["fc"]), value=None if value is None else Decimal(value),
        estimated=bool(doc["es"]),
    )  # fmt: skip
