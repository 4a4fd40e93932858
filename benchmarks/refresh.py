"""Benchmark: a full refresh of N connections through `engine.collect.collect`, against mocks.

    .venv/bin/python benchmarks/refresh.py [--n 10 100 300 1000] [--latency 0.2]
                                            [--baseline-n 10 100] [--json results.json]

The five mock exchanges (Kraken, Coinbase, Binance, OKX, Alpaca; tests/mockex) run in a
process of their own with `latency` seconds injected on every request. N connections are
spread round-robin over them, each its own user and API key. Every measured client runs in
a fresh child interpreter, so its peak RSS (VmHWM) and CPU belong to that N alone:

- cold:  `collect(config, refresh=True, store=SqliteStore(<empty temp dir>))`
- warm:  the same again in a new process on the same store (markets on disk, < 1 hour old)
- baseline: the original tool: one connection after another, a fresh ccxt instance each
  (construct, load_markets, fetch_balance, close), nothing shared.

Wall and CPU time are of the refresh itself, with ccxt imported beforehand (its import is
reported apart, as is the child's whole run). Request counts come from the mocks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from resource import RUSAGE_CHILDREN, RUSAGE_SELF
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mock_process import EXCHANGES, MockProcess  # noqa: E402

MB = 1024 * 1024


def proc_status(field: str) -> int:
    """A `/proc/self/status` memory field (VmHWM, VmRSS) in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


# --------------------------------------------------------------------------- the child


def build_config(spec: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """The Config (one user per connection) and the environment holding their keys."""
    from nija_balances.domain.models import AccountConfig, Config, ConnectionConfig, Settings

    users = []
    environ: dict[str, str] = {}
    for c in spec["conns"]:
        exchange, uid = c["exchange"], c["user"]
        ccxt_table = json.loads(json.dumps(spec["overrides"][exchange]))  # one table each
        conn = ConnectionConfig(account=uid, name=exchange, exchange=exchange, ccxt=ccxt_table)
        users.append(AccountConfig(id=uid, kind="user", name=uid, connections=(conn,)))
        prefix = f"{exchange.upper()}_USER_{uid.upper()}_"
        environ[prefix + "API_KEY"] = c["key"]
        environ[prefix + "API_SECRET"] = c["secret"]
        if c["passphrase"]:
            environ[prefix + "API_PASSPHRASE"] = c["passphrase"]
    config = Config(
        settings=Settings(**spec["settings"]),
        platform=AccountConfig(id="platform", kind="platform", name="Platform"),
        users=tuple(users),
        namespace="bench",
    )
    return config, environ


def run_collect(spec: dict[str, Any]) -> dict[str, Any]:
    from nija_balances.engine.collect import collect
    from nija_balances.store.sqlite import SqliteStore

    started = time.perf_counter()
    import ccxt.async_support  # noqa: F401  (timed apart from the refresh)

    import_s = time.perf_counter() - started
    config, environ = build_config(spec)
    store = SqliteStore(Path(spec["store"]) / "balances.sqlite3")
    rss_before = proc_status("VmRSS")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    portfolio = asyncio.run(collect(config, refresh=True, store=store, environ=environ))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    store.close()
    reports = [c for a in (portfolio.platform, *portfolio.users) for c in a.connections]
    errors = sorted({f"{c.exchange}: {c.status.value}: {c.error}" for c in reports if c.error})
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "ccxt_import_s": import_s,
        "rss_before_mb": rss_before / MB,
        "peak_rss_mb": proc_status("VmHWM") / MB,
        "statuses": dict(Counter(c.status.value for c in reports)),
        "errors": errors[:5],
        "total_usd": str(portfolio.summary.total_user_capital),
    }


