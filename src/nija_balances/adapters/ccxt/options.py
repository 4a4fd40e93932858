"""The keys a ccxt connection's table may hold beside the common ones, and their checks.

Read by the config loader on every run: imports no ccxt, no asyncio, no aiohttp.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nija_balances.adapters.interface import OptionSpec
from nija_balances.domain.syntax import Locator, text_problem

_SYMBOL = re.compile(r"[^/\s]+/[^/\s]+")


def trade_symbols(loc: Locator, path: tuple[str, ...], value: Any) -> tuple[str, ...]:
    """A list of ccxt market symbols (`BASE/QUOTE`, e.g. `BTC/USD`), each given once."""
    hint = 'write it as trade_symbols = ["BTC/USD", "ETH/USD"]'
    if not isinstance(value, list):
        raise loc.error(
            path,
            f'expected a list of "BASE/QUOTE" symbols, got {type(value).__name__} {value!r}',
            hint=hint,
        )
    symbols: list[str] = []
    for item in value:
        symbol = item.strip() if isinstance(item, str) else None
        if symbol is None or not _SYMBOL.fullmatch(symbol) or text_problem(symbol) is not None:
            raise loc.error(path, f'expected "BASE/QUOTE" symbols, got {item!r}', hint=hint)
        if symbol in symbols:
            raise loc.error(path, f"{symbol} is given twice", hint="keep one")
        symbols.append(symbol)
    return tuple(symbols)


OPTIONS: Mapping[str, OptionSpec] = {
    "trade_symbols": OptionSpec(
        trade_symbols,
        'markets whose trades are read beside those of the account\'s assets, as "BASE/QUOTE" '
        "(exchanges that list trades per market: Binance)",
    ),
}
