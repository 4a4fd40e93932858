"""Benchmark: the dashboard's API while it refreshes 300 connections, and 100 clients at once.

    .venv/bin/python benchmarks/web_api.py [--n 300] [--latency 0.2] [--interval 5]
                                           [--seconds 40] [--clients 100] [--load-seconds 30]
                                           [--json results.json]

The five mock exchanges (tests/mockex) run in a process of their own (`mock_process.py`)
with `latency` seconds on every request; N connections are spread over them, one user and
one API key each. `nija serve` runs as a real subprocess on 127.0.0.1 (random port) over a
config file pointing at the mocks, refreshing (fetching every connection for real) every
`interval` seconds. Everything stays on the loopback interface and every loop is bounded in
time and count.

1. latency: one client asks `/api/users` (N cards) back to back for `seconds`; each request
   is classed by whether a refresh was running when it was sent (the refresh windows come
   from `/metrics`: the end and the duration of each refresh).
2. load: `clients` concurrent clients (aiohttp, one process) loop over `/api/users`,
   `/users`, `/`, `/api/portfolio` and `/metrics` for `load-seconds`; every answer that is
   not a 200, and every failed request, is an error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mock_process import MockProcess  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
ROUTES = ("/api/users", "/users", "/", "/api/portfolio", "/metrics")
MAX_REQUESTS = 2_000_000  # a bound on each phase, whatever the speed


def write_config(
    path: Path, conns: list[dict[str, Any]], overrides: dict[str, Any]
) -> dict[str, str]:
    """The config file of the N connections (one user each) and their credentials' env."""
    import tomli_w

    users: dict[str, Any] = {}
    env: dict[str, str] = {}
    for c in conns:
        uid, exchange = c["user"], c["exchange"]
        users[uid] = {exchange: {"exchange": exchange, "ccxt": overrides[exchange]}}
        prefix = f"{exchange.upper()}_USER_{uid.upper()}_"
        env[prefix + "API_KEY"] = c["key"]
        env[prefix + "API_SECRET"] = c["secret"]
        if c["passphrase"]:
            env[prefix + "API_PASSPHRASE"] = c["passphrase"]
    doc = {"settings": {"timeout": 30, "max_in_flight": 64}, "users": users}
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    path.chmod(0o600)
    return env


