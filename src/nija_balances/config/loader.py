"""Load the TOML config (or a NIJA `config/users/` directory) into frozen dataclasses.

Every problem becomes one `ConfigError` naming the file, the line where one can be found,
the key path, what was expected, and a hint. Nothing here talks to the network. A
connection's adapter-specific keys are declared and checked by its adapter
(`AdapterSpec.options`); the common keys are checked here.
"""

from __future__ import annotations

import stat
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nija_balances.config.credentials import candidate_env_names
from nija_balances.config.locations import config_env_files, config_namespace
from nija_balances.config.syntax import (
    ConfigError,
    Locator,
    dotted,
    number_value,
    string_value,
    table_value,
    text_problem,
    unknown_key,
    user_id_problem,
)
from nija_balances.domain.models import (
    DEFAULT_STABLECOINS,
    PLATFORM_ID,
    AccountConfig,
    Config,
    ConnectionConfig,
    Settings,
)

if TYPE_CHECKING:
    from nija_balances.adapters.interface import AdapterSpec

DEMO_RESOURCE = "demo.toml"
SETTINGS_KEYS = ("cache_ttl", "timeout", "max_in_flight", "quote", "basis", "stablecoins")
ACCOUNT_KEYS = ("name", "enabled")
CONNECTION_KEYS = (
    "exchange",
    "api_key_env",
    "api_secret_env",
    "api_passphrase_env",
    "api_key",
    "api_secret",
    "api_passphrase",
    "ccxt",
)  # common to every connection; an adapter adds its own (`AdapterSpec.options`)
INLINE_SECRET_KEYS = ("api_key", "api_secret", "api_passphrase")
TOP_KEYS = ("settings", "platform", "master", "users")


def _parse_settings(loc: Locator, raw: Any) -> Settings:
    table = table_value(loc, ("settings",), raw, "[settings]")
    for key in table:
        if key not in SETTINGS_KEYS:
            raise unknown_key(loc, ("settings", key), SETTINGS_KEYS)
    defaults = Settings()
    basis = table.get("basis", defaults.basis)
    if basis not in ("equity", "cash"):
        raise loc.error(
            ("settings", "basis"),
            f'expected "equity" or "cash", got {basis!r}',
            hint='"equity" values every asset; "cash" counts the quote currency and stablecoins',
        )
    max_in_flight = table.get("max_in_flight", defaults.max_in_flight)
    if isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) or max_in_flight < 1:
        raise loc.error(
            ("settings", "max_in_flight"), f"expected a whole number >= 1, got {max_in_flight!r}"
        )
    coins = table.get("stablecoins", list(DEFAULT_STABLECOINS))
    if not isinstance(coins, list) or not all(isinstance(c, str) and c.strip() for c in coins):
        raise loc.error(
            ("settings", "stablecoins"), f"expected a list of currency codes, got {coins!r}"
        )
    return Settings(
        cache_ttl=number_value(loc, ("settings", "cache_ttl"), table.get("cache_ttl", 120), 0),
        timeout=number_value(loc, ("settings", "timeout"), table.get("timeout", 15), 0.1),
        max_in_flight=max_in_flight,
        quote=string_value(loc, ("settings", "quote"), table.get("quote", "USD")).upper(),
        basis=basis,
        stablecoins=tuple(c.strip().upper() for c in coins),
    )


def _only_for(owners: tuple[AdapterSpec, ...]) -> str:
    """The connections the adapters `owners` serve, for an error message."""
    served = [
        " or ".join(f'exchange = "{e}"' for e in sorted(spec.exchanges)) + " connections"
        if spec.exchanges
        else f"connections served by the {spec.name} adapter"
        for spec in owners
    ]
    return " or ".join(served)


