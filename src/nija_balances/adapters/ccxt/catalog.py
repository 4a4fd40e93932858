"""Which exchange ids ccxt supports, known without importing ccxt (~1 s, ~100 MB)."""

from __future__ import annotations

import re
from functools import cache
from importlib.util import find_spec
from pathlib import Path


@cache
def ccxt_exchange_ids() -> frozenset[str]:
    """Exchange ids ccxt supports, read from its package's `exchanges` list."""
    spec = find_spec("ccxt")
    if spec is None or spec.origin is None:
        return frozenset()
    text = Path(spec.origin).read_text(encoding="utf-8")
    match = re.search(r"^exchanges = \[(.*?)\]", text, re.S | re.M)
    if match is None:  # pragma: no cover - a ccxt release that changed its layout
        import ccxt

        return frozenset(ccxt.exchanges)
    return frozenset(re.findall(r"'([a-z0-9_]+)'", match.group(1)))
