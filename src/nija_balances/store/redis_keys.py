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
- `nija:v1:rate:{bucket}` (hash): a shared rate budget (tokens, time); expires once full;
- `nija:v1:ns:{ns}:fills:{key}`, `...:flows:{key}` (hash): `{account}:{exchange id}` -> one
  fill or flow; with `...:fills-t:{key}`, `...:flows-t:{key}` (sorted set): the same fields
  scored by time (the `since` reads); `...:sync:{key}` (hash): `s:{account}:{kind}` -> sync
  state, `c:{account}:{kind}` -> the cursor of the last page stored after it;
  `...:seen:{key}` (hash): `{account}:{currency}` -> 1, every currency ever held, moved or
  traded. One connection's history keys expire together HISTORY_TTL after its last write;
- `nija:v1:ns:{ns}:alerts` (hash): alert key -> alert state with its version;
  `...:sinks` (hash): sink -> delivery report; `...:mark:{name}` (string): the time a
  periodic job last ran, expiring once the period is over.

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
HISTORY_TTL = 400 * 86400  # fills, flows, sync state: as long as snapshots, refreshed on write
ALERTS_TTL = 400 * 86400  # alert state and sink reports, refreshed on write


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


def history_keys(namespace: str, key: str) -> dict[str, str]:
    """The history keys of one connection (fills, flows, their time indexes, sync state,
    currencies seen), by name; they expire together."""
    base = ns_prefix(namespace)
    names = ("fills", "fills-t", "flows", "flows-t", "sync", "seen")
    return {name: f"{base}{name}:{key}" for name in names}


def alerts_key(namespace: str) -> str:
    return ns_prefix(namespace) + "alerts"


def sinks_key(namespace: str) -> str:
    return ns_prefix(namespace) + "sinks"


def mark_key(namespace: str, name: str) -> str:
    return ns_prefix(namespace) + "mark:" + name


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
