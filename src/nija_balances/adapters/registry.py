"""One registry for built-in and third-party adapters.

Built-ins: `paper` (simulated accounts from the config) and `ccxt` (every exchange id ccxt
knows). Third-party packages register an `AdapterSpec` under the entry-point group
`nija_balances.adapters`; the entry point's name is the exchange id it serves. Plugins are
only looked up when an id is not a built-in, so the warm path never scans entry points.
Imports nothing heavy: the paper adapter and the ccxt option checks, not the ccxt adapter.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache

from nija_balances.adapters import paper
from nija_balances.adapters.ccxt import options as ccxt_options
from nija_balances.adapters.ccxt.catalog import ccxt_exchange_ids
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


@dataclass(frozen=True)
class PluginInfo:
    """An installed adapter plugin: its exchange id, the distribution that ships it, and
    `error` when it could not be loaded (then it serves nothing)."""

    name: str
    source: str
    error: str | None = None


@cache
def _plugins() -> tuple[dict[str, AdapterSpec], tuple[PluginInfo, ...]]:
    from importlib.metadata import entry_points

    found: dict[str, AdapterSpec] = {}
    infos: list[PluginInfo] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        source = ep.dist.name if ep.dist is not None else ep.value
        try:
            loaded = ep.load()
            spec = loaded() if callable(loaded) and not isinstance(loaded, AdapterSpec) else loaded
        except Exception as exc:  # a broken plugin must not break any other connection
            error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            infos.append(PluginInfo(ep.name, source, error))
            continue
        if isinstance(spec, AdapterSpec):
            found[ep.name] = spec
            infos.append(PluginInfo(ep.name, source))
        else:
            infos.append(PluginInfo(ep.name, source, f"{ep.value} is not an AdapterSpec"))
    return found, tuple(infos)


def plugin_specs() -> dict[str, AdapterSpec]:
    """Adapters registered by installed packages that loaded, by exchange id."""
    return _plugins()[0]


def plugin_infos() -> tuple[PluginInfo, ...]:
    """Every installed plugin, loaded or not (for `nija config check`)."""
    return _plugins()[1]


def plugin_problems() -> tuple[str, ...]:
    """One line per plugin that could not be loaded."""
    return tuple(
        f"adapter plugin {p.name!r} ({p.source}) could not be loaded: {p.error}"
        for p in plugin_infos()
        if p.error is not None
    )


def plugins_consulted() -> bool:
    """Whether the installed plugins were looked up in this process (so that their problems,
    if any, concern this run)."""
    return _plugins.cache_info().currsize > 0


def forget_plugins() -> None:
    """Look the plugins up again on next use (after installing one; tests)."""
    _plugins.cache_clear()


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
