"""Incremental `nija sync` of N Kraken connections with nothing new, against a balance refresh.

    .venv/bin/python benchmarks/sync_incremental.py [--n 300] [--latency 0.2] [--repeat 3]

The Kraken mock (tests/mockex) runs in a process of its own with `latency` seconds injected
on every request, N accounts each holding a few fills and flows, and counts every request by
API key and path. The client is the real CLI, `python -m nija_balances`, as a subprocess
over a config of N users with one Kraken connection each (keys in the environment), on a
store of its own (`NIJA_BALANCES_HOME`):

1. `nija show --refresh` (markets, first snapshots) and a first `nija sync` (everything).
2. Then, `--repeat` times: `nija show --refresh` (the balance refresh) and `nija sync`
   (nothing new), each timed as a whole process, with the private requests each made per
   connection and kind counted by the mock (`BalanceEx`; `TradesHistory` for trades,
   `Ledgers` for flows). Every sync must report `complete` for every connection.

Target (issue 12): at most one private request per connection per kind, and the sync's wall
time within 2x of the refresh's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_760_000_000_000  # fills and flows, long before the first snapshot
KIND = {
    "/0/private/BalanceEx": "balance",
    "/0/private/TradesHistory": "trades",
    "/0/private/Ledgers": "flows",
}


def _serve(n: int, latency: float, pipe: Connection) -> None:
    """The mock's process: N accounts; answers `counts`, `reset` and `stop`."""
    sys.path.insert(0, str(ROOT / "tests"))

    async def main() -> None:
        from mockex import KrakenMock, MockFlow, MockTrade
        from mockex.harness import add_account

        mock = KrakenMock(prices={"BTC/USD": "60000", "ETH/USD": "3000"})
        by_key: Counter[tuple[str, str]] = Counter()
        original = mock._dispatch

        async def counted(request: Any) -> Any:
            by_key[(mock.request_key(request) or "", request.path)] += 1
            return await original(request)

        mock._dispatch = counted  # type: ignore[method-assign]
        async with mock:
            if latency > 0:
                mock.inject("latency", seconds=latency)
            creds = []
            for i in range(n):
                trades = [
                    MockTrade(f"T{i:04d}{j}-BENCH-TRADE", f"O{i:04d}{j // 2}", T0 + j * 60_000,
                              "BTC/USD", "buy" if j % 2 == 0 else "sell", "0.01", "60000", "0.5")
                    for j in range(5)
                ]  # fmt: skip
                flows = [
                    MockFlow(f"D{i:04d}", "deposit", "USD", "1000", T0 - 86_400_000),
                    MockFlow(f"W{i:04d}", "withdrawal", "USD", "100", T0 + 3_600_000, fee="1"),
                ]
                balances = {"USD": ("1000.5", "0"), "BTC": ("0.01", "0"), "ETH": ("0.5", "0")}
                c = add_account(mock, balances, trades=trades, flows=flows)
                creds.append((c.api_key, c.api_secret))
            pipe.send((mock.ccxt_overrides(), creds))
            loop = asyncio.get_running_loop()
            while True:
                command = await loop.run_in_executor(None, pipe.recv)
                if command == "counts":
                    pipe.send([(k, p, v) for (k, p), v in by_key.items()])
                elif command == "reset":
                    by_key.clear()
                    mock.requests.clear()
                    pipe.send(None)
                elif command == "stop":
                    return

    asyncio.run(main())


def write_config(
    path: Path, overrides: dict[str, Any], creds: list[tuple[str, str]]
) -> dict[str, str]:
    """A config of one user per account; returns the environment holding their keys."""
    import tomli_w

    users: dict[str, Any] = {}
    env: dict[str, str] = {}
    for i, (key, secret) in enumerate(creds):
        users[f"u{i:04d}"] = {"kraken": {"ccxt": overrides}}
        env[f"KRAKEN_USER_U{i:04d}_API_KEY"] = key
        env[f"KRAKEN_USER_U{i:04d}_API_SECRET"] = secret
    doc = {"settings": {"timeout": 30, "max_in_flight": 64}, "users": users}
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    path.chmod(0o600)
    return env


def loadavg() -> float:
    return os.getloadavg()[0]


def run(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "nija_balances", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"nija {' '.join(args)} -> {proc.returncode}\n{proc.stderr[-3000:]}")
    return elapsed, proc


def per_connection(pipe: Connection, keys: set[str]) -> dict[str, Counter[int]]:
    """Per kind: how many connections made 0, 1, 2... private requests of that kind."""
    pipe.send("counts")
    seen: dict[str, Counter[str]] = {kind: Counter() for kind in KIND.values()}
    other: Counter[str] = Counter()
    for key, path, count in pipe.recv():
        if key in keys:
            kind = KIND.get(path)
            if kind is None:
                other[path] += count
            else:
                seen[kind][key] += count
    spread = {kind: Counter(counts[k] for k in keys) for kind, counts in seen.items()}
    if other:
        spread["other private"] = Counter({sum(other.values()): 1})
    return spread


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    pipe, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(args.n, args.latency, child), daemon=True)
    server.start()
    try:
        if not pipe.poll(120):
            raise RuntimeError("the mock did not start within 120 s")
        overrides, creds = pipe.recv()
        keys = {k for k, _ in creds}
        with tempfile.TemporaryDirectory(prefix="nija-sync-bench-") as tmp:
            config = Path(tmp) / "config.toml"
            env = {
                **os.environ,
                **write_config(config, overrides, creds),
                "NIJA_BALANCES_HOME": tmp,
                "NIJA_CONFIG": str(config),
                "PYTHONPATH": str(ROOT / "src"),
            }
            print(f"load average before: {loadavg():.2f}", flush=True)
            first_show, _ = run(["show", "--refresh"], env)
            first_sync, proc = run(["sync", "--json"], env)
            doc = json.loads(proc.stdout)
            stored = sum(c["new_fills"] + c["new_flows"] for c in doc["connections"])
            print(f"first show --refresh {first_show:.2f} s; first sync {first_sync:.2f} s "
                  f"({stored:,} fills and flows stored)", flush=True)  # fmt: skip
            rows: dict[str, list[float]] = {"refresh": [], "sync": []}
            for i in range(args.repeat):
                for name, command in (
                    ("refresh", ["show", "--refresh"]),
                    ("sync", ["sync", "--json"]),
                ):
                    pipe.send("reset")
                    pipe.recv()
                    load = loadavg()
                    wall, proc = run(command, env)
                    rows[name].append(wall)
                    spread = per_connection(pipe, keys)
                    if name == "sync":
                        doc = json.loads(proc.stdout)
                        statuses = Counter(c["status"] for c in doc["connections"])
                        new = sum(c["new_fills"] + c["new_flows"] for c in doc["connections"])
                        extra = f"statuses {dict(statuses)}, {new} new"
                    else:
                        extra = ""
                    shown = {k: dict(sorted(v.items())) for k, v in spread.items() if v}
                    print(f"#{i + 1} {name}: {wall:.2f} s (load avg {load:.2f}); connections "
                          f"by private requests per kind {shown} {extra}", flush=True)  # fmt: skip
            refresh, sync = (statistics.median(rows[k]) for k in ("refresh", "sync"))
            print(f"median: refresh {refresh:.2f} s, sync {sync:.2f} s, ratio {sync / refresh:.2f}"
                  f"; load average after: {loadavg():.2f}")  # fmt: skip
    finally:
        pipe.send("stop")
        server.join(10)
        if server.is_alive():
            server.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
