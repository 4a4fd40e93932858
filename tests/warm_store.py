"""A config of three connections and a store holding a cached value for each: what
`test_warm_path` and `test_replay` run a warm `nija show` over."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

from nija_balances.config.credentials import resolve
from nija_balances.config.loader import load_toml
from nija_balances.domain.models import AssetValue, StoredResult, Valuation
from nija_balances.engine.planning import account_hash
from nija_balances.store.sqlite import SqliteStore

CONFIG = "[platform.kraken]\n[users.alice.kraken]\n[users.bob.coinbase]\n"
CREDS = {
    "KRAKEN_PLATFORM_API_KEY": "k1",
    "KRAKEN_PLATFORM_API_SECRET": "s",
    "KRAKEN_USER_ALICE_API_KEY": "k2",
    "KRAKEN_USER_ALICE_API_SECRET": "s",
    "COINBASE_USER_BOB_API_KEY": "k3",
    "COINBASE_USER_BOB_API_SECRET": "s",
}


def fill(
    cfg: Path, amount: str = "100", creds: dict[str, str] = CREDS, store: Path | None = None
) -> None:
    """Store `amount` USD, fetched 30 s ago, for every connection of `cfg` (the keys of
    `creds` make the exchange accounts the values belong to)."""
    config = load_toml(cfg)
    usd = AssetValue(
        "USD", Decimal(amount), Decimal(0), Decimal(amount), Decimal(1), Decimal(amount)
    )
    value = Valuation(Decimal(amount), Decimal(amount), (usd,))
    with SqliteStore(store) as opened:
        opened.put_many(
            config.namespace,
            {c.key: StoredResult(c.exchange, value, time.time() - 30,
                                 account=account_hash(c, resolve(c, creds)))
             for a in config.accounts for c in a.connections},
        )  # fmt: skip
