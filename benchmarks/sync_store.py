"""Store size and read time for many connections after a simulated year of history.

    .venv/bin/python benchmarks/sync_store.py                  # 1,000 connections
    .venv/bin/python benchmarks/sync_store.py --connections 100 --fills-per-day 10

1. Through the real store: one connection gets a year of 5-minute snapshots, one
   `put_snapshots` per fetch (each prunes to the retention as it goes); the snapshots left
   must be exactly `snapshots_to_keep` of all the times written.
2. The equivalent for N connections: each gets those same kept snapshots (what a year of
   fetches with pruning leaves), a year of fills (`--fills-per-day`) and two flows a month,
   written through `put_snapshots` and `put_history_page` (pages of 500) with a cursor.
3. The file's size (after a checkpoint), then the time to read every connection's
   snapshots, fills, flows and sync states from a freshly opened store (100 connections a
   read, decoded into domain objects and dropped), the first and last-before-today
   snapshot of each (the boundaries P&L needs), and one connection's whole history.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from nija_balances.domain.history import (  # noqa: E402
    AssetPosition,
    Fill,
    Flow,
    Snapshot,
    snapshots_to_keep,
)
from nija_balances.store.sqlite import SqliteStore  # noqa: E402

START = datetime(2025, 1, 1, tzinfo=UTC)
END = START + timedelta(days=365)
STEP = timedelta(minutes=5)
NS = "bench"
ACCOUNT = "0123456789abcdef01234567"  # an account hash's length


def snapshot(moment: datetime, i: int) -> Snapshot:
    assets = (
        AssetPosition("USD", Decimal("1000.50") + i, Decimal(1)),
        AssetPosition("BTC", Decimal("0.51234567"), Decimal("60123.45")),
        AssetPosition("ETH", Decimal("2.5"), Decimal("3012.5")),
    )
    return Snapshot(moment, Decimal("1000.50") + i, Decimal("38345.37") + i, assets)


def through_the_store(directory: Path) -> tuple[list[datetime], float, int]:
    """One connection, a year of 5-minute fetches written one at a time."""
    now = [START]
    store = SqliteStore(directory / "one.sqlite3", clock=lambda: now[0].timestamp())
    times: list[datetime] = []
    started = time.perf_counter()
    moment, i = START, 0
    while moment <= END:
        now[0] = moment
        store.put_snapshots(NS, [("u/k", ACCOUNT, snapshot(moment, i))])
        times.append(moment)
        moment, i = moment + STEP, i + 1
    elapsed = time.perf_counter() - started
    kept = [s.time for s in store.get_snapshots(NS, ["u/k"])["u/k"]]
    expected = sorted(snapshots_to_keep(times, END))
    assert kept == expected, (len(kept), len(expected))
    store.close()
    return kept, elapsed, len(times)


def fill(key: int, n: int, moment: datetime) -> Fill:
    amount, price = Decimal("0.00123456"), Decimal("60123.45") + n % 1000
    return Fill(f"{key}-{n}", f"o{key}-{n // 2}", moment, "BTC/USD", "buy" if n % 2 else "sell",
                amount, price, amount * price, Decimal("0.19"), None)  # fmt: skip


def flow(key: int, n: int, moment: datetime) -> Flow:
    return Flow(f"d{key}-{n}", "deposit" if n % 3 else "withdrawal", moment, "USD",
                Decimal("500.00"), Decimal("1.00"))  # fmt: skip


def fill_store(path: Path, kept: list[datetime], n: int, fills_per_day: int) -> dict[str, float]:
    store = SqliteStore(path, clock=lambda: END.timestamp())
    timings: dict[str, float] = {}
    started = time.perf_counter()
    for c in range(n):
        store.put_snapshots(NS, [(f"u{c}/k", ACCOUNT, snapshot(t, c)) for t in kept])
    timings["write snapshots"] = time.perf_counter() - started
    started = time.perf_counter()
    per_year = fills_per_day * 365
    gap = timedelta(days=365) / max(per_year, 1)
    for c in range(n):
        fills = [fill(c, j, START + j * gap) for j in range(per_year)]
        for at in range(0, len(fills), 500):
            page = fills[at : at + 500]
            store.put_history_page(NS, f"u{c}/k", ACCOUNT, "trades", fills=page, cursor=str(at))
        flows = [flow(c, j, START + j * timedelta(days=15)) for j in range(24)]
        store.put_history_page(NS, f"u{c}/k", ACCOUNT, "flows", flows=flows, cursor="24")
    timings["write fills and flows"] = time.perf_counter() - started
    assert not store.warnings, store.warnings
    store.close()  # the last connection to close checkpoints the WAL into the file
    return timings


READS = (
    "all snapshots",
    "all fills",
    "all flows",
    "all sync states",
    "first + last snapshot of each",
    "one connection: snapshots, fills, flows",
)
CHUNK = 100  # keys a read for the "all" reads: decoded and dropped, so memory stays flat


def _read(store: SqliteStore, name: str, keys: list[str], owners: dict[str, str]) -> int:
    """Run one of READS; how many rows it returned."""
    if name == "all sync states":
        return sum(len(v) for v in store.get_sync_states(NS, keys, owners).values())
    if name.startswith("first"):
        day = END.replace(hour=0, minute=0)
        firsts = store.first_snapshots(NS, keys, owners)
        return len(firsts) + len(store.last_snapshots(NS, keys, day, owners))
    if name.startswith("one"):
        return sum(
            len(v)
            for read in (store.get_snapshots, store.get_fills, store.get_flows)
            for v in read(NS, keys[:1], accounts=owners).values()  # type: ignore[operator]
        )
    read = {"all snapshots": store.get_snapshots, "all fills": store.get_fills,
            "all flows": store.get_flows}[name]  # fmt: skip
    total = 0
    for at in range(0, len(keys), CHUNK):
        total += sum(len(v) for v in read(NS, keys[at : at + CHUNK], accounts=owners).values())  # type: ignore[operator]
    return total


def reads(path: Path, n: int, repeat: int) -> dict[str, float]:
    keys = [f"u{c}/k" for c in range(n)]
    owners = dict.fromkeys(keys, ACCOUNT)
    out: dict[str, list[float]] = {}
    counts: dict[str, int] = {}  # rows returned per read
    for _ in range(repeat):
        store = SqliteStore(path)  # freshly opened: nothing warm in this process
        for name in READS:
            started = time.perf_counter()
            got = _read(store, name, keys, owners)
            out.setdefault(name, []).append(time.perf_counter() - started)
            counts[name] = got
        store.close()
    for name, count in counts.items():
        print(f"  {name}: {count:,} rows")
    return {name: median(values) for name, values in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--fills-per-day", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: tmp)")
    args = parser.parse_args()
    directory = Path(args.dir or tempfile.mkdtemp(prefix="nija-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    print(f"load before: {os.getloadavg()[0]:.2f}")

    kept, elapsed, written = through_the_store(directory)
    each = elapsed / written * 1e3
    print(f"1 connection, {written:,} snapshots written one per fetch: {len(kept):,} kept "
          f"(= snapshots_to_keep), {elapsed:.1f} s ({each:.2f} ms a write)")  # fmt: skip

    path = directory / "many.sqlite3"
    timings = fill_store(path, kept, args.connections, args.fills_per_day)
    size = sum(os.stat(f"{path}{s}").st_size for s in ("", "-wal") if os.path.exists(f"{path}{s}"))
    n = args.connections
    print(f"{n:,} connections: {len(kept) * n:,} snapshots, "
          f"{args.fills_per_day * 365 * n:,} fills, {24 * n:,} flows")  # fmt: skip
    for name, seconds in timings.items():
        print(f"  {name}: {seconds:.1f} s")
    print(f"  file size: {size / 1e6:,.1f} MB ({size / n / 1e3:,.1f} KB a connection)")
    print(f"reads (median of {args.repeat}, fresh store each time):")
    for name, seconds in reads(path, n, args.repeat).items():
        print(f"  {name}: {seconds * 1e3:,.0f} ms")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:,.0f} MB; load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