def _parse_connection(
    loc: Locator, account: str, name: str, raw: Mapping[str, Any], path: tuple[str, ...]
) -> ConnectionConfig:
    from nija_balances.adapters.registry import (
        find_adapter,
        is_known_exchange,
        option_owners,
        suggest_exchange,
    )

    owners = option_owners()
    known = (*CONNECTION_KEYS, *owners)
    named = raw.get("exchange", name)
    for key in raw:
        if key in known:
            continue
        # a key that only a plugin adapter declares is known to connections of its exchange
        plugin = find_adapter(named.strip().lower()) if isinstance(named, str) else None
        if plugin is None or key not in plugin.options:
            raise unknown_key(loc, (*path, key), known)
    exchange = string_value(loc, (*path, "exchange"), named).lower()
    if not is_known_exchange(exchange):
        guess = suggest_exchange(exchange)
        where = (*path, "exchange") if "exchange" in raw else path
        raise loc.error(
            where,
            f"unknown exchange '{exchange}'" + (f" (did you mean '{guess}'?)" if guess else ""),
            hint="use a ccxt exchange id (kraken, coinbase, binance, okx, alpaca, ...) or 'paper'; "
            'a connection named otherwise needs exchange = "..."',
        )
    adapter = find_adapter(exchange)  # None: a known broker no adapter serves
    accepted = adapter.options if adapter is not None else {}
    for key in raw:
        if key not in CONNECTION_KEYS and key not in accepted:
            if key not in owners:  # declared by a plugin adapter of another exchange
                raise unknown_key(loc, (*path, key), known)
            raise loc.error((*path, key), f"'{key}' is only for {_only_for(owners[key])}")
    ccxt_options = table_value(
        loc, (*path, "ccxt"), raw.get("ccxt", {}), "ccxt constructor options"
    )
    optional: dict[str, str | None] = {}
    for key in ("api_key_env", "api_secret_env", "api_passphrase_env", *INLINE_SECRET_KEYS):
        # Inline secrets: only the key is named in errors, never the value.
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise loc.error((*path, key), f"expected a string, got {type(value).__name__}")
        optional[key] = value
    return ConnectionConfig(
        account=account,
        name=name,
        exchange=exchange,
        api_key_env=optional["api_key_env"],
        api_secret_env=optional["api_secret_env"],
        api_passphrase_env=optional["api_passphrase_env"],
        api_key=optional["api_key"],
        api_secret=optional["api_secret"],
        api_passphrase=optional["api_passphrase"],
        ccxt=dict(ccxt_options),
        options=adapter.read_options(loc, path, raw) if adapter is not None else {},
    )


def _parse_account(
    loc: Locator, account_id: str, kind: str, raw: Any, path: tuple[str, ...], default_name: str
) -> AccountConfig:
    table = table_value(loc, path, raw, "an account")
    connections: list[ConnectionConfig] = []
    for key, value in table.items():
        if isinstance(value, Mapping):
            if not key.strip():
                raise loc.error((*path, key), "a connection name may not be empty")
            if (problem := text_problem(key)) is not None:
                raise loc.error((*path, key), f"a connection name may not contain {problem}")
            connections.append(_parse_connection(loc, account_id, key, value, (*path, key)))
        elif key not in ACCOUNT_KEYS:
            error = unknown_key(loc, (*path, key), ACCOUNT_KEYS)
            error.hint = f"{error.hint}; a connection is a table: [{dotted((*path, key))}]"
            raise error
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise loc.error((*path, "enabled"), f"expected true or false, got {enabled!r}")
    name = table.get("name", default_name)
    return AccountConfig(
        id=account_id,
        kind="platform" if kind == "platform" else "user",
        name=string_value(loc, (*path, "name"), name),
        enabled=enabled,
        connections=tuple(connections),
    )


def parse_document(data: Mapping[str, Any], file: Path | None, text: str) -> Config:
    """Validate a parsed TOML document and build the `Config`."""
    alias = {"platform": "master"} if "master" in data and "platform" not in data else {}
    loc = Locator(file, text, alias)
    for key in data:
        if key not in TOP_KEYS:
            raise unknown_key(loc, (key,), TOP_KEYS)
    if "platform" in data and "master" in data:
        raise loc.error(
            ("master",),
            "both [platform] and [master] are present",
            hint="[master] is the older name of [platform]: keep one",
        )
    settings = _parse_settings(loc, data.get("settings", {}))
    platform = _parse_account(
        loc,
        PLATFORM_ID,
        "platform",
        data.get("platform", data.get("master", {})),
        ("platform",),
        "Nija System",
    )
    users_raw = table_value(loc, ("users",), data.get("users", {}), "[users.ID] tables")
    if not users_raw:
        raise loc.error(
            ("users",),
            "no users are configured",
            hint="add one with `nija config add-user ID`, or a [users.ID] table",
        )
    users: list[AccountConfig] = []
    for user_id, raw in users_raw.items():
        if (bad := user_id_problem(user_id)) is not None:
            raise loc.error(("users", user_id), bad[0], hint=bad[1])
        users.append(_parse_account(loc, user_id, "user", raw, ("users", user_id), user_id))
    _check_shared_keys(loc, (platform, *users))
    return Config(
        settings=settings,
        platform=platform,
        users=tuple(users),
        source=file,
        namespace=config_namespace(file),
        env_files=config_env_files(file),
        warnings=_secret_warnings(file, data),
    )


