"""What a NIJA users directory holds once read: users, their broker connections, and where
each was found (`Origin`: file, array index, line); plus broker-name normalisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from nija_balances.domain.syntax import ConfigError

BROKER_ALIASES = {
    "coinbase_advanced": "coinbase",
    "coinbase_advanced_trade": "coinbase",
    "ibkr": "interactive_brokers",
    "interactivebrokers": "interactive_brokers",
    "tdameritrade": "td_ameritrade",
}
ENTRY_KEYS = ("user_id", "name", "account_type", "broker_type", "enabled")
ARRAY_HINT = 'each entry looks like {"user_id": "alice", "name": "Alice", "broker_type": "kraken"}'


def normalise_broker(raw: str) -> str:
    """`"Coinbase"`, `"BrokerType.KRAKEN"`, `"interactive brokers"` -> registry ids."""
    text = raw.strip().lower().removeprefix("brokertype.")
    text = re.sub(r"[\s\-]+", "_", text)
    return BROKER_ALIASES.get(text, text)


@dataclass(frozen=True)
class Origin:
    """Where an entry was found: `retail_kraken.json[1]` (line 8)."""

    file: Path
    index: str = ""  # "[1]" in array files, "" for per-user files
    line: int | None = None

    @property
    def label(self) -> str:
        return f"{self.file.name}{self.index}"


@dataclass
class NijaConnection:
    broker: str  # as written in the file
    exchange: str  # registry id
    enabled: bool
    origin: Origin
    also: list[Origin] = field(default_factory=list)  # the same account, listed again

    @property
    def origins(self) -> list[Origin]:
        return [self.origin, *self.also]


@dataclass
class NijaUser:
    id: str
    name: str | None = None
    account_types: list[str] = field(default_factory=list)
    connections: list[NijaConnection] = field(default_factory=list)
    origins: list[Origin] = field(default_factory=list)
    enabled_flags: list[bool] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return any(self.enabled_flags) if self.enabled_flags else True

    def active_connections(self) -> list[NijaConnection]:
        """All connections of a disabled user; only the enabled entries of an enabled one."""
        if not self.enabled:
            return list(self.connections)
        return [c for c in self.connections if c.enabled]


@dataclass(frozen=True)
class Skip:
    """What a lenient scan left out (an entry, a connection, a file) and why.

    `str`: `retail_kraken.json:10: [1]: invalid JSON: ...` (the file's full path).
    """

    file: Path | None
    line: int | None
    key_path: str | None
    reason: str
    hint: str | None = None

    @classmethod
    def of(cls, error: ConfigError) -> Skip:
        return cls(error.file, error.line, error.key_path, error.problem, error.hint)

    def __str__(self) -> str:
        return str(ConfigError(self.reason, self.file, self.line, self.key_path))


@dataclass
class Scan:
    """What a NIJA directory holds, and (lenient scans) what had to be skipped."""

    directory: Path
    files: list[Path] = field(default_factory=list)
    users: dict[str, NijaUser] = field(default_factory=dict)
    problems: list[ConfigError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # read as NIJA reads it, but look
    notes: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> tuple[Skip, ...]:
        """Every entry, connection or file left out, with file, line, key path and reason."""
        return tuple(Skip.of(p) for p in self.problems)
