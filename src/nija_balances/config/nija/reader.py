"""Read a NIJA `config/users/` directory: as a config (strict) or for conversion (lenient).

Two kinds of JSON files live there:

- array files such as `retail_kraken.json` / `investor_alpaca.json`: a list of
  `{"user_id", "name", "account_type", "broker_type", "enabled"}` objects (the broker may
  also come from the file name);
- per-user files `ID.json`: one `{"name", "broker", "enabled"}` object (`broker` may be a
  list; the id is the file name).

A user found in several files gets all their brokers as connections, each named after the
broker. A user listed for one broker both in an array file and in their own file (NIJA's
usual layout) has one connection to it; listed twice in array files, the second entry is
a problem. One reader, one set of rules: loading as a config raises one `ConfigError`
listing every problem (file, line, key path); `scan_directory(..., strict=False)` (for
`config import`) keeps the rest and says what was skipped (`Scan.skipped`). The entries
are in `entries`, the reading and checking of the files in `scan`.
"""

from __future__ import annotations

import re
from pathlib import Path

from nija_balances.config.credentials import dotenv_warnings
from nija_balances.config.locations import config_env_files, config_namespace

# `name as name`: re-exported, so importing them from here keeps working
from nija_balances.config.nija.entries import (
    ARRAY_HINT,
    Scan,
)
from nija_balances.config.nija.scan import Scanner
from nija_balances.domain.models import (
    PLATFORM_ID,
    AccountConfig,
    Config,
    ConnectionConfig,
    Settings,
)
from nija_balances.domain.syntax import ConfigError
from nija_balances.domain.text import safe_text

PLATFORM_NAME = "Nija System"


def nija_first_name(user_id: str) -> str:
    """What the original NIJA put in env var names: `daivon_frazier` -> `daivon`."""
    return re.split(r"[^A-Za-z0-9]", user_id.strip(), maxsplit=1)[0] or user_id


def scan_directory(directory: Path, *, strict: bool = True) -> Scan:
    """Read every `*.json` file of a NIJA users directory, by the same rules either way:
    `strict` raises one `ConfigError` listing every problem; lenient keeps them in
    `Scan.problems` (what was skipped) with the rest of the directory."""
    scan = Scanner(directory, for_import=not strict).run()
    if strict and scan.problems:
        raise ConfigError.several(scan.problems, directory)
    for user in scan.users.values():
        left_out = [c for c in user.connections if c not in user.active_connections()]
        for conn in left_out:
            scan.notes.append(
                f"user '{user.id}': the {conn.exchange} entry in {conn.origin.label} is disabled "
                "while the user is enabled elsewhere; that connection is left out"
            )
    return scan


def build_config(scan: Scan) -> Config:
    """The `Config` of a scanned directory: its users, default settings, an empty platform."""
    if not scan.users:
        raise ConfigError(
            "no users found in the NIJA user files",
            file=scan.directory,
            hint="add entries such as " + ARRAY_HINT.removeprefix("each entry looks like "),
        )
    users = tuple(
        AccountConfig(
            id=user.id,
            kind="user",
            name=user.name or user.id,
            enabled=user.enabled,
            connections=tuple(
                ConnectionConfig(account=user.id, name=c.exchange, exchange=c.exchange)
                for c in user.active_connections()
            ),
        )
        for user in scan.users.values()
    )
    env_files = config_env_files(scan.directory)
    connections = [c for u in users for c in u.connections]
    return Config(
        settings=Settings(),
        platform=AccountConfig(id=PLATFORM_ID, kind="platform", name=PLATFORM_NAME),
        users=users,
        source=scan.directory,
        namespace=config_namespace(scan.directory),
        env_files=env_files,
        warnings=(
            *(safe_text(w) for w in (*scan.warnings, *scan.notes)),
            *dotenv_warnings(env_files, connections),
        ),
    )


def load_nija_directory(path: Path) -> Config:
    """Load a NIJA `config/users/` directory as a config; a `ConfigError` lists every problem."""
    return build_config(scan_directory(path, strict=True))
