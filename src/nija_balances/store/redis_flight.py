"""Single-flight locks and the rate budget shared by every host through Redis.

A lock is `SET nija:v1:lock:{account} TOKEN NX PX lease`: the random token makes it ours;
it is extended (`PEXPIRE` only while the token is ours) while the fetch runs, and released
by compare-and-delete in Lua, so a process never deletes a lock that expired and was taken
by another. A holder that dies leaves a lock that expires with its lease.

The rate budget is `domain.budget.take` in Lua over one hash per bucket, timed by the
server's clock (`TIME`), so hosts with skewed clocks share one budget.

A Redis lock is always taken under the host's own lock (`LocalFlights`, a flock) first: the
processes of one host queue on it cheaply (~20 µs), and when Redis dies in the middle of a
fetch, the others of that host still wait for the holder instead of fetching beside it
(one API key's nonces, again). While Redis cannot be used, the local lock alone guards and
the budget is the host's own (through the link's fallback).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from nija_balances.domain.budget import Bucket
from nija_balances.store.local_flight import LocalFlights
from nija_balances.store.redis_keys import lock_key, rate_key

if TYPE_CHECKING:
    from redis import Redis

    from nija_balances.store.redis_link import RedisLink

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# KEYS: the buckets. ARGV: cost, then rate and burst per bucket, then per request the
# number of its buckets and their indexes (1-based). Each request in turn takes `cost` from
# all its buckets or none; returns each request's wait (strings).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local cost = tonumber(ARGV[1])
local rate, burst, level = {}, {}, {}
for i, key in ipairs(KEYS) do
  rate[i], burst[i] = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local s = redis.call('HMGET', key, 'tokens', 'at')
  local tokens, at = tonumber(s[1]), tonumber(s[2])
  if tokens == nil or at == nil then
    level[i] = burst[i]
  else
    level[i] = math.min(burst[i], tokens + math.max(0, now - at) * rate[i])
  end
end
local waits = {}
local pos = 2 * #KEYS + 2
while pos <= #ARGV do
  local n = tonumber(ARGV[pos])
  local wait = 0
  for j = 1, n do
    local i = tonumber(ARGV[pos + j])
    if level[i] < cost then wait = math.max(wait, (cost - level[i]) / rate[i]) end
  end
  if wait == 0 then
    for j = 1, n do
      local i = tonumber(ARGV[pos + j])
      level[i] = level[i] - cost
    end
  end
  waits[#waits + 1] = tostring(wait)
  pos = pos + n + 1
end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'tokens', tostring(level[i]), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((burst[i] - level[i]) / rate[i] * 1000) + 1000)
end
return waits
"""


class _RedisHeld:
    def __init__(self, key: str, token: str, local: object) -> None:
        self.key, self.token, self.local = key, token, local


class RedisFlights:
    """`engine.ports.FlightLock` through Redis, falling back to the host's `LocalFlights`."""

    def __init__(self, link: RedisLink, local: LocalFlights) -> None:
        self._link = link
        self._local = local

    def try_acquire(self, name: str, lease: float) -> object | None:
        local = self._local.try_acquire(name, lease)
        if local is None:
            return None  # another process of this host has it
        key, token = lock_key(name), secrets.token_hex(16)

        def acquire(client: Redis) -> object | None:
            taken = client.set(key, token, nx=True, px=_ms(lease))
            return _RedisHeld(key, token, local) if taken else None

        held = self._link.call(acquire, lambda: local)
        if held is None:
            self._local.release(local)  # another host has it
        return held

    def extend(self, held: object, lease: float) -> bool:
        if not isinstance(held, _RedisHeld):
            return self._local.extend(held, lease)
        return self._link.call(
            lambda c: bool(c.eval(_EXTEND, 1, held.key, held.token, _ms(lease))), lambda: False
        )

    def release(self, held: object) -> None:
        if not isinstance(held, _RedisHeld):
            self._local.release(held)
            return
        # Redis down: the lock expires with its lease.
        self._link.call(lambda c: c.eval(_RELEASE, 1, held.key, held.token), lambda: None)
        self._local.release(held.local)

    def take(self, buckets: tuple[Bucket, ...], cost: float = 1.0) -> float:
        return self._take([buckets], cost)[0]

    def take_many(self, requests: list[tuple[Bucket, ...]]) -> list[float]:
        return self._take(requests, 1.0)

    def _take(self, requests: list[tuple[Bucket, ...]], cost: float) -> list[float]:
        if not requests:
            return []
        index: dict[str, int] = {}
        unique: list[Bucket] = []
        for buckets in requests:
            for b in buckets:
                if b.name not in index:
                    index[b.name] = len(unique) + 1
                    unique.append(b)
        args: list[float | int] = [cost]
        for b in unique:
            args += [b.rate, b.burst]
        for buckets in requests:
            args += [len(buckets), *(index[b.name] for b in buckets)]
        keys = [rate_key(b.name) for b in unique]

        def take(client: Redis) -> list[float]:
            return [float(w) for w in client.eval(_TAKE, len(keys), *keys, *args)]

        def local() -> list[float]:
            if cost == 1.0:
                return self._local.take_many(requests)
            return [self._local.take(buckets, cost) for buckets in requests]

        return self._link.call(take, local)

    def try_acquire_many(self, names: list[str], lease: float) -> list[object | None]:
        """The host's flocks, then one pipeline of `SET NX PX` for those this host got."""
        local = self._local.try_acquire_many(names, lease)
        mine = [(i, name) for i, (name, held) in enumerate(zip(names, local, strict=True))
                if held is not None]  # fmt: skip
        tokens = [secrets.token_hex(16) for _ in mine]

        def acquire(client: Redis) -> list[object | None]:
            pipe = client.pipeline(transaction=False)
            for (_, name), token in zip(mine, tokens, strict=True):
                pipe.set(lock_key(name), token, nx=True, px=_ms(lease))
            found: list[object | None] = [None] * len(names)
            for (i, name), token, taken in zip(mine, tokens, pipe.execute(), strict=True):
                found[i] = _RedisHeld(lock_key(name), token, local[i]) if taken else None
            return found

        found = self._link.call(acquire, lambda: local) if mine else local
        for i, held in enumerate(found):
            if held is None and local[i] is not None:
                self._local.release(local[i])  # another host has it
        return found

    def release_many(self, held: list[object]) -> None:
        remote = [h for h in held if isinstance(h, _RedisHeld)]
        if remote:

            def release(client: Redis) -> None:
                pipe = client.pipeline(transaction=False)
                for h in remote:
                    pipe.eval(_RELEASE, 1, h.key, h.token)
                pipe.execute()

            self._link.call(release, lambda: None)
        self._local.release_many([h.local if isinstance(h, _RedisHeld) else h for h in held])


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
