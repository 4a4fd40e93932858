"""Benchmark: a warm `nija show` (every connection served from the cache) against bare imports.

    .venv/bin/python benchmarks/warm_show.py [--runs 20] [--sizes 5 300 3000] [--first]
        [--before OLD/src] [--other OLD_CHECKOUT] [--breakdown] [--importtime]

For each size, a config of that many real-exchange connections (Kraken and Coinbase, dummy
credentials in the environment; the platform's two, then users of one or two) is written to
a temporary NIJA_BALANCES_HOME, and the store there is filled so that every connection is
`cached`. Then, interleaved, each command is run `--runs` times (after two warm-up runs
each) with subprocess and `time.perf_counter`:

- `nija show --config CONFIG` and `nija show --json --config CONFIG` (the console script,
  as a user runs it; stdout is not a terminal);
- with `--first`: the same, with an environment that changes every run, so that no report
  kept by an earlier identical run matches (`cli/replay.py`): the first show after a change;
- with `--before SRC`: the same shows by the code of SRC (`python -m nija_balances` with
  PYTHONPATH=SRC, on a store of its own);
- with `--other CHECKOUT`: that checkout's show of the 7-connection `CONFIG`, prefilled by
  its own benchmark (its own venv and code), beside this one's of the same config;
- `python -c "import typer, rich"` (the floor any Typer + Rich CLI pays) and
  `python -c pass` (the interpreter's own start-up).

It reports median and min, the ratio of the medians to `import typer, rich`, and issue 16's
targets where one applies. Nothing here touches the network.
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
EXCHANGES = ("kraken", "coinbase")


def config_text(size: int | None) -> str:
    """The config: `CONFIG` (7 connections) for None, else `size` connections: the
    platform's two, then users of one or two connections each (kraken, coinbase)."""
    if size is None:
        return CONFIG
    lines = ["[settings]", "cache_ttl = 86400  # every run of every size is warm"]
    lines += ["[platform]", 'name = "Nija System"', "[platform.kraken]", "[platform.coinbase]"]
    left, user = size - 2, 0
    while left > 0:
        user += 1
        for exchange in EXCHANGES[: min(left, 1 + user % 2)]:
            lines.append(f"[users.u{user:05d}.{exchange}]")
            left -= 1
    return "\n".join(lines) + "\n"


def credentials(config_toml: str = CONFIG) -> dict[str, str]:
    """Dummy keys, a different one per connection (a shared key would be one account)."""
    env = {}
    for line in config_toml.splitlines():
        parts = line.strip("[]").split(".")
        if len(parts) == 2 and parts[0] == "platform":
            prefix = f"{parts[1].upper()}_PLATFORM"
        elif len(parts) == 3 and parts[0] == "users":
            prefix = f"{parts[2].upper()}_USER_{parts[1].upper()}"
        else:
            continue
        env[f"{prefix}_API_KEY"] = f"dummy-key-{prefix.lower()}"
        env[f"{prefix}_API_SECRET"] = f"dummy-secret-{prefix.lower()}"
    return env


