"""Benchmark: the cold first `nija show` and `watch`'s refresh, this tree against another.

    .venv/bin/python benchmarks/cli_runs.py [--n 10 300] [--runs 7] [--latency 0.2]
        [--other /work/wt-before] [--loop 3] [--pause 5] [--json raw.json]

Issue 16 asks that nothing be slower than before anywhere else. This times, as a user runs
it, the real console script of each checkout (`CHECKOUT/.venv/bin/nija`, its own venv and
code) as a subprocess, wall time of the whole process:

- **cold**: `nija show --config CONFIG` on a brand-new empty `NIJA_BALANCES_HOME` (no
  markets, no balances on disk): every connection's markets and balances are fetched;
- **refresh**: `nija show --refresh --config CONFIG` on a home that already holds markets
  and balances: the fetch path `nija watch` runs at each refresh (`collect(refresh=True)`
  with markets on disk), here with a process start and a drawing of the table to a pipe;
- **watch loop** (in process): what `nija watch` does between two paints, without Rich's
  live screen: one long-lived process, one event loop, the first (cached) paint, then
  `--loop` forced refreshes (`collect(refresh=True)`) `--pause` s apart (watch's
  `--interval`) through each tree's own API; the figure is the median of those refreshes.

This tree shares a per-host rate budget per exchange between refreshes and processes
(`domain/budget.py`): Binance 5 account reads a second after a burst of 300 (its 6,000
request weight a minute per IP, 20 a read). Each row has a home (store) of its own, so one
row never spends another's budget; `--pause 0 --loop 7` shows back-to-back refreshes
running into it at N=300 (60 Binance keys), which the older tree never waits for (the mock
does not enforce Binance's limit; the real exchange answers 429, then bans the IP).

The five mock exchanges of tests/mockex run in a process of their own (mock_process.py) on
127.0.0.1 with `--latency` s on every request; N connections, one user each, round-robin
over Kraken, Coinbase, Binance, OKX and Alpaca, each pointed at its mock by the
connection's `ccxt = { urls = { api = ... } }` table, keys in the environment. Nothing here
touches the network. Every run must show every connection `ok` (parsed from the table, or
the in-process portfolio) and the mocks must see no unexpected request, or it stops.

Both trees run from compiled bytecode, as an installed tool does: PYTHONDONTWRITEBYTECODE is
dropped from the children's environment and each command runs twice before any is timed.
Runs are interleaved (every command of both trees, then again), after waiting for a quiet
machine; medians, minima and the ratio this/other per row.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mock_process import EXCHANGES, MockProcess  # noqa: E402
from refresh import cpu_times, other_load, wait_for_quiet  # noqa: E402

ROOT = HERE.parent
SECRET_SUFFIXES = ("_API_KEY", "_API_SECRET", "_API_PASSPHRASE")
KINDS = ("cold", "refresh", "watch loop")

#: Run by each checkout's own interpreter: what `nija watch` does between paints, without
#: the live screen. argv: config path, forced refreshes. Prints one RESULT line.
WATCH_CHILD = r"""
import asyncio, json, sys, time
from collections import Counter
from pathlib import Path

path, loops, pause = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
try:  # this tree: the Session that `watch` opens
    from nija_balances.app import Session
except ImportError:  # the older tree: config, BalanceStore and service.collect
    from nija_balances.cache import BalanceStore
    from nija_balances.config import load_config
    from nija_balances.service import collect

    config, store = load_config(path, demo=False), BalanceStore.default()

    def fetch(refresh):
        return collect(config, store=store, refresh=refresh)
else:
    session = Session.open(path)
    store = session.store

    def fetch(refresh):
        return session.collect_async(refresh=refresh)


async def main():
    await fetch(False)  # the first paint, from the store
    walls, statuses = [], Counter()
    for i in range(loops):
        if i:
            await asyncio.sleep(pause)  # `nija watch --interval`: the screen waits, no fetch
        started = time.perf_counter()
        portfolio = await fetch(True)
        walls.append(time.perf_counter() - started)
        accounts = (portfolio.platform, *portfolio.users)
        statuses = Counter(c.status.value for a in accounts for c in a.connections)
    return walls, statuses