def shared_key_problem(
    conn: ConnectionConfig, first: ConnectionConfig, variable: str
) -> tuple[str, str]:
    """`conn` reads the API key variable `first` reads: they would show one account twice."""
    where = "platform" if first.account == PLATFORM_ID else f"users.{dotted((first.account,))}"
    other = f"{where}.{dotted((first.name,))}"
    hint = 'give one of them api_key_env = "..." and api_secret_env = "..."'
    if first.account != conn.account:
        hint += (
            " (in variable names a user id is upper-cased and every character other than "
            "A-Z and 0-9 becomes '_'), or rename one of the users"
        )
    return (
        f"reads the same API key variable as {other} ({variable}), "
        "so both would show the same account and it would be counted twice",
        hint,
    )


def _check_shared_keys(loc: Locator, accounts: tuple[AccountConfig, ...]) -> None:
    """Two connections reading one API key by convention are one account counted twice.

    One user may read one key twice with different `ccxt` settings (Binance spot and
    futures wallets are one key); two users never can.
    """
    readers: dict[str, list[ConnectionConfig]] = {}
    for account in accounts:
        for conn in account.connections:
            if conn.exchange == "paper" or conn.api_key_env or conn.api_key:
                continue
            variable = candidate_env_names(conn, "API_KEY")[0]
            earlier = readers.setdefault(variable, [])
            first = next(
                (c for c in earlier if c.account != conn.account or c.ccxt == conn.ccxt), None
            )
            earlier.append(conn)
            if first is not None:
                top = "platform" if account.kind == "platform" else "users"
                path = (top, conn.name) if top == "platform" else (top, account.id, conn.name)
                raise loc.error(path, *shared_key_problem(conn, first, variable))


def _has_inline_secret(data: Any) -> bool:
    if isinstance(data, Mapping):
        return any(
            (k in INLINE_SECRET_KEYS and isinstance(v, str) and v.strip()) or _has_inline_secret(v)
            for k, v in data.items()
        )
    return False


def _secret_warnings(file: Path | None, data: Mapping[str, Any]) -> tuple[str, ...]:
    if file is None or not _has_inline_secret(data):
        return ()
    mode = file.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        return (
            f"{file} holds API secrets and is readable by other users "
            f"(mode {stat.S_IMODE(mode):o}); run: chmod 600 {file}",
        )
    return ()


def load_toml(path: Path) -> Config:
    """Read and validate a TOML config file."""
    try:
        if not stat.S_ISREG(mode := path.stat().st_mode) and not stat.S_ISDIR(mode):
            raise ConfigError(  # reading a named pipe would wait forever
                "not a regular file (a pipe, socket or device)",
                file=path,
                hint="point --config at a TOML file or a NIJA users directory",
            )
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "config file not found",
            file=path,
            hint="create one with `nija init`, or try the built-in demo: `nija show --demo`",
        ) from None
    except IsADirectoryError:
        raise ConfigError("is a directory", file=path) from None
    except PermissionError:
        raise ConfigError("cannot read the file (permission denied)", file=path) from None
    except OSError as exc:  # a file on the way (a/file/c.toml), a symlink loop, a long name
        raise ConfigError(f"cannot read the file ({exc.strerror or exc})", file=path) from None
    try:
        text = raw_bytes.decode("utf-8-sig")  # a byte-order mark (Windows editors) is dropped
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})",
            file=path,
            hint="save the file as UTF-8",
        ) from None
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ConfigError(
            "invalid TOML: arrays or inline tables nested too deeply",
            file=path,
            hint="a config needs no more than a few levels of nesting",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        line = None
        if "(at line " in message:
            detail, _, pos = message.rpartition(" (at line ")
            message = detail
            line = int(pos.split(",")[0])
        raise ConfigError(
            f"invalid TOML: {message}",
            file=path,
            line=line,
            hint="check quotes, brackets and `key = value` syntax on that line",
        ) from None
    return parse_document(data, path, text)


def load_demo() -> Config:
    """The demo config shipped inside the package (the seeds' example, as paper accounts)."""
    from importlib import resources

    text = (
        resources.files("nija_balances.config").joinpath(DEMO_RESOURCE).read_text(encoding="utf-8")
    )
    return replace(parse_document(tomllib.loads(text), None, text), demo=True)


def load_config(path: Path | None = None, *, demo: bool = False) -> Config:
    """Load the demo, a TOML file, or a NIJA `config/users/` directory (default path if None)."""
    if demo:
        return load_demo()
    from nija_balances.paths import default_config_path

    target = path if path is not None else default_config_path()
    try:
        is_dir = target.is_dir()
    except OSError:  # e.g. a name too long: load_toml says what is wrong
        is_dir = False
    if is_dir:
        from nija_balances.config.nija.reader import load_nija_directory

        return load_nija_directory(target)
    return load_toml(target)
