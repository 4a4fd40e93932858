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
# KEYS: the buckets; ARGV: cost, then rate and burst per bucket. Returns the wait (string).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local cost = tonumber(ARGV[1])
local levels, wait = {}, 0
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local s = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(s[1])
  if tokens == nil or tonumber(s[2]) == nil then
    tokens = burst
  else
    tokens = math.min(burst, tokens + math.max(0, now - tonumber(s[2])) * rate)
  end
  levels[i] = tokens
  if tokens < cost then wait = math.max(wait, (cost - tokens) / rate) end
end
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local left = levels[i]
  if wait == 0 then left = left - cost end
  redis.call('HSET', key, 'tokens', tostring(left), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((burst - left) / rate * 1000) + 1000)
end
return tostring(wait)
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
        args: list[float] = [cost]
        for b in buckets:
            args += [b.rate, b.burst]
        keys = [rate_key(b.name) for b in buckets]
        return self._link.call(
            lambda c: float(c.eval(_TAKE, len(keys), *keys, *args)),
            lambda: self._local.take(buckets, cost),
        )


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