async def baseline(spec: dict[str, Any]) -> dict[str, Any]:
    """One connection after another, a fresh ccxt instance each: no sharing at all."""
    import ccxt.async_support as ccxt_async

    from nija_balances.adapters.ccxt.adapter import deep_merge
    from nija_balances.adapters.ccxt.quirks import quirks_for

    steps: Counter[str] = Counter()
    ok, errors = 0, []
    for c in spec["conns"]:
        exchange = c["exchange"]
        t0 = time.perf_counter()
        params = deep_merge(quirks_for(exchange).ccxt_config(), spec["overrides"][exchange])
        instance = getattr(ccxt_async, exchange)(params)
        t1 = time.perf_counter()
        steps["construct"] += t1 - t0
        try:
            if exchange != "alpaca":  # ccxt's alpaca markets are not mocked (nor needed)
                # Markets are loaded before the keys are set: with keys, ccxt's load_markets
                # also calls private endpoints (currencies, fees) the mocks do not serve, so
                # the baseline makes fewer requests than the original tool did.
                await instance.load_markets()
                steps["load_markets"] += time.perf_counter() - t1
                t1 = time.perf_counter()
            instance.apiKey, instance.secret = c["key"], c["secret"]
            instance.password = c["passphrase"] or ""
            if exchange == "alpaca":  # account + positions, as the adapter does
                await instance.traderPrivateGetV2Account()
                await instance.traderPrivateGetV2Positions()
            else:
                await instance.fetch_balance()
            steps["fetch_balance"] += time.perf_counter() - t1
            ok += 1
        except Exception as exc:
            errors.append(f"{exchange}: {type(exc).__name__}: {str(exc)[:120]}")
        finally:
            t2 = time.perf_counter()
            await instance.close()  # ccxt's default `timeout_on_exit`: sleeps 250 ms
            steps["close"] += time.perf_counter() - t2
    return {"ok": ok, "errors": errors[:5], "steps_s": dict(steps)}


async def plain_ccxt(spec: dict[str, Any]) -> dict[str, Any]:
    """A competent plain-ccxt script: one ccxt instance per key (built as ccxt builds it), one
    aiohttp session and SSL context for all, markets loaded once per exchange and shared,
    every balance at once, then one ticker call per exchange; no request cap."""
    import ssl

    import aiohttp
    import ccxt.async_support as ccxt_async
    import certifi

    from nija_balances.adapters.ccxt.adapter import deep_merge
    from nija_balances.adapters.ccxt.quirks import quirks_for

    context = ssl.create_default_context(cafile=certifi.where())
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context, limit=0))
    exchanges = sorted({c["exchange"] for c in spec["conns"]})

    def build(exchange: str) -> Any:
        params = deep_merge(quirks_for(exchange).ccxt_config(), spec["overrides"][exchange])
        instance = getattr(ccxt_async, exchange)({**params, "session": session})
        instance.ssl_context = context  # else ccxt builds one (~60 ms) per instance
        instance.timeout_on_exit = 0
        return instance

    publics = {ex: build(ex) for ex in exchanges}
    await asyncio.gather(*(p.load_markets() for ex, p in publics.items() if ex != "alpaca"))
    instances = []

    async def one(c: dict[str, Any]) -> Any:
        exchange = c["exchange"]
        instance = build(exchange)
        instances.append(instance)
        instance.apiKey, instance.secret = c["key"], c["secret"]
        instance.password = c["passphrase"] or ""
        if exchange == "alpaca":
            return await asyncio.gather(
                instance.traderPrivateGetV2Account(), instance.traderPrivateGetV2Positions()
            )
        instance.set_markets_from_exchange(publics[exchange])
        return await instance.fetch_balance()

    results = await asyncio.gather(*(one(c) for c in spec["conns"]), return_exceptions=True)
    wanted = ("BTC/USD", "ETH/USD", "SOL/USD", "BTC/USDT", "ETH/USDT", "SOL/USDT")
    tickers = []
    for exchange, public in publics.items():
        symbols = [s for s in wanted if s in (public.markets or {})]
        if exchange != "alpaca" and symbols:
            tickers.append(public.fetch_tickers(symbols))
    await asyncio.gather(*tickers, return_exceptions=True)
    for instance in [*instances, *publics.values()]:
        await instance.close()
    await session.close()
    errors = [f"{type(r).__name__}: {str(r)[:120]}" for r in results if isinstance(r, Exception)]
    return {"ok": len(results) - len(errors), "errors": errors[:5]}


def run_plain(spec: dict[str, Any]) -> dict[str, Any]:
    import gc

    started = time.perf_counter()
    import ccxt.async_support  # noqa: F401

    import_s = time.perf_counter() - started
    cpu0, wall0 = time.process_time(), time.perf_counter()
    gc0 = sum(s["collections"] for s in gc.get_stats())
    result = asyncio.run(plain_ccxt(spec))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    n = len(spec["conns"])
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "ccxt_import_s": import_s,
        "peak_rss_mb": proc_status("VmHWM") / MB,
        "statuses": {"ok": result["ok"], "failed": n - result["ok"]},
        "errors": result["errors"],
        "gc_collections": sum(s["collections"] for s in gc.get_stats()) - gc0,
    }


def run_baseline(spec: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    import ccxt.async_support  # noqa: F401

    import_s = time.perf_counter() - started
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = asyncio.run(baseline(spec))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    n = len(spec["conns"])
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "ccxt_import_s": import_s,
        "peak_rss_mb": proc_status("VmHWM") / MB,
        "statuses": {"ok": result["ok"], "failed": n - result["ok"]},
        "errors": result["errors"],
        "steps_s": result["steps_s"],
    }


