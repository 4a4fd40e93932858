"""Soak: `nija monitor --interval 5` for N minutes on 300 mocked connections with faults.

Two monitor processes run at once on one config and one store (as a service and a stray
second one would), over the five mock exchanges served from their own process
(`mock_process.py`). Every 60 s a fault (HTTP 503) is put on 30 connections' private requests
for 90 s, so CONNECTION_FAILING fires (`failing_after = "1m"`) and resolves again and again;
20 users have a floor no balance reaches, so BALANCE_LOW fires once each and must never be
sent again (`repeat_after = "6h"`). Every notification goes to a JSON-lines file.

Reported: RSS of each monitor sampled every 10 s (first and last minute, peak), cycles run,
notifications per kind and event, and duplicates: a `fired` or `repeated` of an alert that
was already firing (sent twice), or the same notification line twice. A monitor that exits
before the end is a crash.

    .venv/bin/python benchmarks/monitor_soak.py --minutes 10
"""

from __future__ import annotations

import argparse
import json
import os
import signal
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

MB = 1024 * 1024
N_CONNECTIONS = 300
FAULTED = 30  # connections given a fault each round
FAULT_EVERY, FAULT_FOR = 60.0, 90.0  # seconds
LOW_USERS = 20


def rss(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / MB
    except OSError:
        return None
    return None


def write_config(
    path: Path, conns: list[dict[str, Any]], overrides: dict[str, Any]
) -> dict[str, str]:
    """The TOML config (one user per connection) and the environment with their keys."""
    import tomli_w

    env: dict[str, str] = {}
    users: dict[str, Any] = {}
    for i, c in enumerate(conns):
        uid, exchange = c["user"], c["exchange"]
        users[uid] = {exchange: {"exchange": exchange, "ccxt": overrides[exchange]}}
        if i < LOW_USERS:
            users[uid]["alerts"] = {"low_balance": 10**12}
        prefix = f"{exchange.upper()}_USER_{uid.upper()}_"
        env[prefix + "API_KEY"] = c["key"]
        env[prefix + "API_SECRET"] = c["secret"]
        if c["passphrase"]:
            env[prefix + "API_PASSPHRASE"] = c["passphrase"]
    document = {
        "settings": {"cache_ttl": 4, "timeout": 10},
        "alerts": {
            "drop_percent": 10,
            "failing_after": "1m",
            "repeat_after": "6h",
            "log_every": "1m",
            "json_file": str(path.parent / "alerts.jsonl"),
        },
        "users": users,
    }
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    path.chmod(0o600)
    return env


def duplicates(lines: list[dict[str, Any]]) -> tuple[int, Counter[str]]:
    """Notifications sent twice, and the count per kind/event."""
    firing: dict[tuple[str, str, Any], bool] = {}
    seen: set[str] = set()
    dup = 0
    counts: Counter[str] = Counter()
    for doc in lines:
        key = (doc["kind"], doc["account"], doc["connection"])
        counts[f"{doc['kind']} {doc['event']}"] += 1
        text = json.dumps(doc, sort_keys=True)
        if text in seen:
            dup += 1
        seen.add(text)
        if doc["event"] == "fired" and firing.get(key):
            dup += 1  # fired again without a resolution between
        if doc["event"] == "repeated":
            dup += 1  # repeat_after is 6 h: nothing may repeat within the soak
        firing[key] = doc["event"] != "resolved"
    return dup, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--latency", type=float, default=0.05, help="mock answer delay (s)")
    args = parser.parse_args(argv)
    with MockProcess(args.latency) as mocks, tempfile.TemporaryDirectory() as tmp:
        conns = mocks.setup(N_CONNECTIONS)
        home = Path(tmp) / "home"
        config = Path(tmp) / "config.toml"
        env = {**os.environ, **write_config(config, conns, mocks.overrides)}
        env.update(NIJA_BALANCES_HOME=str(home), NO_COLOR="1")
        cmd = [
            sys.executable,
            "-m",
            "nija_balances",
            "-q",
            "monitor",
            "--interval",
            "5",
            "--config",
            str(config),
        ]
        monitors = [
            subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        samples: list[tuple[float, list[float | None]]] = []
        start = time.monotonic()
        end = start + args.minutes * 60
        next_fault, fault_until, rounds = start + 20, 0.0, 0
        crashed: list[str] = []
        while time.monotonic() < end:
            now = time.monotonic()
            if fault_until and now >= fault_until:
                mocks.clear()
                fault_until = 0.0
            if now >= next_fault and not fault_until:
                chosen = conns[LOW_USERS + (rounds * FAULTED) % (N_CONNECTIONS - LOW_USERS) :][
                    :FAULTED
                ]
                for exchange in EXCHANGES:
                    keys = [c["key"] for c in chosen if c["exchange"] == exchange]
                    if keys:
                        mocks.fault(exchange, "http503", keys)
                rounds += 1
                fault_until, next_fault = now + FAULT_FOR, now + FAULT_EVERY + FAULT_FOR
            samples.append((now - start, [rss(p.pid) for p in monitors]))
            if any(p.poll() is not None for p in monitors):
                crashed = [
                    p.stderr.read() if p.stderr else "" for p in monitors if p.poll() is not None
                ]
                break
            time.sleep(10)
        elapsed = time.monotonic() - start
        for p in monitors:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes = [p.wait(60) for p in monitors]
        log = "".join(
            f.read_text(encoding="utf-8", errors="replace")
            for f in (home / "data").glob("monitor.log*")
        )
        lines = [json.loads(x) for x in (Path(tmp) / "alerts.jsonl").read_text().splitlines()]
    dup, counts = duplicates(lines)
    first = [r for t, rs in samples if 30 <= t <= 90 for r in rs if r]  # once started
    last = [r for t, rs in samples if t >= elapsed - 60 for r in rs if r]
    peak = max((r for _, rs in samples for r in rs if r), default=0.0)
    print(f"duration: {elapsed / 60:.1f} min, {len(samples)} RSS samples, fault rounds: {rounds}")
    print(f"cycles logged: {log.count('cycle:')} (both monitors), exit codes on SIGTERM: {codes}")
    print(
        f"RSS MB 30-90 s: {min(first):.0f}-{max(first):.0f}, last minute: "
        f"{min(last):.0f}-{max(last):.0f}, peak {peak:.0f}"
    )
    print(f"notifications: {len(lines)} {dict(sorted(counts.items()))}")
    print(
        f"duplicates: {dup}; crashes: {len(crashed)}; 'cycle failed' in log: "
        f"{log.count('monitor cycle failed')}"
    )
    for text in crashed:
        print(text[-2000:])
    print(
        "RSS samples (s: MB, MB): "
        + ", ".join(
            f"{t:.0f}: {'/'.join(f'{r:.0f}' if r else '-' for r in rs)}" for t, rs in samples
        )
    )
    return 1 if crashed or dup else 0


if __name__ == "__main__":
    raise SystemExit(main())
