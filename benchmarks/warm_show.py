"""Benchmark: a warm `nija show` (every connection served from the cache) against bare imports.

    .venv/bin/python benchmarks/warm_show.py [--runs 20] [--json] [--top 15]

A config with real-exchange connections (Kraken and Coinbase, dummy credentials in the
environment) is written to a temporary NIJA_BALANCES_HOME, and the store there is filled so
that every connection is `cached`. Then, interleaved, each command is run `--runs` times
(after two warm-up runs each) with subprocess and `time.perf_counter`:

- `nija show --config CONFIG` (the console script, as a user runs it);
- `python -c "import typer, rich"` (the floor any Typer + Rich CLI pays);
- `python -c pass` (the interpreter's own start-up, for the breakdown).

It reports median and min, the ratio to `import typer, rich`, and the top contributors of
`python -X importtime` for the warm show. Nothing here touches the network.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from refresh import cpu_times, other_load, wait_for_quiet

VENV_BIN = Path(sys.executable).parent
SECRET_SUFFIXES = ("_API_KEY", "_API_SECRET", "_API_PASSPHRASE")
CONFIG = """\
[platform]
name = "Nija System"
[platform.kraken]
[platform.coinbase]
[users.alice.kraken]
[users.alice.coinbase]
[users.bob.kraken]
[users.carol.coinbase]
[users.dave.kraken]
"""


def credentials() -> dict[str, str]:
    """Dummy keys, a different one per connection (a shared key would be one account)."""
    env = {}
    for prefix in (
        "KRAKEN_PLATFORM",
        "COINBASE_PLATFORM",
        "KRAKEN_USER_ALICE",
        "COINBASE_USER_ALICE",
        "KRAKEN_USER_BOB",
        "COINBASE_USER_CAROL",
        "KRAKEN_USER_DAVE",
    ):
        env[f"{prefix}_API_KEY"] = f"dummy-key-{prefix.lower()}"
        env[f"{prefix}_API_SECRET"] = f"dummy-secret-{prefix.lower()}"
    return env


def prefill(home: Path) -> Path:
    """Write the config and a store in which every connection is fresh; return the config."""
    os.environ["NIJA_BALANCES_HOME"] = str(home)
    from nija_balances.config.credentials import resolve
    from nija_balances.config.loader import load_toml
    from nija_balances.domain.models import AssetValue, StoredResult, Valuation
    from nija_balances.engine.planning import account_hash
    from nija_balances.store.sqlite import SqliteStore

    path = home / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    config = load_toml(path)
    d = Decimal
    usd = AssetValue("USD", d("1200.5"), d(0), d("1200.5"), d(1), d("1200.50"))
    btc = AssetValue("BTC", d("0.25"), d(0), d("0.25"), d(60000), d("15000.00"))
    value = Valuation(d("1200.50"), d("16200.50"), (btc, usd))
    fresh = time.time()  # the runs take ~10 s: well within cache_ttl (120 s)
    items = {
        c.key: StoredResult(
            c.exchange, value, fresh, 0.2, account=account_hash(c, resolve(c, credentials()))
        )
        for a in config.accounts
        for c in a.connections
    }
    with SqliteStore() as store:
        store.put_many(config.namespace, items)
    return path


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return elapsed


def check_all_cached(show: list[str], env: dict[str, str]) -> int:
    import json

    out = subprocess.run([*show, "--json"], env=env, capture_output=True, text=True, check=True)
    statuses = {c["status"] for c in json.loads(out.stdout)["connections"]}
    if statuses != {"cached"}:
        raise RuntimeError(f"the warm show is not warm: statuses {statuses}")
    return len(json.loads(out.stdout)["connections"])


def import_rows(cmd: list[str], env: dict[str, str]) -> list[tuple[int, int, str]]:
    """(self us, cumulative us, module) of every import `cmd` makes, from `-X importtime`."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", *cmd], env=env, capture_output=True, text=True
    ).stderr
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative, name = (p.strip() for p in line[len("import time:") :].split("|"))
        rows.append((int(self_us), int(cumulative), name))
    return rows


def import_only(modules: list[str]) -> list[str]:
    """A command importing `modules` (in order) and doing nothing else."""
    lines = ["import importlib", f"for m in {modules!r}:", "    try:"]
    lines += ["        importlib.import_module(m)", "    except Exception:", "        pass"]
    return [sys.executable, "-c", "\n".join(lines)]