walls, statuses = asyncio.run(main())
store.close()
print("RESULT " + json.dumps({"walls": walls, "statuses": dict(statuses)}), flush=True)
"""


def write_config(
    path: Path, conns: list[dict[str, Any]], overrides: dict[str, Any]
) -> dict[str, str]:
    """A config of one user per connection, each pointed at its mock; returns the
    environment holding their keys. The same TOML is valid for both trees."""
    import tomli_w

    users: dict[str, Any] = {}
    env: dict[str, str] = {}
    for c in conns:
        exchange, uid = c["exchange"], c["user"]
        users[uid] = {exchange: {"ccxt": overrides[exchange]}}
        prefix = f"{exchange.upper()}_USER_{uid.upper()}_"
        env[prefix + "API_KEY"] = c["key"]
        env[prefix + "API_SECRET"] = c["secret"]
        if c["passphrase"]:
            env[prefix + "API_PASSPHRASE"] = c["passphrase"]
    doc = {"settings": {"timeout": 60}, "users": users}  # each tree's own max_in_flight
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    path.chmod(0o600)
    return env


def base_environment() -> dict[str, str]:
    """Ours without keys, NIJA_CONFIG or PYTHONDONTWRITEBYTECODE (so both trees run from
    bytecode, as installed), plain output 100 columns wide."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(SECRET_SUFFIXES)}
    for name in ("NIJA_CONFIG", "PYTHONDONTWRITEBYTECODE", "NIJA_BALANCES_HOME", "PYTHONPATH"):
        env.pop(name, None)
    return {**env, "COLUMNS": "100", "NO_COLOR": "1"}


ROW = re.compile(r"^\s+\S+\s+(?:" + "|".join(e.upper() for e in EXCHANGES) + r")\s+[a-z]+\s")


def table_statuses(text: str, n: int) -> Counter[str]:
    """The status of each connection row of the piped table (its last word: `ok`...), and
    `?` unless its summary says `Connections: n of n counted` (both trees print both)."""
    found = Counter(line.split()[-1] for line in text.splitlines() if ROW.match(line))
    if not re.search(rf"Connections:\s+{n} of {n} counted", text):
        found["?"] += 1
    return found


class Runner:
    """Times one kind of run of one tree against the mocks, checking each one."""

    def __init__(
        self, mocks: MockProcess, n: int, config: Path, env: dict[str, str], work: Path
    ) -> None:
        self.mocks, self.n, self.config, self.env, self.work = mocks, n, config, env, work
        self.loops, self.pause = 3, 5.0
        self.fresh = 0

    def kept_home(self, name: str, kind: str) -> Path:
        """The home of `name`'s `kind` runs: markets and balances kept from run to run. One
        per kind, so that one row's requests never spend another's shared rate budget."""
        home = self.work / f"home-{name}-{kind.replace(' ', '-')}"
        home.mkdir(exist_ok=True)
        return home

    def home(self, name: str, kind: str) -> Path:
        """A brand-new empty home for a cold run, else the kept one."""
        if kind != "cold":
            return self.kept_home(name, kind)
        self.fresh += 1
        home = self.work / f"cold-{name}-{self.fresh}"
        home.mkdir()
        return home

    def run(self, tree: Path, kind: str, home: Path) -> dict[str, Any]:
        env = {**self.env, "NIJA_BALANCES_HOME": str(home)}
        if kind == "watch loop":
            python = tree / ".venv" / "bin" / "python"
            loop = [str(self.loops), str(self.pause)]
            cmd = [str(python), "-c", WATCH_CHILD, str(self.config), *loop]
        else:
            nija = tree / ".venv" / "bin" / "nija"
            flags = ["--refresh"] if kind == "refresh" else []
            cmd = [str(nija), "show", *flags, "--config", str(self.config)]
        self.mocks.reset()
        before = cpu_times(self.mocks.pid)
        started = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
        wall = process = time.perf_counter() - started
        load = other_load(before, cpu_times(self.mocks.pid)) / process
        counts = self.mocks.counts()
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[:3]} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        if kind == "watch loop":
            line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
            result = json.loads(line.removeprefix("RESULT "))
            statuses = Counter(result["statuses"])
            wall, walls = statistics.median(result["walls"]), result["walls"]
        else:
            statuses, walls = table_statuses(proc.stdout, self.n), []
        if statuses != Counter({"ok": self.n}):
            raise RuntimeError(f"{tree} {kind}: not every connection ok: {dict(statuses)}\n"
                               f"{proc.stderr[-2000:]}")  # fmt: skip
        unexpected = {ex: c["unexpected"] for ex, c in counts.items() if c["unexpected"]}
        if unexpected:
            raise RuntimeError(f"{tree} {kind}: unexpected requests {unexpected}")
        if kind == "cold" and home.name.startswith("cold-"):
            shutil.rmtree(home)
        per = self.loops if kind == "watch loop" else 1  # requests per refresh
        kinds = ("markets", "ticker", "private")
        per_kind = {k: sum(c[k] for c in counts.values()) / per for k in kinds}
        figures = {"wall": wall, "process": process, "other_load": load, **per_kind}
        return {**figures, "walls": walls} if kind == "watch loop" else figures


