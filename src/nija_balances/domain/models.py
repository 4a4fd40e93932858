"""Frozen data model shared by every part of nija-balances.

Config objects describe what the operator configured; report objects describe what one
refresh found. Every renderer (table, JSON, live view, API) reads the same `Portfolio`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

CENT = Decimal("0.01")
ZERO = Decimal(0)

AccountKind = Literal["platform", "user"]
Basis = Literal["equity", "cash"]
PLATFORM_ID = "platform"


def to_cents(amount: Decimal) -> Decimal:
    """Round money to the cent, half away from zero (how people round money)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def freeze(value: Any) -> Any:
    """`value` read-only all the way down: mappings as read-only mappings, lists as tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


class Status(StrEnum):
    """The status words a connection is reported with (table, JSON, `nija status`)."""

    OK = "ok"
    CACHED = "cached"
    STALE = "stale"
    NO_CREDENTIALS = "no_credentials"
    DISABLED = "disabled"
    AUTH_FAILED = "auth_failed"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    UNSUPPORTED = "unsupported"
    ERROR = "error"

    @property
    def counted(self) -> bool:
        """Whether a connection in this status is part of the totals."""
        return self in (Status.OK, Status.CACHED, Status.STALE)

    @property
    def healthy(self) -> bool:
        """Whether this status is fine for `nija status` (exit 0)."""
        return self in (Status.OK, Status.CACHED)


# ---------------------------------------------------------------------------- config


DEFAULT_STABLECOINS: tuple[str, ...] = ("USDT", "USDC", "DAI", "PYUSD", "FDUSD", "TUSD", "USDP")


@dataclass(frozen=True)
class StoreSettings:
    """The `[store]` table: which store to use (None: the local SQLite file).

    `url` is `sqlite:///path`, `redis://host:port/db` or `rediss://...` (TLS), never with a
    password in it: the password is read from the environment variable `password_env`.
    `namespace` separates configs sharing one store (a Redis store defaults to "default",
    so every host with the same config shares its entries)."""

    url: str | None = None
    password_env: str | None = None
    namespace: str | None = None

    @property
    def scheme(self) -> str:
        """ "sqlite", "redis" or "rediss"."""
        return "sqlite" if self.url is None else self.url.split(":", 1)[0].lower()

    @property
    def shared_namespace(self) -> str | None:
        """The namespace every config using this store shares: `namespace`, else "default"
        for Redis (every host running the config shares its entries); None: per config file."""
        if self.namespace is not None:
            return self.namespace
        return "default" if self.scheme in ("redis", "rediss") else None


@dataclass(frozen=True)
class Settings:
    """The `[settings]` table (and `[store]`, in `store`)."""

    cache_ttl: float = 120.0
    timeout: float = 15.0
    max_in_flight: int = 64
    quote: str = "USD"
    basis: Basis = "equity"
    stablecoins: tuple[str, ...] = DEFAULT_STABLECOINS
    timezone: str = "UTC"  # IANA name: the days of the daily P&L
    store: StoreSettings = field(default_factory=StoreSettings)


@dataclass(frozen=True)
class ConnectionConfig:
    """One configured connection of one account to one exchange.

    Inline secrets are held here only when the config file had them; `repr` never shows them.
    `options` holds the adapter-specific keys of the connection's table (paper's `balances`
    and `prices`, ccxt's `trade_symbols`), as checked by that adapter's `AdapterSpec.options`;
    it is read-only all the way down.
    """

    account: str
    name: str
    exchange: str
    api_key_env: str | None = None
    api_secret_env: str | None = None
    api_passphrase_env: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api_secret: str | None = field(default=None, repr=False)
    api_passphrase: str | None = field(default=None, repr=False)
    ccxt: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", freeze(self.options))

    @property
    def key(self) -> str:
        """Stable identity `account/connection` used by the cache and the live view."""
        return f"{self.account}/{self.name}"


@dataclass(frozen=True)
class AccountConfig:
    """The platform account or one user account."""

    id: str
    kind: AccountKind
    name: str
    enabled: bool = True
    connections: tuple[ConnectionConfig, ...] = ()


@dataclass(frozen=True)
class AlertRules:
    """When an account raises alerts (`[alerts]`, or its `[users.ID.alerts]` override).

    `low_balance` / `drop_percent` of None turn that alert off. `hysteresis` is a percent of
    the threshold an alert must clear to resolve. `notify` names environment variables that
    hold apprise URLs (never the URLs: they carry tokens).
    """

    low_balance: Decimal | None = None
    drop_percent: Decimal | None = Decimal(10)
    drop_window: timedelta = timedelta(hours=1)
    repeat_after: timedelta = timedelta(hours=6)
    failing_after: timedelta = timedelta(minutes=15)
    hysteresis: Decimal = Decimal(5)
    notify: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertSettings:
    """The `[alerts]` table: the rules, per-account overrides and the monitor's sinks."""

    rules: AlertRules = AlertRules()
    overrides: tuple[tuple[str, AlertRules], ...] = ()  # (account id, its whole rules)
    log_every: timedelta = timedelta(hours=1)
    json_file: Path | None = None  # a JSON-lines file every notification is appended to
    command: tuple[str, ...] = ()  # run per notification, the alert as JSON on stdin

    def for_account(self, account_id: str) -> AlertRules:
        return next((r for a, r in self.overrides if a == account_id), self.rules)