def importtime(show: list[str], env: dict[str, str], top: int) -> list[str]:
    """`python -X importtime` of the warm show: top modules by self time, packages by total."""
    rows = import_rows(show, env)
    floor = {name for _, _, name in import_rows(["-c", "import typer, rich"], env)}
    extra = sum(r[0] for r in rows if r[2] not in floor)
    total_us = sum(r[0] for r in rows)
    by_package: dict[str, int] = {}
    for self_us, _, name in rows:
        package = name.strip().split(".")[0]
        by_package[package] = by_package.get(package, 0) + self_us
    out = [
        f"all imports: {total_us / 1000:.1f} ms (sum of self times, {len(rows)} modules; "
        f"importtime itself inflates them), of which {extra / 1000:.1f} ms in modules that "
        "`import typer, rich` does not import"
    ]
    out += ["", "| package (all its modules) | self ms |", "|---|---|"]
    for package, us in sorted(by_package.items(), key=lambda kv: -kv[1])[:top]:
        out.append(f"| {package} | {us / 1000:.1f} |")
    out += ["", "| module | self ms | cumulative ms |", "|---|---|---|"]
    for self_us, cumulative, name in sorted(rows, key=lambda r: -r[0])[:top]:
        out.append(f"| {name.strip()} | {self_us / 1000:.1f} | {cumulative / 1000:.1f} |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="time `nija show --json` instead")
    parser.add_argument("--idle-wait", type=float, default=60.0, help="see refresh.py")
    args = parser.parse_args(argv)
    nija = VENV_BIN / "nija"
    if not nija.exists():
        raise SystemExit(f"{nija} not found: install the project into this venv first")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        config = prefill(home)
        env = {
            **{k: v for k, v in os.environ.items() if not k.endswith(SECRET_SUFFIXES)},
            **credentials(),
            "NIJA_BALANCES_HOME": str(home),
            "NO_COLOR": "1",
            "COLUMNS": "100",
        }
        env.pop("NIJA_CONFIG", None)
        show = [str(nija), "show", "--config", str(config), *(["--json"] if args.json else [])]
        connections = check_all_cached([str(nija), "show", "--config", str(config)], env)
        shown = [name for _, _, name in import_rows([str(nija), *show[1:]], env)]
        commands = {
            "nija show": show,
            "import typer, rich": [sys.executable, "-c", "import typer, rich"],
            "python -c pass": [sys.executable, "-c", "pass"],
            "import typer, rich + the show's rich modules": import_only(
                ["typer", "rich", *(m for m in shown if m.split(".")[0] == "rich")]
            ),
            "import every module the show imports": import_only(["typer", "rich", *shown]),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(2):  # warm-up: page cache, .pyc files
            for cmd in commands.values():
                timed(cmd, env)
        quiet_before = wait_for_quiet(0, args.idle_wait)
        before, started = cpu_times(0), time.perf_counter()
        for _ in range(args.runs):  # interleaved, so drift hits every command alike
            for name, cmd in commands.items():
                times[name].append(timed(cmd, env))
        load = other_load(before, cpu_times(0)) / (time.perf_counter() - started)
        imports = importtime([str(nija), *show[1:]], env, args.top)
    median = {name: statistics.median(t) for name, t in times.items()}
    lowest = {name: min(t) for name, t in times.items()}
    print(f"warm `{' '.join(['nija', *show[1:3]])} ...`: {connections} connections, all cached")
    print(f"{args.runs} runs each, interleaved, after 2 warm-up runs")
    print(f"other processes used {load:.2f} cores during the runs ({quiet_before:.2f} before)\n")
    print("| command | median ms | min ms | median / import typer, rich |")
    print("|---|---|---|---|")
    for name in commands:
        ratio = median[name] / median["import typer, rich"]
        print(
            f"| `{name}` | {median[name] * 1000:.1f} | {lowest[name] * 1000:.1f} | {ratio:.2f}x |"
        )
    ratio_min = lowest["nija show"] / lowest["import typer, rich"]
    print(f"\nratio of the minimums: {ratio_min:.2f}x")
    print("\n`python -X importtime` of the warm show:\n")
    print("\n".join(imports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
