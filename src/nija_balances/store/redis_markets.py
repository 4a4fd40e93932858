"""The Redis store's market lists: one key per exchange, shared by every config.

A market list is what an exchange publishes to everyone, so it is not per namespace; a
small index hash (`nija:v1:markets`) holds when and how big each was saved, for `cache info`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from nija_balances.store.codec import MarketInfo
from nija_balances.store.redis_keys import MARKETS_TTL, PREFIX, markets_key, unwrap, wrap

if TYPE_CHECKING:
    from redis import Redis

INDEX = f"{PREFIX}markets"


def load(client: Redis, exchange: str, max_age: float, now: float) -> dict[str, Any] | None:
    """The markets saved for `exchange` at most `max_age` seconds ago, or None."""
    doc = unwrap(client.get(markets_key(exchange)))
    if doc is None or now - float(doc.get("saved_at", 0)) > max_age:
        return None
    markets = doc.get("d")
    return markets if isinstance(markets, dict) else None


def save(client: Redis, exchange: str, markets: dict[str, Any], now: float) -> None:
    data = wrap({"saved_at": now, "d": markets})
    meta = json.dumps({"saved_at": now, "count": len(markets), "size": len(data)})
    pipe = client.pipeline(transaction=True)
    pipe.set(markets_key(exchange), data, ex=MARKETS_TTL)
    pipe.hset(INDEX, exchange, meta)
    pipe.expire(INDEX, MARKETS_TTL)
    pipe.execute()


def listed(client: Redis) -> tuple[MarketInfo, ...]:
    """The saved market lists still held (an expired one drops out of the index)."""
    raw_index = cast(dict[bytes, bytes], client.hgetall(INDEX))
    index = {k.decode(): v for k, v in raw_index.items()}
    names = sorted(index)
    alive = client.pipeline(transaction=False)
    for name in names:
        alive.exists(markets_key(name))
    found = []
    for name, exists in zip(names, alive.execute() if names else [], strict=True):
        try:
            meta = json.loads(index[name])
            if exists:
                found.append(
                    MarketInfo(name, float(meta["saved_at"]), int(meta["count"]), int(meta["size"]))
                )
        except (ValueError, KeyError, TypeError):
            continue
    return tuple(found)
