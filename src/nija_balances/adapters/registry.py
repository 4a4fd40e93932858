"""One registry for built-in and third-party adapters.

Built-ins: `paper` (simulated accounts from the config) and `ccxt` (every exchange id ccxt
knows). Third-party packages register an `AdapterSpec` under the entry-point group
`nija_balances.adapters`; the entry point's name is the exchange id it serves. Plugins are
only looked up when an id is not a built-in, so the warm path never scans entry points.
Imports nothing heavy: the paper adapter and the ccxt option checks, not the ccxt adapter.
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from nija_balances.adapters import paper
from nija_balances.adapters.ccxt import options as ccxt_options
from nija_balances.adapters.interface import Adapter, AdapterSpec, MarketStore
from nija_balances.domain.models import Settings

ENTRY_POINT_GROUP = "nija_balances.adapters"

# Brokers the seeds name that no adapter here can reach (no ccxt support): shown as
# `unsupported` instead of being rejected as typos.
UNSUPPORTED_BROKERS = frozenset({"interactive_brokers", "td_ameritrade", "tradier"})


def _paper_factory(exchange: str, settings: Settings, markets: MarketStore | None) -> Adapter:
    return paper.PaperAdapter()


def _ccxt_factory(exchange: str, settings: Settings, markets: MarketStore | None) -> Adapter:
    from nija_balances.adapters.ccxt.adapter import CcxtAdapter

    return CcxtAdapter(exchange, settings, markets)


PAPER = AdapterSpec(
    name="paper",
    factory=_paper_factory,
    requires_credentials=False,
    exchanges=frozenset({"paper"}),
    cacheable=False,
    options=paper.OPTIONS,
)
CCXT = AdapterSpec(
    name="ccxt", factory=_ccxt_factory, requires_credentials=True, options=ccxt_options.OPTIONS
)
BUILT_INS = (PAPER, CCXT)


@cache
def ccxt_exchange_ids() -> frozenset[str]:
    """Exchange ids ccxt supports, read from its package without importing it (~1 s)."""
    spec = find_spec("ccxt")
    if spec is None or spec.origin is None:
        return frozenset()
    text = Path(spec.origin).read_text(encoding="utf-8")
    match = re.search(r"^exchanges = \[(.*?)\]", text, re.S | re.M)
    if match is None:  # pragma: no cover - a ccxt release that changed its layout
        import ccxt

        return frozenset(ccxt.exchanges)
    return frozenset(re.findall(r"'([a-z0-9_]+)'", match.group(1)))


@cache
def plugin_specs() -> dict[str, AdapterSpec]:
    """Adapters registered by installed packages, by exchange id."""
    from importlib.metadata import entry_points

    found: dict[str, AdapterSpec] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        loaded = ep.load()
        spec = loaded() if callable(loaded) and not isinstance(loaded, AdapterSpec) else loaded
        if isinstance(spec, AdapterSpec):
            found[ep.name] = spec
    return found


def find_adapter(exchange: str) -> AdapterSpec | None:
    """The adapter serving `exchange`, or None (-> `unsupported`)."""
    if exchange == "paper":
        return PAPER
    if exchange in ccxt_exchange_ids():
        return CCXT
    return plugin_specs().get(exchange)


@cache
def option_owners() -> dict[str, tuple[AdapterSpec, ...]]:
    """Each connection key a built-in adapter declares, with the built-ins declaring it."""
    owners: dict[str, tuple[AdapterSpec, ...]] = {}
    for spec in BUILT_INS:
        for key in spec.options:
            owners[key] = (*owners.get(key, ()), spec)
    return owners


def is_known_exchange(exchange: str) -> bool:
    """Whether `exchange` is an id the config may name (served, or a known unsupported broker)."""
    return exchange in UNSUPPORTED_BROKERS or find_adapter(exchange) is not None


def suggest_exchange(exchange: str) -> str | None:
    """The closest known exchange id, for a did-you-mean hint."""
    names = {"paper", *ccxt_exchange_ids(), *UNSUPPORTED_BROKERS, *plugin_specs()}
    matches = difflib.get_close_matches(exchange.lower(), sorted(names), n=1, cutoff=0.6)
    return matches[0] if matches else None
