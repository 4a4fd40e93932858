"""The shared rate budget: token buckets per exchange and per exchange account, as data.

Every process (and host) fetching a connection takes one token from its exchange's bucket
and one from its account's bucket, through the store (`engine.ports.FlightLock.take`), so
ten processes at once spend one budget, not ten. What it covers: each connection's balance
fetch (one private request: Kraken `BalanceEx`, Coinbase `accounts`, ...). Public requests
(markets, tickers, once per exchange per refresh and cached) and ccxt's own spacing inside
one process are outside it. The stores implement the same arithmetic (`take`): SQLite
under a file lock, Redis in a Lua script with the server's clock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bucket:
    """A token bucket: `burst` tokens at most, `rate` tokens back per second."""

    name: str
    rate: float
    burst: float


#: Per API key. Kraken's private counter: 15 points (starter tier), one per call, decaying
#: by 0.33 a second; more than that is `EAPI:Rate limit exceeded` (and a lock-out).
ACCOUNT_LIMITS: dict[str, tuple[float, float]] = {"kraken": (0.33, 15.0)}
#: Per exchange (per IP, across every key and process): requests a second and burst. The
#: burst lets one refresh of a few hundred accounts through at once (one private request
#: each); what it stops is ten processes doing so at the same moment.
EXCHANGE_LIMITS: dict[str, tuple[float, float]] = {
    "binance": (5.0, 300.0),  # 6,000 request weight a minute per IP, an account read is 20
}
DEFAULT_EXCHANGE_LIMIT = (50.0, 500.0)


def buckets_for(exchange: str, account: str) -> tuple[Bucket, ...]:
    """The buckets one fetch of `account` (its identity hash) on `exchange` takes from."""
    rate, burst = EXCHANGE_LIMITS.get(exchange, DEFAULT_EXCHANGE_LIMIT)
    found = [Bucket(exchange, rate, burst)]
    if exchange in ACCOUNT_LIMITS:
        rate, burst = ACCOUNT_LIMITS[exchange]
        found.append(Bucket(f"{exchange}:{account}", rate, burst))
    return tuple(found)


def refill(tokens: float | None, at: float | None, now: float, bucket: Bucket) -> float:
    """The tokens in `bucket` at `now`, from `tokens` seen at `at` (None: a full bucket)."""
    if tokens is None or at is None:
        return bucket.burst
    return min(bucket.burst, tokens + max(0.0, now - at) * bucket.rate)


def take(
    state: dict[str, tuple[float, float]], buckets: tuple[Bucket, ...], now: float, cost: float
) -> float:
    """Take `cost` from every bucket at once (updating `state`, name -> (tokens, at)), or
    none: then the seconds to wait before all have it (0.0: taken)."""
    levels: dict[str, float] = {}
    for b in buckets:
        seen = state.get(b.name)
        levels[b.name] = refill(*seen, now, b) if seen else b.burst
    wait = max(
        ((cost - levels[b.name]) / b.rate for b in buckets if levels[b.name] < cost), default=0.0
    )
    for b in buckets:
        state[b.name] = (levels[b.name] - (cost if wait == 0.0 else 0.0), now)
    return wait