@dataclass(frozen=True)
class Config:
    """A loaded, validated configuration."""

    settings: Settings
    platform: AccountConfig
    users: tuple[AccountConfig, ...]
    source: Path | None = None  # file or NIJA users directory; None for built-in demo
    namespace: str = "default"  # separates cache entries of different configs
    env_files: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = ()  # shown on stderr, e.g. inline secrets in a shared file
    demo: bool = False  # the built-in demo (simulated accounts): every output says so
    alerts: AlertSettings = AlertSettings()

    @property
    def accounts(self) -> tuple[AccountConfig, ...]:
        return (self.platform, *self.users)

    def user(self, user_id: str) -> AccountConfig | None:
        return next((u for u in self.users if u.id == user_id), None)


# ---------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class AssetAmount:
    """What an exchange reported for one currency (free + used = total)."""

    currency: str
    free: Decimal
    used: Decimal
    total: Decimal


@dataclass(frozen=True)
class AssetValue:
    """One asset with its price and USD value; `price`/`value` are None when unpriced."""

    currency: str
    free: Decimal
    used: Decimal
    total: Decimal
    price: Decimal | None
    value: Decimal | None


@dataclass(frozen=True)
class Valuation:
    """A connection's holdings valued in the quote currency; every figure in cents.

    `cash` and `equity` are sums of the asset values shown, so they add up to the cent.
    """

    cash: Decimal
    equity: Decimal
    assets: tuple[AssetValue, ...]
    unpriced: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredResult:
    """What the store keeps of a connection: its last good valuation (None if no fetch has
    succeeded yet), when it was fetched, how long it took, whether the last attempt failed
    (what went wrong, when, with which status), and the exchange account it belongs to.

    `account` is a hash of the exchange, the key id and the settings that change what is
    read: a value fetched with another key or other settings is not this account's.
    """

    exchange: str
    valuation: Valuation | None
    fetched_at: float | None  # seconds since the epoch (UTC); None: never fetched
    latency_s: float | None = None
    failure: str | None = None
    failed_at: float | None = None
    failure_status: Status | None = None
    account: str | None = None

    @property
    def last_attempt(self) -> float:
        return max(self.fetched_at or 0.0, self.failed_at or 0.0)


@dataclass(frozen=True)
class ConnectionReport:
    """The state of one connection after a refresh."""

    account: str
    account_kind: AccountKind
    connection: str
    exchange: str
    status: Status
    balance: Decimal = ZERO  # figure of the basis, in cents
    cash: Decimal = ZERO
    equity: Decimal = ZERO
    fetched_at: datetime | None = None  # when the shown value was fetched (UTC)
    age_s: float | None = None
    latency_s: float | None = None
    error: str | None = None
    assets: tuple[AssetValue, ...] = ()
    unpriced: tuple[str, ...] = ()

    @property
    def counted(self) -> bool:
        return self.status.counted

    @property
    def key(self) -> str:
        return f"{self.account}/{self.connection}"


@dataclass(frozen=True)
class AccountReport:
    """One account (platform or user) with its connections and counted total."""

    id: str
    kind: AccountKind
    name: str
    enabled: bool
    connections: tuple[ConnectionReport, ...]

    @property
    def total(self) -> Decimal:
        return sum((c.balance for c in self.connections if c.counted), ZERO)

    @property
    def complete(self) -> bool:
        return all(c.counted for c in self.connections) if self.enabled else True


@dataclass(frozen=True)
class Summary:
    """The summary (users, capital, average) plus how many connections the totals cover."""

    platform_total: Decimal
    user_totals: Mapping[str, Decimal]
    total_user_capital: Decimal
    user_count: int
    average_per_user: Decimal
    connections_total: int
    connections_counted: int

    @property
    def complete(self) -> bool:
        return self.connections_counted == self.connections_total


@dataclass(frozen=True)
class Portfolio:
    """Everything one refresh found: the single model every output is made from."""

    generated_at: datetime  # local time with its offset (printed as local time, JSON in UTC)
    basis: Basis
    quote: str
    platform: AccountReport
    users: tuple[AccountReport, ...]
    summary: Summary
    demo: bool = False  # made from the built-in demo config: every output says so

    @property
    def accounts(self) -> tuple[AccountReport, ...]:
        return (self.platform, *self.users)

    @property
    def connections(self) -> tuple[ConnectionReport, ...]:
        return tuple(c for a in self.accounts for c in a.connections)

    def user(self, user_id: str) -> AccountReport | None:
        return next((u for u in self.users if u.id == user_id), None)


@dataclass(frozen=True)
class Holdings:
    """What one account holds on one exchange, as the adapter fetched it.

    `prices` are prices the adapter already knows for this account (paper config, Alpaca
    position prices), in the quote currency. `equity` overrides the computed equity when the
    exchange reports it itself (Alpaca's account equity).
    """

    assets: tuple[AssetAmount, ...]
    prices: Mapping[str, Decimal] = field(default_factory=dict)
    equity: Decimal | None = None
    cash: Decimal | None = None
