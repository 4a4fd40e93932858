"""`nija pnl --json` over a store of N connections after a simulated year of history.

    .venv/bin/python benchmarks/pnl_fleet.py [--connections 1000] [--fills 50] [--runs 5]
                                             [--dir DIR] [--profile] [--sync N]

1. A config of N users, one Kraken connection each (keys in the environment), and its store
   (`NIJA_BALANCES_HOME`): each connection gets what a year of 5-minute snapshots leaves
   under the retention (`snapshots_to_keep`: every one for 48 h, hourly to 90 days, daily
   after; 2,964 snapshots of 3 assets, the same as `sync_store.py`), ending now, plus
   `--fills` fills (BTC/USD, half buys, half sells, spread over the year) and 2 USD flows
   (a deposit and a withdrawal with a fee), with both kinds' sync states complete. All is
   written through the real store (`put_snapshots`, `put_history_page`, `set_sync_state`)
   under the namespace and account hashes `nija` itself computes for that config.
2. `python -m nija_balances pnl --json` as a subprocess, `--runs` times (the first apart:
   it reads the file cold from the page cache's point of view); wall time of each process.
   `--profile` also runs it once under cProfile and prints where the time goes.
   The first run replays every connection and keeps the replays (the store's replay cache);
   later runs read no fills while those hold.
3. `--sync N` then stores one new fill for N connections (as `nija sync` would; the store
   changes for good) and times `pnl --json` twice more: only those N replay.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sync_store import snapshot  # noqa: E402

from nija_balances.domain.history import Fill, Flow, SyncState, snapshots_to_keep  # noqa: E402

STEP = timedelta(minutes=5)
SECRET = base64.b64encode(b"s" * 64).decode()


def write_config(directory: Path, n: int) -> dict[str, str]:
    """The config file and the environment that runs `nija` on it."""
    lines = ["[settings]", "timeout = 5", ""]
    env = {
        **os.environ,
        "NIJA_BALANCES_HOME": str(directory),
        "NIJA_CONFIG": str(directory / "config.toml"),
        "PYTHONPATH": str(ROOT / "src"),
    }
    for i in range(n):
        lines += [f"[users.u{i:04d}.kraken]", ""]
        env[f"KRAKEN_USER_U{i:04d}_API_KEY"] = f"kraken-bench-{i:04d}"
        env[f"KRAKEN_USER_U{i:04d}_API_SECRET"] = SECRET
    # as installed (pip compiles the bytecode): with this set, as it is on this machine, every
    # module changed since its .pyc was written would be compiled again on every run
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    path = directory / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    path.chmod(0o600)
    return env


def fills_of(c: int, count: int, start: datetime) -> list[Fill]:
    gap = timedelta(days=360) / max(count, 1)
    amount = Decimal("0.00123456")
    out = []
    for j in range(count):
        price = Decimal("60123.45") + (j * 37 + c) % 1000
        out.append(Fill(f"{c}-{j}", f"o{c}-{j // 2}", start + (j + 1) * gap, "BTC/USD",
                        "buy" if j % 2 == 0 else "sell", amount, price, amount * price,
                        Decimal("0.19"), None))  # fmt: skip
    return out


def build(directory: Path, n: int, fills: int) -> tuple[dict[str, str], dict[str, float]]:
    """The config and its store; returns the environment and the write timings."""
    env = write_config(directory, n)
    os.environ.update(NIJA_BALANCES_HOME=env["NIJA_BALANCES_HOME"], NIJA_CONFIG=env["NIJA_CONFIG"])
    from nija_balances import paths
    from nija_balances.app import Session
    from nija_balances.engine.history import account_hashes
    from nija_balances.store.sqlite import SqliteStore

    session = Session.open(Path(env["NIJA_CONFIG"]))
    config = session.config
    session.close()
    conns = [c for u in config.users for c in u.connections]
    owners = account_hashes(config, conns, env)
    ns = config.namespace
    end = datetime.fromtimestamp(time.time() // 300 * 300, UTC)
    start = end - timedelta(days=365)
    every = [start + i * STEP for i in range(int((end - start) / STEP) + 1)]
    kept = sorted(snapshots_to_keep(every, end))
    paths.cache_dir().mkdir(parents=True, exist_ok=True)
    store = SqliteStore(paths.cache_dir() / "balances.sqlite3", clock=lambda: end.timestamp())
    timings: dict[str, float] = {}
    began = time.perf_counter()
    for i, conn in enumerate(conns):
        items = [(conn.key, owners[conn.key], snapshot(t, i)) for t in kept]
        store.put_snapshots(ns, items)
    timings["snapshots"] = time.perf_counter() - began
    began = time.perf_counter()
    for i, conn in enumerate(conns):
        key, account = conn.key, owners[conn.key]
        page = fills_of(i, fills, start)
        flows = [
            Flow(f"d{i}", "deposit", start + timedelta(days=30), "USD", Decimal("500")),
            Flow(f"w{i}", "withdrawal", start + timedelta(days=200), "USD", Decimal("200"),
                 Decimal("1.5")),
        ]  # fmt: skip
        store.put_history_page(ns, key, account, "trades", fills=page, cursor=str(fills))
        store.put_history_page(ns, key, account, "flows", flows=flows, cursor="2")
        for kind, cursor in (("trades", str(fills)), ("flows", "2")):
            done = SyncState(cursor=cursor, finished_at=end, complete=True)
            store.set_sync_state(ns, key, account, kind, done)
    timings["fills, flows, sync states"] = time.perf_counter() - began
    assert not store.warnings, store.warnings
    store.close()
    print(f"{n:,} connections: {len(kept):,} snapshots each ({len(kept) * n:,}), "
          f"{fills} fills and 2 flows each; newest snapshot {end.isoformat()}")  # fmt: skip
    return env, timings


def sync_some(env: dict[str, str], count: int) -> None:
    """What a `nija sync` that brings one new fill to `count` connections stores: a buy an
    hour before the newest snapshot (inside the tracked span), through the real store."""
    os.environ.update(NIJA_BALANCES_HOME=env["NIJA_BALANCES_HOME"], NIJA_CONFIG=env["NIJA_CONFIG"])
    from nija_balances.app import Session
    from nija_balances.engine.history import account_hashes

    session = Session.open(Path(env["NIJA_CONFIG"]))
    config, store = session.config, session.store
    conns = [c for u in config.users for c in u.connections][:count]
    owners = account_hashes(config, conns, env)
    last = store.last_snapshots(config.namespace, [c.key for c in conns], accounts=owners)
    stamp = int(time.time() * 1000)
    for i, conn in enumerate(conns):
        when = last[conn.key].time - timedelta(hours=1)
        amount, price = Decimal("0.001"), Decimal("61000")
        fill = Fill(f"sync-{stamp}-{i}", f"sync-{stamp}-{i}", when, "BTC/USD", "buy", amount,
                    price, amount * price, Decimal("0.1"), None)  # fmt: skip
        key, account = conn.key, owners[conn.key]
        store.put_history_page(config.namespace, key, account, "trades", fills=[fill], cursor="x")
    assert not store.warnings, store.warnings
    session.close()


def pnl(env: dict[str, str], *extra: str) -> tuple[float, float, str]:
    """One `nija pnl --json` process: its wall time, its CPU time (user + system), stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    cmd = [sys.executable, *extra, "-m", "nija_balances", "pnl", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"nija pnl -> {proc.returncode}\n{proc.stderr[-3000:]}")
    return elapsed, cpu, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--fills", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, help="build here, or reuse a store built here")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--sync",
        type=int,
        default=0,
        metavar="N",
        help="then store one new fill for N connections (changes the store!) and time pnl again",
    )
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the nija_balances to run")
    args = parser.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="nija-pnl-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    if (directory / "config.toml").exists():
        env = write_config(directory, args.connections)
        print("reusing the store in", directory)
    else:
        env, timings = build(directory, args.connections, args.fills)
        for name, seconds in timings.items():
            print(f"  wrote {name}: {seconds:.1f} s")
    env["PYTHONPATH"] = str(args.src)
    db = directory / "cache" / "balances.sqlite3"
    found = list(directory.rglob("balances.sqlite3*"))
    size = sum(f.stat().st_size for f in found)
    print(f"store: {size / 1e6:,.1f} MB ({size / args.connections / 1e3:,.1f} KB a connection)"
          f" in {', '.join(str(f.relative_to(directory)) for f in found) or db}")  # fmt: skip
    walls, cpus = [], []
    for run in range(args.runs + 1):
        wall, cpu, out = pnl(env)
        doc = json.loads(out)
        users = doc["users"]
        complete = sum(1 for u in users.values() if u["complete"])
        label = "first" if run == 0 else f"#{run}"
        print(f"  pnl --json {label}: {wall:.3f} s, CPU {cpu:.3f} s ({len(users):,} users, "
              f"{complete:,} complete, {len(out) / 1e3:,.0f} kB; "
              f"load avg {os.getloadavg()[0]:.2f})")  # fmt: skip
        if run:
            walls.append(wall)
            cpus.append(cpu)
    print(
        f"median of {args.runs}: {statistics.median(walls):.3f} s, CPU "
        f"{statistics.median(cpus):.3f} s; wall "
        f"[{min(walls):.3f}-{max(walls):.3f}]; load average after: {os.getloadavg()[0]:.2f}"
    )
    if args.sync:
        sync_some(env, args.sync)
        for label in (f"after a sync of {args.sync} connections", "the run after it"):
            wall, cpu, _ = pnl(env)
            print(f"  pnl --json {label}: {wall:.3f} s, CPU {cpu:.3f} s")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import nija_balances.cli.root"], env=env, check=True)
    took = time.perf_counter() - start
    print(f"for scale: `python -c 'import nija_balances.cli.root'` {took:.3f} s")
    if args.profile:
        # `python -m nija_balances` ends with os._exit (no teardown), before cProfile could
        # write its file: the profiled run calls `main()` from a script instead
        prof, script = directory / "pnl.prof", directory / "profiled_pnl.py"
        script.write_text(
            "import sys\nfrom nija_balances.cli import main\n"
            "sys.argv = ['nija', 'pnl', '--json']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
        )
        cmd = [sys.executable, "-m", "cProfile", "-o", str(prof), str(script)]
        subprocess.run(cmd, capture_output=True, env=env, check=True, timeout=600)
        import pstats

        pstats.Stats(str(prof)).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