def measure(args: argparse.Namespace) -> dict[tuple[int, str, str], list[dict[str, Any]]]:
    trees = {"this": ROOT, "other": args.other.resolve()}
    for tree in trees.values():
        if not (tree / ".venv" / "bin" / "nija").exists():
            raise SystemExit(f"{tree}/.venv/bin/nija not found: install that checkout first")
    results: dict[tuple[int, str, str], list[dict[str, Any]]] = {}
    with MockProcess(args.latency) as mocks, tempfile.TemporaryDirectory() as tmp:
        for n in args.n:
            work = Path(tmp) / f"n{n}"
            work.mkdir()
            conns = mocks.setup(n)
            config = work / "config.toml"
            env = {**base_environment(), **write_config(config, conns, mocks.overrides)}
            runner = Runner(mocks, n, config, env, work)
            runner.loops, runner.pause = args.loop, args.pause
            for name, tree in trees.items():  # the kept homes: markets and balances on disk
                for kind in KINDS[1:]:
                    runner.run(tree, "cold", runner.kept_home(name, kind))
            for _ in range(2):  # warm-up: page cache, bytecode of both trees
                for name, tree in trees.items():
                    for kind in KINDS:
                        runner.run(tree, kind, runner.home(name, kind))
            for i in range(args.runs):  # interleaved, so drift hits every row alike
                quiet = wait_for_quiet(mocks.pid, args.idle_wait)
                order = list(trees.items())[:: 1 if i % 2 == 0 else -1]  # who goes first
                for kind in KINDS:
                    for name, tree in order:
                        r = runner.run(tree, kind, runner.home(name, kind))
                        r["quiet_before"] = quiet
                        results.setdefault((n, kind, name), []).append(r)
                        print(
                            f"N={n} #{i + 1} {kind} {name}: {r['wall']:.3f} s "
                            f"(markets {r['markets']:g}, ticker {r['ticker']:g}, private "
                            f"{r['private']:g}; other load {r['other_load']:.2f})",
                            file=sys.stderr,
                            flush=True,
                        )
    return results


def report(
    args: argparse.Namespace, results: dict[tuple[int, str, str], list[dict[str, Any]]]
) -> str:
    out = [
        f"{args.runs} interleaved runs per row after 2 warm-up runs; {args.latency * 1000:.0f} ms "
        f"on every mock request; other = `{args.other}`; watch loop = median of {args.loop} "
        f"forced refreshes {args.pause:g} s apart per run. Every run: every connection `ok`.",
        "",
        "| N | run | this median s (min) | other median s (min) | this / other "
        "| requests this: markets/ticker/private | other | other load (cores, max) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in args.n:
        for kind in KINDS:
            this, other = results[(n, kind, "this")], results[(n, kind, "other")]

            def cell(rs: list[dict[str, Any]]) -> str:
                walls = [r["wall"] for r in rs]
                return f"{statistics.median(walls):.3f} ({min(walls):.3f})"

            def reqs(rs: list[dict[str, Any]]) -> str:
                kinds = ("markets", "ticker", "private")
                return "/".join(f"{max(r[k] for r in rs):g}" for k in kinds)

            ratio = statistics.median(r["wall"] for r in this) / statistics.median(
                r["wall"] for r in other
            )
            load = max(r["other_load"] for r in this + other)
            out.append(
                f"| {n} | {kind} | {cell(this)} | {cell(other)} | {ratio:.2f}x "
                f"| {reqs(this)} | {reqs(other)} | {load:.2f} |"
            )
    for n in args.n:
        first = {
            name: statistics.median(r["walls"][0] for r in results[(n, "watch loop", name)])
            for name in ("this", "other")
        }
        out.append(
            f"\nN={n}, watch loop, the first forced refresh alone (ccxt imported, exchange "
            f"objects built): this {first['this']:.3f} s, other {first['other']:.3f} s "
            f"({first['this'] / first['other']:.2f}x)."
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 300])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--loop", type=int, default=3, help="forced refreshes per watch loop")
    parser.add_argument(
        "--pause",
        type=float,
        default=5.0,
        help="seconds between the watch loop's refreshes (`nija watch --interval`; 5 is its "
        "shortest); 0: back to back, which spends this tree's Binance rate budget (5 a "
        "second after a burst of 300) from N=300 on",
    )
    parser.add_argument(
        "--other",
        type=Path,
        default=Path("/work/wt-before"),
        help="the other checkout (its own .venv with `nija` installed)",
    )
    parser.add_argument("--idle-wait", type=float, default=60.0, help="see refresh.py")
    parser.add_argument("--json", type=Path, help="also write every raw figure here")
    args = parser.parse_args(argv)
    results = measure(args)
    if args.json:
        raw = {f"{n} {kind} {name}": rs for (n, kind, name), rs in results.items()}
        args.json.write_text(json.dumps(raw, indent=1))
    print(report(args, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
