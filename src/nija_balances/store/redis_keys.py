"""The Redis key scheme and value envelope, shared by every area of the Redis store.

Every key starts with `nija:v1:`; the part after it says what the key holds:

- `nija:v1:ns:{ns}:name` (string): the namespace's name, for `cache info`;
- `nija:v1:ns:{ns}:results` (hash): connection key -> `StoredResult` (last good value or
  remembered failure); expires RESULTS_TTL after the last write;
- `nija:v1:ns:{ns}:snap:{key}` (sorted set): one connection's snapshots scored by time,
  pruned to retention on write; expires SNAPSHOTS_TTL after the last write;
- `nija:v1:markets:{exchange}` (string) and the index `nija:v1:markets` (hash): market
  lists, shared by every config; expire after MARKETS_TTL;
- `nija:v1:lock:{account}` (string): the single-flight lock of one exchange account, a
  random token; expires with its lease (`SET NX PX`);
- `nija:v1:rate:{bucket}` (hash): a shared rate budget (tokens, time); expires once full.

`{ns}` is a hash of the config's namespace (a namespace is a path or a name and may hold
`:`); `{account}` is the account identity hash (`planning.account_hash`, never a key).
Every value is JSON in an envelope `{"v": VALUE_VERSION, ...}`; a value of another version
is ignored (a miss), never misread. A later area (fills, flows, sync state, alert state)
adds its own key family here, under `ns:{ns}:` when it belongs to one config.

No redis import here: this is plain text and JSON.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

PREFIX = "nija:v1:"
VALUE_VERSION = 1
RESULTS_TTL = 400 * 86400  # seconds: a last good value outlives any cache_ttl by far
SNAPSHOTS_TTL = 400 * 86400  # retention keeps daily snapshots for good; refreshed on write
MARKETS_TTL = 7 * 86400  # markets are re-read after an hour anyway (`max_age`)


def namespace_id(namespace: str) -> str:
    """The short, key-safe id of a namespace."""
    return hashlib.sha256(namespace.encode()).hexdigest()[:16]


def ns_prefix(namespace: str) -> str:
    """Every key of one namespace starts with this (what `cache clear` removes)."""
    return f"{PREFIX}ns:{namespace_id(namespace)}:"


def name_key(namespace: str) -> str:
    return ns_prefix(namespace) + "name"


def results_key(namespace: str) -> str:
    return ns_prefix(namespace) + "results"


def snapshots_key(namespace: str, key: str) -> str:
    return ns_prefix(namespace) + "snap:" + key


def markets_key(exchange: str) -> str:
    return f"{PREFIX}markets:{exchange}"


def lock_key(name: str) -> str:
    return f"{PREFIX}lock:{name}"


def rate_key(bucket: str) -> str:
    return f"{PREFIX}rate:{bucket}"


def wrap(fields: dict[str, Any]) -> str:
    """`fields` in the versioned envelope, as compact JSON."""
    return json.dumps({"v": VALUE_VERSION, **fields}, separators=(",", ":"))


def unwrap(data: bytes | str | None) -> dict[str, Any] | None:
    """The fields of an envelope; None for a miss, another version or a malformed value."""
    if data is None:
        return None
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("v") != VALUE_VERSION:
        return None
    return doc
