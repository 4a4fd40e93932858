"""`nija cache info` and `nija cache clear`: describe or empty the on-disk store.

They work without a config (a broken one must not stop `nija cache clear`), so `--config`
and `--demo` are accepted but not shown.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer

from nija_balances.cli import EXIT_INCOMPLETE
from nija_balances.cli.context import Terminal
from nija_balances.cli.lazy import Lazy, LazyGroup
from nija_balances.cli.options import PRINTS, JsonOption

if TYPE_CHECKING:
    from nija_balances.domain.models import Settings
    from nija_balances.engine.ports import Store
    from nija_balances.store.codec import StoreInfo

cache = LazyGroup(
    name="cache",
    help="Describe or clear the on-disk cache (last good balances and exchange market lists).",
    lazy={
        "info": Lazy(
            "nija_balances.cli.cache:info",
            "Where the cache is, its size, how many balances it holds and how old they are.",
            PRINTS,
        ),
        "clear": Lazy(
            "nija_balances.cli.cache:clear",
            "Remove every cached balance and market list (the next report fetches everything).",
            PRINTS,
        ),
    },
)

_clock = time.time  # replaced by tests


def _now() -> float:
    return _clock()


def _open_store() -> Store:
    """The local store (replaced by tests)."""
    from nija_balances.store import open_store

    return open_store(clock=_now)


def _store_for(term: Terminal) -> Store:
    """The store the config's `[store]` names; the local one without a config (or with a
    config that cannot be read: said, since it may name a shared store)."""
    from nija_balances.store import open_store

    settings = _settings(term)
    if settings is None or settings.store.url is None:
        return _open_store()
    return open_store(settings, clock=_now)


def _settings(term: Terminal) -> Settings | None:
    from nija_balances.config.sources import load_config
    from nija_balances.domain.syntax import ConfigError

    if term.demo:
        return None
    try:
        path = term.config_path()
        if not path.exists():
            return None
        return load_config(path).settings
    except (ConfigError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        term.warn(f"config not read ({first}); using the local cache")
        return None


def info(ctx: typer.Context, json: JsonOption = False) -> None:
    """Where the cache is, its size, how many balances it holds and how old they are."""
    term = Terminal.of(ctx)
    store = _store_for(term)
    try:
        described = store.info()
    finally:
        store.close()
    for warning in store.warnings:
        term.warn(warning)
    now = _now()
    if json:
        import json as json_module

        term.write_data(json_module.dumps(info_document(described, now, store.warnings), indent=2))
        return
    for line in info_lines(described, now):
        term.out.print(line, markup=False, soft_wrap=True)


def clear(ctx: typer.Context) -> None:
    """Remove every cached balance and market list (the next report fetches everything)."""
    term = Terminal.of(ctx)
    store = _store_for(term)
    try:
        removed = store.clear()
        left = store.info() if store.available else None
    finally:
        store.close()
    for warning in store.warnings:
        term.warn(warning)
    shared = left is not None and left.kind != "sqlite"  # markets are every config's there
    if left is None or left.entries or (left.markets and not shared):
        term.fail(f"could not clear the cache at {store.location}", EXIT_INCOMPLETE)
    noun = "entry" if removed == 1 else "entries"
    term.say(f"Removed {removed} {noun} from {store.location}")  # a message: stdout stays empty


# ---------------------------------------------------------------------------- rendering


def info_lines(info: StoreInfo, now: float) -> list[str]:
    """The `nija cache info` text, one line per item."""
    if info.kind == "sqlite":
        exists = info.path.exists()
        lines = [f"Path:     {info.path}" + ("" if exists else " (not created yet)")]
    else:
        lines = [f"Store:    {info.kind} at {info.location}", f"Health:   {info.health}"]
    lines += [
        f"Size:     {_size(info.size_bytes)}",
        f"Entries:  {info.entries} {'balance' if info.entries == 1 else 'balances'}",
        f"Oldest:   {_when(info.oldest, now)}",
        f"Newest:   {_when(info.newest, now)}",
    ]
    if not info.markets:
        return [*lines, "Markets:  none"]
    width = max(len(m.exchange) for m in info.markets)
    count_width = max(len(f"{m.count:,}") for m in info.markets)
    for i, m in enumerate(info.markets):
        label = "Markets:  " if i == 0 else " " * 10
        count = f"{m.count:,}".rjust(count_width)
        saved = _when(m.saved_at, now)
        noun = "market" if m.count == 1 else "markets"
        lines.append(f"{label}{m.exchange.ljust(width)}  {count} {noun}, saved {saved}")
    return lines


def info_document(info: StoreInfo, now: float, warnings: list[str]) -> dict[str, Any]:
    """The `nija cache info --json` document: times in UTC ISO 8601, ages in seconds."""

    def stamp(ts: float | None) -> str | None:
        return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()

    def age(ts: float | None) -> float | None:
        return None if ts is None else round(max(0.0, now - ts), 3)

    where: dict[str, Any] = {"path": str(info.path), "exists": info.path.exists()}
    if info.kind != "sqlite":
        where = {"store": info.kind, "location": info.location, "health": info.health}
    return {
        **where,
        "size_bytes": info.size_bytes,
        "entries": info.entries,
        "oldest": stamp(info.oldest),
        "oldest_age_s": age(info.oldest),
        "newest": stamp(info.newest),
        "newest_age_s": age(info.newest),
        "markets": [
            {
                "exchange": m.exchange,
                "count": m.count,
                "size_bytes": m.size_bytes,
                "saved_at": stamp(m.saved_at),
                "age_s": age(m.saved_at),
            }
            for m in info.markets
        ],
        "warnings": list(warnings),
    }


def _when(ts: float | None, now: float) -> str:
    """`2026-01-20 15:55:00 (5m 0s ago)` in local time, or `-`."""
    if ts is None:
        return "-"
    local = datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
    return f"{local} ({_age(now - ts)})"


def _age(seconds: float) -> str:
    if seconds < 0:
        return "in the future"
    s = int(seconds)
    if s < 60:
        return f"{s}s ago"
    if s < 3600:
        return f"{s // 60}m {s % 60}s ago"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m ago"
    return f"{s // 86400}d {s % 86400 // 3600}h ago"


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
