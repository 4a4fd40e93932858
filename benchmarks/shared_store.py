"""Benchmark: the shared store. A warm `nija show` of 300 connections served from Redis vs
from SQLite, and what single-flight costs a refresh.

    .venv/bin/python benchmarks/shared_store.py [--runs 10] [--connections 300]

1. Warm show: a config of N connections (Kraken and Coinbase, dummy keys) whose results are
   all fresh in the store; `nija show` (a subprocess, as a user runs it) timed `--runs`
   times per store, interleaved, after a warm-up: `[store] url` unset (SQLite) vs a
   `redis-server` started here on a random port (no persistence).
2. Single-flight: an in-process `collect(refresh=True)` of N connections over a fake
   adapter that answers at once, so what is left is the engine and the store: with
   single-flight (a lock, a rate-budget take and a store read per connection, the locks let
   go after the write) vs without it (`SingleFlight.for_store` patched to None), per store.

Nothing here touches the network; the Redis server is Debian's `redis-server`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

VENV_BIN = Path(sys.executable).parent
SECRET_SUFFIXES = ("_API_KEY", "_API_SECRET", "_API_PASSPHRASE")


def config_text(n: int, store_url: str | None) -> str:
    lines = ['[settings]\ncache_ttl = 3600\n[platform]\nname = "Desk"\n[platform.kraken]\n']
    if store_url:
        lines.insert(0, f'[store]\nurl = "{store_url}"\n')
    for i in range(n - 1):
        exchange = "kraken" if i % 2 else "coinbase"
        lines.append(f"[users.u{i:03d}.{exchange}]\n")
    return "".join(lines)


def credentials(n: int) -> dict[str, str]:
    env = {"KRAKEN_PLATFORM_API_KEY": "k-platform", "KRAKEN_PLATFORM_API_SECRET": "s"}
    for i in range(n - 1):
        exchange = "KRAKEN" if i % 2 else "COINBASE"
        env[f"{exchange}_USER_U{i:03d}_API_KEY"] = f"dummy-key-{i}"
        env[f"{exchange}_USER_U{i:03d}_API_SECRET"] = f"dummy-secret-{i}"
    return env


def prefill(path: Path, n: int, store_url: str | None, env: dict[str, str]) -> int:
    """Write the config at `path` and fill its store so every connection is fresh."""
    from nija_balances.config.credentials import resolve
    from nija_balances.config.loader import load_toml
    from nija_balances.domain.models import AssetValue, StoredResult, Valuation
    from nija_balances.engine.planning import account_hash
    from nija_balances.store import open_store

    path.write_text(config_text(n, store_url), encoding="utf-8")
    config = load_toml(path)
    d = Decimal
    usd = AssetValue("USD", d("1200.5"), d(0), d("1200.5"), d(1), d("1200.50"))
    btc = AssetValue("BTC", d("0.25"), d(0), d("0.25"), d(60000), d("15000.00"))
    value = Valuation(d("1200.50"), d("16200.50"), (btc, usd))
    items = {
        c.key: StoredResult(
            c.exchange, value, time.time(), 0.2, account=account_hash(c, resolve(c, env))
        )
        for a in config.accounts
        for c in a.connections
    }
    store = open_store(config.settings)
    store.put_many(config.namespace, items)
    store.close()
    return len(items)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one run: on a shared machine the CPU time is the
    steadier figure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0 or proc.stderr:
        raise RuntimeError(f"{cmd} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def check_cached(cmd: list[str], env: dict[str, str]) -> None:
    import json

    out = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, check=True)
    statuses = {c["status"] for c in json.loads(out.stdout)["connections"]}
    if statuses != {"cached"}:
        raise RuntimeError(f"not warm: {statuses}")


def warm_show(n: int, runs: int, url: str, home: Path) -> dict[str, list[tuple[float, float]]]:
    nija = str(VENV_BIN / "nija")
    base = {k: v for k, v in os.environ.items() if not k.endswith(SECRET_SUFFIXES)}
    env = {**base, **credentials(n), "NIJA_BALANCES_HOME": str(home), "NO_COLOR": "1"}
    env.pop("NIJA_CONFIG", None)
    os.environ["NIJA_BALANCES_HOME"] = str(home)
    commands = {}
    for name, store_url in (("sqlite", None), ("redis", url)):
        cfg = home / f"{name}.toml"
        prefill(cfg, n, store_url, credentials(n))
        check_cached([nija, "show", "--config", str(cfg)], env)
        commands[f"`nija show --json`, {name}"] = [nija, "show", "--json", "--config", str(cfg)]
        commands[f"`nija show` (table), {name}"] = [nija, "show", "--config", str(cfg)]
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for cmd in commands.values():  # warm-up
        timed(cmd, env)
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(timed(cmd, env))
    return times


class Instant:
    """A fake exchange answering at once (the cost left is the engine's and the store's)."""

    def spec(self) -> Any:
        from nija_balances.adapters.interface import AdapterSpec

        return AdapterSpec(name="instant", factory=lambda exchange, settings, markets: self)

    async def fetch_holdings(self, connection: Any, credentials: Any) -> Any:
        from nija_balances.domain.models import AssetAmount, Holdings

        return Holdings(assets=(AssetAmount("USD", Decimal(5), Decimal(0), Decimal(5)),))

    async def fetch_prices(self, currencies: Collection[str], quote: str) -> Mapping[str, Any]:
        return {}

    async def aclose(self) -> None:
        pass


def plan_from_store(n: int, runs: int, url: str, home: Path) -> dict[str, list[float]]:
    """In-process: open the store, plan a warm refresh of N connections from it, close."""
    from nija_balances.config.loader import load_toml
    from nija_balances.engine.planning import plan_refresh
    from nija_balances.store import open_store

    env = credentials(n)
    results: dict[str, list[float]] = {}
    for name in ("sqlite", "redis"):
        config = load_toml(home / f"{name}.toml")
        results[f"open + plan from {name}"] = times = []
        for i in range(runs + 1):
            started = time.perf_counter()
            store = open_store(config.settings)
            plan = plan_refresh(config, store=store, environ=env)
            store.close()
            if plan.jobs:
                raise RuntimeError(f"not warm: {len(plan.jobs)} jobs")
            if i:
                times.append(time.perf_counter() - started)
    return results


def refresh_cost(n: int, runs: int, url: str, home: Path) -> dict[str, list[float]]:
    from nija_balances.config.loader import load_toml
    from nija_balances.domain import budget
    from nija_balances.engine import fetching
    from nija_balances.engine.collect import collect
    from nija_balances.engine.flight import SingleFlight
    from nija_balances.store import open_store

    # Back-to-back refreshes of N accounts are far beyond any exchange's rate: the budget
    # would (rightly) make them wait. Opened wide here, so what is measured is the locks.
    budget.DEFAULT_EXCHANGE_LIMIT = (1e9, 1e9)
    budget.EXCHANGE_LIMITS.clear()
    budget.ACCOUNT_LIMITS.clear()
    env = credentials(n)
    fake = Instant()
    results: dict[str, list[float]] = {}
    for name, store_url in (("sqlite", None), ("redis", url)):
        cfg = home / f"refresh-{name}.toml"
        cfg.write_text(config_text(n, store_url), encoding="utf-8")
        config = load_toml(cfg)
        store = open_store(config.settings)
        original = SingleFlight.for_store
        keys = {True: f"{name}, with single-flight", False: f"{name}, without single-flight"}
        for key in keys.values():
            results[key] = []
        try:
            for i in range(runs + 1):
                for flight in (True, False):  # interleaved: drift in load hits both alike
                    if flight:
                        fetching.SingleFlight.for_store = original  # type: ignore[method-assign]
                    else:
                        fetching.SingleFlight.for_store = staticmethod(lambda *a: None)  # type: ignore[method-assign,assignment]
                    started = time.perf_counter()
                    asyncio.run(collect(config, refresh=True, store=store, environ=env,
                                        adapters=lambda e: fake.spec()))  # fmt: skip
                    if i:  # the first round is a warm-up
                        results[keys[flight]].append(time.perf_counter() - started)
        finally:
            fetching.SingleFlight.for_store = original  # type: ignore[method-assign]
        if store.warnings:
            raise RuntimeError(f"{name}: {store.warnings}")
        store.close()
    return results


def table(times: dict[str, list[float]]) -> list[str]:
    rows = ["| case | median ms | min ms |", "|---|---|---|"]
    for name, values in times.items():
        rows.append(
            f"| {name} | {statistics.median(values) * 1000:.1f} | {min(values) * 1000:.1f} |"
        )
    return rows


def show_table(times: dict[str, list[tuple[float, float]]]) -> list[str]:
    rows = ["| command | median wall ms | min wall ms | median CPU ms |", "|---|---|---|---|"]
    for name, values in times.items():
        wall, cpu = [w for w, _ in values], [c for _, c in values]
        rows.append(
            f"| {name} | {statistics.median(wall) * 1000:.0f} | {min(wall) * 1000:.0f} "
            f"| {statistics.median(cpu) * 1000:.0f} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--connections", type=int, default=300)
    args = parser.parse_args(argv)
    from redisserver import redis_server

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "redis").mkdir()
        with redis_server(home / "redis") as server:
            show = warm_show(args.connections, args.runs, server.url, home)
            plan = plan_from_store(args.connections, args.runs, server.url, home)
            cost = refresh_cost(args.connections, args.runs, server.url, home)
    load = os.getloadavg()[0]
    n = args.connections
    print(f"warm `nija show`, {n} connections all cached, {args.runs} runs each, interleaved:\n")
    print(f"(load average {load:.1f} on {os.cpu_count()} cores)\n")
    print("\n".join(show_table(show)))
    print(f"\nin-process, the store's part of it ({args.runs} runs):\n")
    print("\n".join(table(plan)))
    print(f"\nrefresh of {n} connections, instant fake exchange, {args.runs} runs each:\n")
    print("\n".join(table(cost)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