def prefill(home: Path, size: int | None = None) -> Path:
    """Write the config and a store in which every connection is fresh; return the config."""
    os.environ["NIJA_BALANCES_HOME"] = str(home)
    from nija_balances.config.credentials import resolve
    from nija_balances.config.loader import load_toml
    from nija_balances.domain.models import AssetValue, StoredResult, Valuation
    from nija_balances.engine.planning import account_hash
    from nija_balances.store.sqlite import SqliteStore

    text = config_text(size)
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    config = load_toml(path)
    keys = credentials(text)
    d = Decimal
    usd = AssetValue("USD", d("1200.5"), d(0), d("1200.5"), d(1), d("1200.50"))
    btc = AssetValue("BTC", d("0.25"), d(0), d("0.25"), d(60000), d("15000.00"))
    value = Valuation(d("1200.50"), d("16200.50"), (btc, usd))
    fresh = time.time()  # a run of all sizes takes minutes: see `cache_ttl` in the config
    items = {
        c.key: StoredResult(
            c.exchange, value, fresh, 0.2, account=account_hash(c, resolve(c, keys))
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


def floor_commands(env: dict[str, str], breakdown: list[str] | None) -> dict[str, list[str]]:
    """The baselines: `import typer, rich`, `python -c pass`, and with `breakdown` (the
    modules a show imports) the import-only commands of the breakdown."""
    commands = {
        "import typer, rich": [sys.executable, "-c", "import typer, rich"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    if breakdown is not None:
        rich = [m for m in breakdown if m.split(".")[0] == "rich"]
        commands["import typer, rich + the show's rich modules"] = import_only(
            ["typer", "rich", *rich]
        )
        commands["import every module the show imports"] = import_only(
            ["typer", "rich", *breakdown]
        )
    return commands


def other_tree(tree: Path, home: Path) -> list[str]:
    """Prefill `home` with the benchmark of another checkout (its own venv and code: the
    7-connection `CONFIG`); the show command of that checkout."""
    python = tree / ".venv" / "bin" / "python"
    script = (
        f"import sys; sys.path.insert(0, {str(tree / 'benchmarks')!r}); "
        f"from pathlib import Path; import warm_show; warm_show.prefill(Path({str(home)!r}))"
    )
    env = {**os.environ, "NIJA_BALANCES_HOME": str(home)}
    subprocess.run([str(python), "-c", script], env=env, check=True, cwd=tree)
    return [str(tree / ".venv" / "bin" / "nija"), "show", "--config", str(home / "config.toml")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[5, 300, 3000], help="connections per config"
    )
    parser.add_argument("--no-json", action="store_true", help="do not time `show --json`")
    parser.add_argument(
        "--other",
        type=Path,
        help="another checkout with its own .venv (e.g. an older commit): its warm show of "
        "the 7-connection config is timed interleaved with this one's",
    )
    parser.add_argument("--breakdown", action="store_true", help="the import-only rows too")
    parser.add_argument(
        "--first",
        action="store_true",
        help="also time the first warm show after a change (a new environment each run, so "
        "no report kept by `nija show` matches)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="another `src` (e.g. `git archive` of an older commit): its warm show, run as "
        "`python -m nija_balances` with this venv, timed interleaved with this one's",
    )
    parser.add_argument("--importtime", action="store_true", help="`-X importtime` top list")
    parser.add_argument("--idle-wait", type=float, default=60.0, help="see refresh.py")
    args = parser.parse_args(argv)
    nija = VENV_BIN / "nija"
    if not nija.exists():
        raise SystemExit(f"{nija} not found: install the project into this venv first")
    base_env = {
        **{k: v for k, v in os.environ.items() if not k.endswith(SECRET_SUFFIXES)},
        "NO_COLOR": "1",
        "COLUMNS": "100",
    }
    base_env.pop("NIJA_CONFIG", None)
    # as installed (pip compiles the bytecode): with this set (it is, on this machine) every
    # module changed since its .pyc was written is compiled again on every run
    base_env.pop("PYTHONDONTWRITEBYTECODE", None)
    sizes: list[int | None] = [*args.sizes]
    if args.other is not None:
        sizes = [None, *sizes]  # the 7-connection config, as the other checkout knows it
    with tempfile.TemporaryDirectory() as tmp:
        commands: dict[str, list[str]] = {}
        envs: dict[str, dict[str, str]] = {}
        counts: dict[str, int] = {}
        changing: set[str] = set()  # a new environment each run: no kept report matches
        shown: list[str] | None = None
        for size in sizes:
            home = Path(tmp) / f"home-{size or 'config7'}"
            home.mkdir()
            config = prefill(home, size)
            env = {**base_env, **credentials(config_text(size)), "NIJA_BALANCES_HOME": str(home)}
            show = [str(nija), "show", "--config", str(config)]
            label = f"{size} connections" if size else "7 connections (CONFIG)"
            counts[label] = check_all_cached(show, env)
            commands[f"nija show, {label}"] = show
            if not args.no_json and size:
                commands[f"nija show --json, {label}"] = [*show, "--json"]
            if args.first:
                for json_flag in ([], ["--json"]) if not args.no_json and size else ([],):
                    name = f"nija show{' --json' if json_flag else ''}, {label}, first run"
                    commands[name] = [*show, *json_flag]
                    changing.add(name)
            if args.before is not None and size:
                before_home = Path(tmp) / f"home-before-{size}"
                before_home.mkdir()
                prefill(before_home, size)
                os.environ["NIJA_BALANCES_HOME"] = str(home)
                before_env = {
                    **env,
                    "NIJA_BALANCES_HOME": str(before_home),
                    "PYTHONPATH": str(args.before.resolve()),
                }
                before_cfg = str(before_home / "config.toml")
                before_show = [
                    sys.executable,
                    "-m",
                    "nija_balances",
                    "show",
                    "--config",
                    before_cfg,
                ]
                for json_flag in ([], ["--json"]) if not args.no_json else ([],):
                    name = f"before: nija show{' --json' if json_flag else ''}, {label}"
                    commands[name] = [*before_show, *json_flag]
                    envs[name] = before_env
            if size is None:
                other_home = Path(tmp) / "home-other"
                other_home.mkdir()
                other = other_tree(args.other.resolve(), other_home)
                other_env = {**env, "NIJA_BALANCES_HOME": str(other_home)}
                counts[f"{label}, {args.other}"] = check_all_cached(other, other_env)
                commands[f"{args.other}: nija show, {label}"] = other
                envs[f"{args.other}: nija show, {label}"] = other_env
            for name in commands:
                envs.setdefault(name, env)
            if shown is None and (args.breakdown or args.importtime):
                shown = [name for _, _, name in import_rows(show, env)]
        for name, cmd in floor_commands(base_env, shown if args.breakdown else None).items():
            commands[name], envs[name] = cmd, base_env
        times: dict[str, list[float]] = {name: [] for name in commands}

        def env_of(name: str, run: int) -> dict[str, str]:
            return {**envs[name], "NIJA_BENCH_RUN": str(run)} if name in changing else envs[name]

        for run in range(2):  # warm-up: page cache, .pyc files (written now, see base_env)
            for name, cmd in commands.items():
                timed(cmd, env_of(name, -1 - run))
        quiet_before = wait_for_quiet(0, args.idle_wait)
        before, started = cpu_times(0), time.perf_counter()
        for run in range(args.runs):  # interleaved, so drift hits every command alike
            for name, cmd in commands.items():
                times[name].append(timed(cmd, env_of(name, run)))
        load = other_load(before, cpu_times(0)) / (time.perf_counter() - started)
        first = next(iter(commands.values()))
        imports = importtime(first, envs[next(iter(commands))], args.top) if args.importtime else []
    median = {name: statistics.median(t) for name, t in times.items()}
    lowest = {name: min(t) for name, t in times.items()}
    floor = median["import typer, rich"]
    print(
        "warm `nija show --config ...`, every connection cached: "
        + ", ".join(f"{label}: {n}" for label, n in counts.items())
    )
    print(f"{args.runs} runs each, interleaved, after 2 warm-up runs")
    print(f"other processes used {load:.2f} cores during the runs ({quiet_before:.2f} before)\n")
    print("| command | median ms | min ms | median / import typer, rich | target |")
    print("|---|---|---|---|---|")
    for name in commands:
        ratio = median[name] / floor
        target = TARGETS.get(name, "")
        verdict = f"<= {target}x: {'met' if ratio <= target else 'NOT met'}" if target else ""
        print(
            f"| `{name}` | {median[name] * 1000:.1f} | {lowest[name] * 1000:.1f} "
            f"| {ratio:.2f}x | {verdict} |"
        )
    if imports:
        print("\n`python -X importtime` of the first command:\n")
        print("\n".join(imports))
    return 0


#: Issue 16's targets: the median over the median of `import typer, rich`.
TARGETS: dict[str, float] = {
    "nija show, 5 connections": 1.3,
    "nija show, 300 connections": 1.5,
    "nija show, 3000 connections": 3.0,
    "nija show --json, 3000 connections": 1.5,
}


if __name__ == "__main__":
    sys.exit(main())
