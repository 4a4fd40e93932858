"""The five mock exchanges (tests/mockex) in a process of their own, driven over a pipe.

The benchmark's client runs in another process, so the mocks' CPU (signature checks, JSON,
the injected latency timers) never counts against the client's wall time, CPU or RSS.

    with MockProcess(latency=0.2) as mocks:
        conns = mocks.setup(300)          # 300 accounts spread over the five exchanges
        mocks.reset()
        ...                               # run the client against mocks.overrides[exchange]
        counts = mocks.counts()           # {exchange: {"markets": n, "ticker": n, ...}}

Every request is counted per exchange as `markets` (any public endpoint but the ticker:
markets, currencies, assets), `ticker`, `private` (balances), or `unexpected` (404).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXCHANGES = ("kraken", "coinbase", "binance", "okx", "alpaca")

#: (available, held) per currency, scaled per account; every exchange holds assets to price.
BALANCES: dict[str, dict[str, tuple[str, str]]] = {
    "kraken": {
        "USD": ("1000.50", "0"),
        "BTC": ("0.5", "0.1"),
        "ETH": ("2", "0"),
        "SOL": ("3", "0"),
    },
    "coinbase": {"USD": ("800", "25"), "BTC": ("0.2", "0"), "SOL": ("10", "1")},
    "binance": {"USDT": ("1500", "0"), "BTC": ("0.1", "0.05"), "ETH": ("1", "0")},
    "okx": {"USDT": ("700", "0"), "ETH": ("3", "0"), "SOL": ("4", "0")},
}


def _classify(exchange: str, path: str, query: Any) -> str:
    from mockex.harness import PRIVATE_PATH, TICKER_PATH

    if path.startswith(PRIVATE_PATH[exchange]):
        return "private"
    if path == TICKER_PATH.get(exchange) and (exchange != "coinbase" or "product_ids" in query):
        return "ticker"
    return "markets"


class _Mocks:
    """Inside the mock process: the running mocks and their per-category counters."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.mocks: dict[str, Any] = {}
        self.stats: dict[str, Counter[str]] = {ex: Counter() for ex in EXCHANGES}

    async def start(self) -> None:
        from mockex import MOCKS

        for exchange in EXCHANGES:
            mock = MOCKS[exchange]()
            original = mock._dispatch
            stats = self.stats[exchange]

            async def counted(
                request: Any, original: Any = original, stats: Any = stats, ex: str = exchange
            ) -> Any:
                kind = _classify(ex, request.path, request.query)
                stats[kind] += 1
                response = await original(request)
                if response.status == 404:
                    stats["unexpected"] += 1
                return response

            mock._dispatch = counted  # the route is bound on entry: counts every request
            await mock.__aenter__()
            if self.latency > 0:
                mock.inject("latency", seconds=self.latency)
            self.mocks[exchange] = mock

    async def stop(self) -> None:
        for mock in self.mocks.values():
            await mock.__aexit__(None, None, None)

    def setup(self, n: int) -> list[dict[str, Any]]:
        """Replace every account: `n` connections round-robin over the exchanges, one key each."""
        from mockex import Position
        from mockex.harness import add_account

        for mock in self.mocks.values():
            mock.accounts.clear()
            if hasattr(mock, "_nonces"):
                mock._nonces.clear()
        conns = []
        for i in range(n):
            exchange = EXCHANGES[i % len(EXCHANGES)]
            mock = self.mocks[exchange]
            scale = 1 + (i % 7) / 10
            if exchange == "alpaca":
                positions = [
                    Position("AAPL", str(5 + i % 3), "190.25"),
                    Position("BTCUSD", "0.05", "60000", asset_class="crypto"),
                ]
                creds = add_account(mock, cash=f"{2500 * scale:.2f}", positions=positions)
            else:
                balances = {
                    code: (f"{float(free) * scale:.8f}", held)
                    for code, (free, held) in BALANCES[exchange].items()
                }
                creds = add_account(mock, balances)
            conns.append(
                {
                    "user": f"u{i:04d}",
                    "exchange": exchange,
                    "key": creds.api_key,
                    "secret": creds.api_secret,
                    "passphrase": creds.api_passphrase,
                }
            )
        return conns

    def fault(self, exchange: str, kind: str, keys: list[str]) -> None:
        """A fault on the private requests of each of `keys` (until `clear`)."""
        from mockex.harness import PRIVATE_PATH

        for key in keys:
            self.mocks[exchange].inject(kind, key=key, path=PRIVATE_PATH[exchange])

    def clear(self) -> None:
        for mock in self.mocks.values():
            mock.clear_faults()

    def reset(self) -> None:
        for exchange, mock in self.mocks.items():
            mock.requests.clear()
            mock.max_in_flight = 0
            mock.unexpected.clear()
            self.stats[exchange].clear()

    def counts(self) -> dict[str, dict[str, Any]]:
        return {
            exchange: {
                **{k: self.stats[exchange][k] for k in ("markets", "ticker", "private")},
                "unexpected": self.stats[exchange]["unexpected"],
                "max_in_flight": mock.max_in_flight,
                "paths": dict(mock.requests),
            }
            for exchange, mock in self.mocks.items()
        }


def _serve(pipe: Any, latency: float) -> None:
    sys.path.insert(0, str(ROOT / "tests"))

    async def main() -> None:
        mocks = _Mocks(latency)
        await mocks.start()
        pipe.send({ex: m.ccxt_overrides() for ex, m in mocks.mocks.items()})
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def on_command() -> None:
            command, arg = pipe.recv()
            if command == "stop":
                loop.remove_reader(pipe.fileno())
                done.set_result(None)
                return
            pipe.send(getattr(mocks, command)(*arg))

        loop.add_reader(pipe.fileno(), on_command)
        await done
        await mocks.stop()
        pipe.send("stopped")

    asyncio.run(main())


class MockProcess:
    """The parent's handle on the mock process (a context manager)."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.overrides: dict[str, dict[str, Any]] = {}
        ctx = multiprocessing.get_context("spawn")
        self._pipe, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, latency), daemon=True)

    def __enter__(self) -> MockProcess:
        self._process.start()
        try:
            if not self._pipe.poll(60):
                raise RuntimeError("the mock process did not start within 60 s")
            self.overrides = self._pipe.recv()
        except EOFError:
            raise RuntimeError("the mock process died while starting (see its traceback)") from None
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._pipe.send(("stop", ()))
            if self._pipe.poll(10):
                self._pipe.recv()
        finally:
            self._process.join(10)
            if self._process.is_alive():
                self._process.terminate()

    @property
    def pid(self) -> int:
        return self._process.pid or 0

    def _call(self, command: str, *arg: Any) -> Any:
        self._pipe.send((command, arg))
        if not self._pipe.poll(120):
            raise RuntimeError(f"the mock process did not answer {command!r} within 120 s")
        return self._pipe.recv()

    def setup(self, n: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("setup", n)
        return result

    def reset(self) -> None:
        self._call("reset")

    def fault(self, exchange: str, kind: str, keys: list[str]) -> None:
        self._call("fault", exchange, kind, keys)

    def clear(self) -> None:
        self._call("clear")

    def counts(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = self._call("counts")
        return result
