"""First sync of one account's trades through `CcxtAdapter.history_pages`, against a mock.

The mock (tests/mockex: Kraken by default, or Binance) runs in a process of its own with one
account holding N fills, served with the exchange's real page size (Kraken 50, Binance up to
1000); its CPU does not count against the client. The client consumes the pages as a store
would (counts them, keeps nothing) and reports wall time, its own CPU, pages, requests
(counted by the mock), peak RSS growth (VmHWM - VmRSS before the sync) and, in a second run
with tracemalloc, the peak of Python allocations during the sync.

    .venv/bin/python benchmarks/history_sync.py                  # kraken, 10,000 and 2,000 fills
    .venv/bin/python benchmarks/history_sync.py --exchange binance --trades 10000
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
import tracemalloc
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

T0 = 1_700_000_000_000
SYMBOL = {"kraken": "BTC/USD", "binance": "BTC/USDT"}
FILL_PATH = {"kraken": "/0/private/TradesHistory", "binance": "/api/v3/myTrades"}


def _trades(exchange: str, n: int) -> list[Any]:
    from mockex import MockTrade

    return [
        MockTrade(
            id=str(10_000_000 + i) if exchange == "binance" else f"T{i:07d}-BENCH-{i % 97:05d}",
            order=str(5_000_000 + i // 2) if exchange == "binance" else f"O{i // 2:07d}",
            time=T0 + i * 1000 + 7,
            symbol=SYMBOL[exchange],
            side="buy" if i % 2 == 0 else "sell",
            amount=f"0.{i % 9 + 1}25",
            price=f"{60000 + i % 1000}.5",
            fee=f"0.0{i % 9 + 1}",
        )
        for i in range(n)
    ]


def _serve(exchange: str, n: int, pipe: Connection) -> None:
    """The mock's process: one account with `n` fills; answers `counts` and `stop`."""

    async def main() -> None:
        from functools import lru_cache

        from mockex import MOCKS, kraken_history
        from mockex.harness import add_account

        # the Kraken mock renders every fill on every page (O(N) a request): its decimal
        # formatting, a pure function, is memoised so the mock keeps up with the client
        kraken_history.fixed = lru_cache(maxsize=None)(kraken_history.fixed)  # type: ignore[assignment]

        async with MOCKS[exchange]() as mock:
            creds = add_account(mock, trades=_trades(exchange, n))
            pipe.send((mock.ccxt_overrides(), creds.api_key, creds.api_secret))
            loop = asyncio.get_running_loop()
            while True:
                command = await loop.run_in_executor(None, pipe.recv)
                if command == "counts":
                    pipe.send((dict(mock.requests), time.process_time()))
                elif command == "stop":
                    return

    asyncio.run(main())


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])  # kB
    return 0


async def _sync(exchange: str, overrides: dict[str, Any], key: str, secret: str) -> dict[str, Any]:
    from nija_balances.adapters.ccxt.adapter import CcxtAdapter
    from nija_balances.adapters.interface import HistoryRequest
    from nija_balances.domain.models import ConnectionConfig, Settings
    from nija_balances.domain.secrets import Credentials

    conn = ConnectionConfig(account="bench", name=exchange, exchange=exchange, ccxt=overrides)
    creds = Credentials(api_key=key, api_secret=secret)
    adapter = CcxtAdapter(exchange, Settings(timeout=30.0), None)
    request = HistoryRequest("trades", None, frozenset({"BTC", "USD"}), "USD")
    try:
        await adapter.history_instance(conn, creds)  # ccxt and markets loaded: not timed
        rss0 = _status("VmRSS")
        pages = fills = 0
        cursor = None
        cpu0, wall0 = time.process_time(), time.perf_counter()
        async for page in adapter.history_pages(conn, creds, request):
            pages += 1
            fills += len(page.fills)
            cursor = page.cursor
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        again = [
            p async for p in adapter.history_pages(conn, creds, replace(request, cursor=cursor))
        ]
    finally:
        await adapter.aclose()
    return {
        "wall": wall,
        "cpu": cpu,
        "pages": pages,
        "fills": fills,
        "rss_growth_kb": _status("VmHWM") - rss0,
        "cursor_bytes": len(cursor or ""),
        "second_sync_pages": len(again),
    }


def run(exchange: str, n: int, traced: bool) -> dict[str, Any]:
    """One first sync of `n` fills in a fresh child (RSS and tracemalloc are per process)."""
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(exchange, n, theirs), daemon=True)
    server.start()
    try:
        overrides, key, secret = ours.recv()
        child_ours, child_theirs = ctx.Pipe()
        client = ctx.Process(
            target=_client, args=(exchange, overrides, key, secret, traced, child_theirs)
        )
        client.start()
        result: dict[str, Any] = child_ours.recv()
        client.join()
        ours.send("counts")
        requests, mock_cpu = ours.recv()
        result["requests"] = requests.get(FILL_PATH[exchange], 0)
        result["all_requests"] = sum(requests.values())
        result["mock_cpu"] = mock_cpu
        ours.send("stop")
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    return result


def _client(
    exchange: str, overrides: dict[str, Any], key: str, secret: str, traced: bool, pipe: Connection
) -> None:
    import ccxt.async_support  # noqa: F401  (imported before the measure, as the adapter does)

    if traced:
        tracemalloc.start()
    result = asyncio.run(_sync(exchange, overrides, key, secret))
    if traced:
        result["traced_peak_kb"] = tracemalloc.get_traced_memory()[1] // 1024
        tracemalloc.stop()
    pipe.send(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchange", choices=sorted(SYMBOL), default="kraken")
    parser.add_argument("--trades", type=int, nargs="+", default=[10_000, 2_000])
    args = parser.parse_args()
    print(f"{args.exchange}: first sync of one account, fills consumed page by page")
    for n in args.trades:
        plain = run(args.exchange, n, traced=False)
        traced = run(args.exchange, n, traced=True)
        print(
            f"  {n:>6} fills: wall {plain['wall']:.2f} s, client CPU {plain['cpu']:.2f} s, "
            f"mock CPU {plain['mock_cpu']:.2f} s, {plain['pages']} pages, "
            f"{plain['requests']} trade requests ({plain['all_requests']} in all), "
            f"fills {plain['fills']}, RSS growth {plain['rss_growth_kb'] / 1024:.1f} MB, "
            f"tracemalloc peak {traced['traced_peak_kb'] / 1024:.1f} MB, "
            f"final cursor {plain['cursor_bytes']} B, second sync pages "
            f"{plain['second_sync_pages']}"
        )


if __name__ == "__main__":
    main()