def child_main(phase: str, spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    if phase == "baseline":
        result = run_baseline(spec)
    elif phase == "plain":
        result = run_plain(spec)
    else:
        result = run_collect(spec)
    print("RESULT " + json.dumps(result), flush=True)


# --------------------------------------------------------------------------- the parent


TICK = os.sysconf("SC_CLK_TCK")


def cpu_times(mock_pid: int) -> tuple[float, float, float]:
    """(CPU s busy on the whole machine, of the mock process, of us and our waited children)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    busy = (sum(fields) - fields[3] - fields[4]) / TICK  # all but idle and iowait
    mock = 0.0
    if mock_pid:
        stat = Path(f"/proc/{mock_pid}/stat").read_text().rsplit(")", 1)[1].split()
        mock = (int(stat[11]) + int(stat[12])) / TICK  # utime + stime
    own = sum(sum(resource.getrusage(who)[:2]) for who in (RUSAGE_SELF, RUSAGE_CHILDREN))
    return busy, mock, own


def other_load(before: tuple[float, float, float], after: tuple[float, float, float]) -> float:
    """CPU cores used by other processes of the machine between two `cpu_times`."""
    (b0, m0, o0), (b1, m1, o1) = before, after
    return max(0.0, (b1 - b0) - (m1 - m0) - (o1 - o0))


def wait_for_quiet(mock_pid: int, max_wait: float, limit: float = 0.25) -> float:
    """Wait (up to `max_wait` s) until other processes use under `limit` cores; return it."""
    deadline = time.monotonic() + max_wait
    while True:
        before = cpu_times(mock_pid)
        time.sleep(0.5)
        load = other_load(before, cpu_times(mock_pid)) / 0.5
        if load < limit or time.monotonic() >= deadline:
            return load
        time.sleep(1.0)


def run_child(
    phase: str, spec_path: Path, home: Path, mock_pid: int, pythonpath: str | None = None
) -> dict[str, Any]:
    env = {**os.environ, "NIJA_BALANCES_HOME": str(home), "PYTHONHASHSEED": "0"}
    if pythonpath:  # another checkout's `src`, e.g. the code before a change
        env["PYTHONPATH"] = pythonpath
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", phase, str(spec_path)]
    before = cpu_times(mock_pid)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    elapsed = time.perf_counter() - started
    after = cpu_times(mock_pid)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{phase} child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    result["process_s"] = elapsed
    result["mock_cpu_s"] = after[1] - before[1]
    result["other_load_cores"] = other_load(before, after) / elapsed
    return result


def measure(
    mocks: MockProcess,
    phase: str,
    spec_path: Path,
    home: Path,
    idle_wait: float,
    pythonpath: str | None = None,
) -> dict[str, Any]:
    mocks.reset()
    load_before = wait_for_quiet(mocks.pid, idle_wait)
    result = run_child(phase, spec_path, home, mocks.pid, pythonpath)
    result["other_load_before"] = load_before
    result["requests"] = mocks.counts()
    return result


def fmt_requests(runs: list[dict[str, Any]], kind: str) -> str:
    """Requests of `kind` per exchange (the most any run made), e.g. `kr2 co5 bi1 ok1 al0`."""
    return " ".join(f"{ex[:2]}{max(r['requests'][ex][kind] for r in runs)}" for ex in EXCHANGES)


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [r["wall_s"] for r in runs]
    return {
        "wall": statistics.median(walls),
        "wall_min": min(walls),
        "wall_max": max(walls),
        "cpu": statistics.median(r["cpu_s"] for r in runs),
        "import": statistics.median(r["ccxt_import_s"] for r in runs),
        "process": statistics.median(r["process_s"] for r in runs),
        "rss": max(r["peak_rss_mb"] for r in runs),
        "ok": min(r["statuses"].get("ok", 0) for r in runs),
        "private": max(sum(v["private"] for v in r["requests"].values()) for r in runs),
        "mock_cpu": statistics.median(r["mock_cpu_s"] for r in runs),
        "other": max(r["other_load_cores"] for r in runs),
    }


def report(rows: list[dict[str, Any]], latency: float) -> str:
    out = [
        f"Latency injected on every mock request: {latency * 1000:.0f} ms. Times are medians "
        "over the runs (range in brackets); RSS and request counts are the maxima.",
        "",
        "| N | run | runs | refresh wall s | refresh CPU s | ccxt import s | child process s "
        "| peak RSS MB | counted | markets req (kr co bi ok al) | ticker req | private req "
        "| mock CPU s | other load (cores, max) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        n, runs, m = row["n"], row["runs"], summary(row["runs"])
        out.append(
            f"| {n} | {row['phase']} | {len(runs)} "
            f"| {m['wall']:.3f} [{m['wall_min']:.2f}-{m['wall_max']:.2f}] | {m['cpu']:.3f} "
            f"| {m['import']:.3f} | {m['process']:.2f} | {m['rss']:.0f} | {m['ok']}/{n} "
            f"| {fmt_requests(runs, 'markets')} | {fmt_requests(runs, 'ticker')} "
            f"| {m['private']} | {m['mock_cpu']:.2f} | {m['other']:.2f} |"
        )
    out.append("")
    for row in rows:
        n, phase, last = row["n"], row["phase"], row["runs"][-1]
        errors = sorted({e for r in row["runs"] for e in r.get("errors", [])})
        if errors:
            out.append(f"- N={n} {phase} errors: {errors[:5]}")
        if "steps_s" in last:
            steps = ", ".join(f"{k} {v:.2f} s" for k, v in last["steps_s"].items())
            out.append(f"- N={n} baseline time by step: {steps}")
        unexpected = {ex: v["unexpected"] for ex, v in last["requests"].items() if v["unexpected"]}
        if unexpected:
            out.append(f"- N={n} {phase} unexpected (404) requests: {unexpected}")
        peak = {ex[:2]: v["max_in_flight"] for ex, v in last["requests"].items()}
        out.append(f"- N={n} {phase} max requests in flight per mock: {peak}")
    base = {r["n"]: summary(r["runs"])["wall"] for r in rows if r["phase"] == "baseline"}
    if base:
        per_conn = base[max(base)] / max(base)
        out.append(f"- baseline per connection: {per_conn:.3f} s (at N={max(base)})")
        for row in rows:
            if row["phase"] in ("cold", "warm"):
                n, wall = row["n"], summary(row["runs"])["wall"]
                est = base.get(n, per_conn * n)
                how = "measured" if n in base else "extrapolated linearly"
                out.append(
                    f"- N={n} {row['phase']}: baseline {est:.1f} s ({how}), "
                    f"speed-up {est / wall:.0f}x"
                )
    return "\n".join(out)


UNLIMITED = 100_000  # `max_in_flight` above any N: no cap


def compare(args: argparse.Namespace) -> int:
    """Issue 16's refresh figures: the tool against the plain-ccxt script, at two sizes,
    interleaved runs, medians; the marginal cost per connection is the difference of the
    medians over the difference of the sizes."""
    small, large = args.compare
    cap = {} if args.default_cap is None else {"max_in_flight": args.default_cap}
    variants: dict[str, dict[str, Any]] = {
        "tool, no cap": {"timeout": 30.0, "max_in_flight": UNLIMITED},
        "tool, default cap": {"timeout": 30.0, **cap},
    }
    paths: dict[str, str | None] = dict.fromkeys(variants)
    if args.before is not None:  # the same two rows with the code of another checkout
        for name in list(variants):
            variants[f"before: {name}"] = variants[name]
            paths[f"before: {name}"] = str(args.before.resolve())
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with MockProcess(args.latency) as mocks, tempfile.TemporaryDirectory() as tmp:
        for n in (small, large):
            conns = mocks.setup(n)
            store = Path(tmp) / f"store-{n}"
            store.mkdir()
            specs = {}
            for name, settings in [*variants.items(), ("plain ccxt", {})]:
                spec_path = Path(tmp) / f"spec-{n}-{len(specs)}.json"
                spec = {"conns": conns, "overrides": mocks.overrides, "store": str(store)}
                spec_path.write_text(json.dumps({**spec, "settings": settings}))
                specs[name] = spec_path
            first = next(iter(specs.values()))
            measure(mocks, "cold", first, Path(tmp), args.idle_wait)  # markets into the store
            for i in range(args.repeat):
                for name, spec_path in specs.items():
                    phase = "plain" if name == "plain ccxt" else "warm"
                    path = paths.get(name)
                    result = measure(mocks, phase, spec_path, Path(tmp), args.idle_wait, path)
                    runs.setdefault((name, n), []).append(result)
                    print(
                        f"N={n} {name} #{i + 1}: wall {result['wall_s']:.3f} s, "
                        f"ok {result['statuses'].get('ok', 0)}, other load "
                        f"{result['other_load_cores']:.2f} cores",
                        file=sys.stderr,
                        flush=True,
                    )
    names = [*variants, "plain ccxt"]
    print(
        f"Latency {args.latency * 1000:.0f} ms on every mock request; {args.repeat} interleaved "
        "runs each, medians (min-max); the tool runs warm (markets in the store, < 1 hour old).\n"
    )
    print(
        "| client | N | wall s | CPU s | peak RSS MB | counted "
        "| max in flight (kr co bi ok al) | other load (cores, max) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    wall: dict[tuple[str, int], float] = {}
    for name in names:
        for n in (small, large):
            rs = runs[(name, n)]
            walls = [r["wall_s"] for r in rs]
            wall[(name, n)] = statistics.median(walls)
            peak = " ".join(
                f"{ex[:2]}{max(r['requests'][ex]['max_in_flight'] for r in rs)}" for ex in EXCHANGES
            )
            print(
                f"| {name} | {n} | {wall[(name, n)]:.3f} ({min(walls):.2f}-{max(walls):.2f}) "
                f"| {statistics.median(r['cpu_s'] for r in rs):.3f} "
                f"| {max(r['peak_rss_mb'] for r in rs):.0f} "
                f"| {min(r['statuses'].get('ok', 0) for r in rs)}/{n} | {peak} "
                f"| {max(r['other_load_cores'] for r in rs):.2f} |"
            )
    print("\n| client | marginal ms per connection | vs plain ccxt | target |")
    print("|---|---|---|---|")
    plain = (wall[("plain ccxt", large)] - wall[("plain ccxt", small)]) / (large - small)
    for name in names:
        marginal = (wall[(name, large)] - wall[(name, small)]) / (large - small)
        ratio = marginal / plain
        target = ""
        if name == "tool, no cap":
            target = f"<= 0.6x: {'met' if ratio <= 0.6 else 'NOT met'}"
        print(f"| {name} | {marginal * 1000:.2f} | {ratio:.2f}x | {target} |")
    if args.json:
        args.json.write_text(json.dumps({f"{k[0]}@{k[1]}": v for k, v in runs.items()}, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 100, 300, 1000])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--baseline-n", type=int, nargs="*", default=[10, 100])
    parser.add_argument("--repeat", type=int, default=3, help="cold + warm runs per N")
    parser.add_argument("--max-in-flight", type=int, default=64)
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=60.0,
        help="wait up to this many seconds before each run for other processes to go quiet",
    )
    parser.add_argument("--json", type=Path, help="also write every raw figure here")
    parser.add_argument(
        "--compare",
        type=int,
        nargs=2,
        metavar=("SMALL", "LARGE"),
        help="issue 16: the tool (no cap, default cap) against plain ccxt at two sizes: 3 1000",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="with --compare: also run the tool rows with this `src` (e.g. a `git archive`)",
    )
    parser.add_argument(
        "--default-cap",
        type=int,
        help="with --compare: the `max_in_flight` of the default-cap row (default: the tool's)",
    )
    parser.add_argument("--child", nargs=2, metavar=("PHASE", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(*args.child)
        return 0
    if args.compare:
        return compare(args)
    rows: list[dict[str, Any]] = []
    settings = {"timeout": 30.0, "max_in_flight": args.max_in_flight}
    with MockProcess(args.latency) as mocks, tempfile.TemporaryDirectory() as tmp:
        for n in sorted(set(args.n) | set(args.baseline_n)):
            conns = mocks.setup(n)
            cold: dict[str, Any] = {"n": n, "phase": "cold", "runs": []}
            warm: dict[str, Any] = {"n": n, "phase": "warm", "runs": []}
            repeats = args.repeat if n in args.n else 0
            baseline_rows = []
            for i in range(repeats + (n in args.baseline_n)):
                store = Path(tmp) / f"store-{n}-{i}"  # a fresh store: the first run is cold
                store.mkdir()
                spec_path = Path(tmp) / f"spec-{n}-{i}.json"
                spec = {"conns": conns, "overrides": mocks.overrides, "store": str(store)}
                spec_path.write_text(json.dumps({**spec, "settings": settings}))
                phases = ["cold", "warm"] if i < repeats else ["baseline"]
                for phase in phases:
                    print(f"N={n} {phase} #{i + 1} ...", file=sys.stderr, end=" ", flush=True)
                    result = measure(mocks, phase, spec_path, Path(tmp), args.idle_wait)
                    load = result["other_load_cores"]
                    print(
                        f"wall {result['wall_s']:.3f} s, other load {load:.2f} cores",
                        file=sys.stderr,
                        flush=True,
                    )
                    if phase == "baseline":
                        baseline_rows.append({"n": n, "phase": phase, "runs": [result]})
                    else:
                        (cold if phase == "cold" else warm)["runs"].append(result)
            rows += ([cold, warm] if repeats else []) + baseline_rows
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(report(rows, args.latency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