class Server:
    """`nija serve` in a subprocess; its address read from its stderr."""

    def __init__(self, config: Path, home: Path, env: dict[str, str], interval: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nija_balances", "serve", "--config", str(config),
             "--port", "0", "--interval", f"{interval:g}"],
            env={**os.environ, **env, "NIJA_BALANCES_HOME": str(home)},
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stderr is not None
        stream = self.proc.stderr
        threading.Thread(target=lambda: [lines.put(x) for x in stream], daemon=True).start()
        while True:
            line = lines.get(timeout=60)
            if found := re.search(r"Dashboard on (http://\S+)/", line):
                self.url = found.group(1)
                break

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def cpu_s(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / TICK


def machine_busy_s() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / TICK


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Load:
    """CPU used between `start` and `stop` by the server, the mocks, this client and the
    rest of the machine (other engineers' tests on the shared cores)."""

    def __init__(self, server: int, mocks: int) -> None:
        self.pids = {"server": server, "mocks": mocks}

    def sample(self) -> dict[str, float]:
        own = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
        return {"busy": machine_busy_s(), "own": own, "t": time.perf_counter(),
                **{k: cpu_s(p) for k, p in self.pids.items()}}  # fmt: skip

    @staticmethod
    def cores(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
        wall = b["t"] - a["t"]
        used = {k: (b[k] - a[k]) / wall for k in ("server", "mocks", "own")}
        other = (b["busy"] - a["busy"]) / wall - sum(used.values())
        return {**{k: round(v, 2) for k, v in used.items()}, "other": round(max(0.0, other), 2)}


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "n": len(values),
        "median_ms": round(statistics.median(values) * 1000, 2),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


async def refresh_windows(session: Any, url: str, seen: dict[float, float]) -> None:
    """Record each finished refresh (end -> duration) from `/metrics`."""
    async with session.get(url + "/metrics") as response:
        text = await response.text()
    end = re.search(r"^nija_last_refresh_timestamp_seconds (\S+)$", text, re.M)
    took = re.search(r"^nija_refresh_duration_seconds (\S+)$", text, re.M)
    if end and took:
        seen[float(end.group(1))] = float(took.group(1))


async def latency_phase(url: str, seconds: float, n: int) -> dict[str, Any]:
    import aiohttp

    samples: list[tuple[float, float, int]] = []  # (sent at, epoch), latency, status
    windows: dict[float, float] = {}
    async with aiohttp.ClientSession() as session:
        end = time.monotonic() + seconds
        last_poll = 0.0
        cards = 0
        while time.monotonic() < end and len(samples) < MAX_REQUESTS:
            sent, t0 = time.time(), time.perf_counter()
            async with session.get(url + "/api/users") as response:
                body = await response.read()
                status = response.status
            samples.append((sent, time.perf_counter() - t0, status))
            cards = cards or len(json.loads(body)["users"])
            if time.monotonic() - last_poll > 0.25:
                await refresh_windows(session, url, windows)
                last_poll = time.monotonic()
        await asyncio.sleep(0)
    spans = [(e - d, e) for e, d in windows.items()]
    during = [lat for sent, lat, _ in samples if any(a <= sent <= b for a, b in spans)]
    idle = [lat for sent, lat, _ in samples if not any(a <= sent <= b for a, b in spans)]
    return {
        "cards": cards,
        "expected_cards": n,
        "errors": sum(1 for *_, s in samples if s != 200),
        "refreshes_seen": len(spans),
        "refresh_s": sorted(round(d, 2) for d in windows.values()),
        "during_refresh": percentiles(during),
        "idle": percentiles(idle),
    }


async def load_phase(url: str, clients: int, seconds: float) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    statuses: dict[str, int] = {}
    failures: dict[str, int] = {}
    end = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=30)

    async def client(i: int, session: Any) -> None:
        k = i
        while time.monotonic() < end and len(latencies) < MAX_REQUESTS:
            path = ROUTES[k % len(ROUTES)]
            k += 1
            t0 = time.perf_counter()
            try:
                async with session.get(url + path) as response:
                    await response.read()
                    statuses[str(response.status)] = statuses.get(str(response.status), 0) + 1
            except Exception as exc:  # counted, never hidden
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(i, session) for i in range(clients)))
    wall = time.perf_counter() - started
    errors = sum(n for s, n in statuses.items() if s != "200") + sum(failures.values())
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / wall, 1),
        "statuses": statuses,
        "failures": failures,
        "errors": errors,
        "latency": percentiles(latencies),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--load-seconds", type=float, default=30.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    result: dict[str, Any] = {"n": args.n, "latency_s": args.latency, "interval_s": args.interval}
    with MockProcess(latency=args.latency) as mocks, tempfile.TemporaryDirectory() as tmp:
        conns = mocks.setup(args.n)
        config = Path(tmp) / "config.toml"
        env = write_config(config, conns, mocks.overrides)
        home = Path(tmp) / "home"
        home.mkdir()
        server = Server(config, home, env, args.interval)
        try:
            load = Load(server.proc.pid, mocks._process.pid or 0)
            ready = time.monotonic() + 120
            while time.monotonic() < ready:  # the first refresh (a cold fetch) must end
                import urllib.request

                with urllib.request.urlopen(server.url + "/healthz", timeout=10) as r:
                    if json.loads(r.read())["ready"]:
                        break
                time.sleep(0.2)
            a = load.sample()
            result["latency"] = asyncio.run(latency_phase(server.url, args.seconds, args.n))
            b = load.sample()
            result["latency"]["cores"] = Load.cores(a, b)
            result["load"] = asyncio.run(load_phase(server.url, args.clients, args.load_seconds))
            c = load.sample()
            result["load"]["cores"] = Load.cores(b, c)
            result["server_peak_rss_mb"] = round(peak_rss_mb(server.proc.pid), 1)
        finally:
            server.stop()
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
