"""Parse and check a TOML config into frozen dataclasses (`load_toml`, `parse_document`).

Every problem becomes one `ConfigError` naming the file, the line where one can be found,
the key path, what was expected, and a hint. Nothing here talks to the network. Choosing
between the demo, a TOML file and a NIJA directory is `config.sources.load_config`. A
connection's adapter-specific keys are declared and checked by its adapter
(`AdapterSpec.options`); the common keys are checked here.
"""

from __future__ import annotations

import ast
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nija_balances.config.alerts import ALERTS_KEY, parse_alerts
from nija_balances.config.credentials import candidate_env_names, dotenv_warnings
from nija_balances.config.files import read_input
from nija_balances.config.locations import config_env_files, config_namespace
from nija_balances.config.store_section import parse_store
from nija_balances.domain.models import (
    DEFAULT_STABLECOINS,
    PLATFORM_ID,
    AccountConfig,
    Basis,
    Config,
    ConnectionConfig,
    Settings,
)
from nija_balances.domain.syntax import (
    ENV_NAME_HINT,
    ConfigError,
    Locator,
    Problems,
    UserIds,
    dotted,
    env_name_problem,
    key_problem,
    number_value,
    string_value,
    table_value,
    unknown_key,
    user_id_problem,
)

if TYPE_CHECKING:
    from nija_balances.adapters.interface import AdapterSpec

SETTINGS_KEYS = (
    "cache_ttl",
    "timeout",
    "max_in_flight",
    "quote",
    "basis",
    "stablecoins",
    "timezone",
)
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
TOP_KEYS = ("settings", "store", "platform", "master", "users", ALERTS_KEY)


def _basis(loc: Locator, table: Mapping[str, Any]) -> Basis:
    basis = table.get("basis", Settings().basis)
    if basis not in ("equity", "cash"):
        raise loc.error(
            ("settings", "basis"),
            f'expected "equity" or "cash", got {basis!r}',
            hint='"equity" values every asset; "cash" counts the quote currency and stablecoins',
        )
    return "cash" if basis == "cash" else "equity"


def _max_in_flight(loc: Locator, table: Mapping[str, Any]) -> int:
    value = table.get("max_in_flight", Settings().max_in_flight)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise loc.error(
            ("settings", "max_in_flight"), f"expected a whole number >= 1, got {value!r}"
        )
    return value


def _stablecoins(loc: Locator, table: Mapping[str, Any]) -> tuple[str, ...]:
    coins = table.get("stablecoins", list(DEFAULT_STABLECOINS))
    if not isinstance(coins, list) or not all(isinstance(c, str) and c.strip() for c in coins):
        raise loc.error(
            ("settings", "stablecoins"), f"expected a list of currency codes, got {coins!r}"
        )
    return tuple(c.strip().upper() for c in coins)


def _timezone(loc: Locator, table: Mapping[str, Any]) -> str:
    name = table.get("timezone", "UTC")
    path = ("settings", "timezone")
    hint = 'an IANA time zone name, e.g. "UTC", "Europe/London", "America/New_York"'
    if not isinstance(name, str) or not name.strip():
        raise loc.error(path, f"expected a time zone name, got {name!r}", hint=hint)
    name = name.strip()
    if name == "UTC":
        return name
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only when a zone is named

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        from difflib import get_close_matches
        from zoneinfo import available_timezones

        close = get_close_matches(name, sorted(available_timezones()), n=1)
        found = f"unknown time zone {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
        raise loc.error(path, found, hint=hint) from None
    return name


def _parse_settings(loc: Locator, raw: Any, problems: Problems) -> Settings:
    table = table_value(loc, ("settings",), raw, "[settings]")
    for key in table:
        if key not in SETTINGS_KEYS:
            problems.add(unknown_key(loc, ("settings", key), SETTINGS_KEYS))
    defaults = Settings()
    basis = problems.run(_basis, loc, table)
    max_in_flight = problems.run(_max_in_flight, loc, table)
    coins = problems.run(_stablecoins, loc, table)
    cache_ttl = problems.run(
        number_value, loc, ("settings", "cache_ttl"), table.get("cache_ttl", 120), 0
    )
    timeout = problems.run(
        number_value, loc, ("settings", "timeout"), table.get("timeout", 15), 0.1
    )
    quote = problems.run(string_value, loc, ("settings", "quote"), table.get("quote", "USD"))
    zone = problems.run(_timezone, loc, table)
    return Settings(
        cache_ttl=defaults.cache_ttl if cache_ttl is None else cache_ttl,
        timeout=defaults.timeout if timeout is None else timeout,
        max_in_flight=max_in_flight or defaults.max_in_flight,
        quote=(quote or defaults.quote).upper(),
        basis=basis or defaults.basis,
        stablecoins=defaults.stablecoins if coins is None else coins,
        timezone=zone or defaults.timezone,
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
    loc: Locator,
    account: str,
    name: str,
    raw: Mapping[str, Any],
    path: tuple[str, ...],
    problems: Problems,
) -> ConnectionConfig | None:
    """The connection at `path`, or None when it has problems (each added to `problems`)."""
    from nija_balances.adapters.registry import (
        find_adapter,
        is_known_exchange,
        option_owners,
        suggest_exchange,
    )

    before = len(problems)
    owners = option_owners()
    known = (*CONNECTION_KEYS, *owners)
    named = raw.get("exchange", name)
    serving = find_adapter(named.strip().lower()) if isinstance(named, str) else None
    # the hint names what this connection's adapter takes (every adapter's when unknown)
    allowed = known if serving is None else (*CONNECTION_KEYS, *serving.options)
    reported: set[str] = set()
    for key in raw:
        if key in known:
            continue
        # a key that only a plugin adapter declares is known to connections of its exchange
        if serving is None or key not in serving.options:
            problems.add(unknown_key(loc, (*path, key), allowed))
            reported.add(key)
    exchange = problems.run(string_value, loc, (*path, "exchange"), named)
    if exchange is None:
        return None
    exchange = exchange.lower()
    if not is_known_exchange(exchange):
        guess = suggest_exchange(exchange)
        where = (*path, "exchange") if "exchange" in raw else path
        problems.add(
            loc.error(
                where,
                f"unknown exchange '{exchange}'" + (f" (did you mean '{guess}'?)" if guess else ""),
                hint="use a ccxt exchange id (kraken, coinbase, binance, okx, alpaca, ...) or "
                "'paper'; a connection named otherwise needs exchange = \"...\"",
            )
        )
        return None
    adapter = find_adapter(exchange)  # None: a known broker no adapter serves
    accepted = adapter.options if adapter is not None else {}
    for key in raw:
        if key not in CONNECTION_KEYS and key not in accepted and key not in reported:
            if key not in owners:  # declared by a plugin adapter of another exchange
                problems.add(unknown_key(loc, (*path, key), allowed))
            else:
                problems.add(
                    loc.error((*path, key), f"'{key}' is only for {_only_for(owners[key])}")
                )
    ccxt_options = problems.run(
        table_value, loc, (*path, "ccxt"), raw.get("ccxt", {}), "ccxt constructor options"
    )
    if ccxt_options is not None and ccxt_options.get("verbose"):
        problems.add(
            loc.error(
                (*path, "ccxt", "verbose"),
                "ccxt's verbose mode prints every request, API key and signature included",
                hint="remove it; `nija -vv ...` logs what nija-balances fetches, without secrets",
            )
        )
    optional: dict[str, str | None] = {}
    for key in ("api_key_env", "api_secret_env", "api_passphrase_env", *INLINE_SECRET_KEYS):
        # Inline secrets: only the key is named in errors, never the value.
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            problems.add(loc.error((*path, key), f"expected a string, got {type(value).__name__}"))
            value = None
        elif key.endswith("_env") and value is not None and (why := env_name_problem(value)):
            problems.add(
                loc.error(
                    (*path, key),
                    f"expected the name of an environment variable; {why}",
                    hint=ENV_NAME_HINT,
                )
            )
        optional[key] = value
    options = problems.run(adapter.read_options, loc, path, raw) if adapter is not None else {}
    if len(problems) > before or ccxt_options is None or options is None:
        return None
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
        options=options,
    )


def _parse_account(
    loc: Locator,
    account_id: str,
    kind: str,
    raw: Any,
    path: tuple[str, ...],
    default_name: str,
    problems: Problems,
) -> AccountConfig | None:
    """The account at `path` (its connections with problems left out), or None when the
    account itself has problems; every problem is added to `problems`."""
    table = table_value(loc, path, raw, "an account")
    before = len(problems)
    connections: list[ConnectionConfig] = []
    for key, value in table.items():
        if key == ALERTS_KEY:
            continue  # the account's alert rules: `config.alerts.parse_alerts`
        if isinstance(value, Mapping):
            if not key.strip():
                problems.add(loc.error((*path, key), "a connection name may not be empty"))
            elif (bad := key_problem(key)) is not None:
                problems.add(
                    loc.error((*path, key), f"a connection name may not contain {bad[0]}", bad[1])
                )
            elif conn := _parse_connection(loc, account_id, key, value, (*path, key), problems):
                connections.append(conn)
        elif key not in ACCOUNT_KEYS:
            error = unknown_key(loc, (*path, key), ACCOUNT_KEYS)
            error.hint = f"{error.hint}; a connection is a table: [{dotted((*path, key))}]"
            problems.add(error)
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.add(loc.error((*path, "enabled"), f"expected true or false, got {enabled!r}"))
    name = problems.run(string_value, loc, (*path, "name"), table.get("name", default_name))
    if len(problems) > before or name is None or not isinstance(enabled, bool):
        return None
    return AccountConfig(
        id=account_id,
        kind="platform" if kind == "platform" else "user",
        name=name,
        enabled=enabled,
        connections=tuple(connections),
    )


def parse_document(data: Mapping[str, Any], file: Path | None, text: str) -> Config:
    """Validate a parsed TOML document and build the `Config` (a `ConfigError` carrying
    every problem found, in the order of the file)."""
    alias = {"platform": "master"} if "master" in data and "platform" not in data else {}
    loc = Locator(file, text, alias)
    problems = Problems()
    for key in data:
        if key not in TOP_KEYS:
            problems.add(unknown_key(loc, (key,), TOP_KEYS))
    if "platform" in data and "master" in data:
        problems.add(
            loc.error(
                ("master",),
                "both [platform] and [master] are present",
                hint="[master] is the older name of [platform]: keep one",
            )
        )
    settings = problems.run(_parse_settings, loc, data.get("settings", {}), problems)
    store = problems.run(parse_store, loc, data.get("store", {}), problems)
    platform = problems.run(
        _parse_account,
        loc,
        PLATFORM_ID,
        "platform",
        data.get("platform", data.get("master", {})),
        ("platform",),
        "Nija System",
        problems,
    )
    users_raw = problems.run(
        table_value, loc, ("users",), data.get("users", {}), "[users.ID] tables"
    )
    if (
        users_raw is not None
        and not users_raw
        and platform is not None
        and not platform.connections
    ):
        problems.add(  # a platform alone is a config (the operator's accounts); nothing is not
            loc.error(
                ("users",),
                "nothing is configured: no users and no platform connections",
                hint="add a user with `nija config add-user ID` (or a [users.ID] table), or a "
                "platform connection such as [platform.coinbase]",
            )
        )
    users: list[AccountConfig] = []
    ids = UserIds()
    for user_id, raw in (users_raw or {}).items():
        if (bad := user_id_problem(user_id)) is not None:
            problems.add(loc.error(("users", user_id), bad[0], hint=bad[1]))
            continue
        path = ("users", user_id)
        if (clash := ids.clash(user_id)) is not None:
            problems.add(loc.error(path, *clash))
        else:
            ids.add(user_id)
        user = problems.run(_parse_account, loc, user_id, "user", raw, path, user_id, problems)
        if user is not None and clash is None:
            users.append(user)
    accounts = (platform, *users) if platform is not None else tuple(users)
    for problem in _shared_keys(loc, accounts):
        problems.add(problem)
    alerts = parse_alerts(loc, data, file, problems)
    if problems.errors:
        problems.errors.sort(key=lambda e: e.line or 0)
        problems.raise_any(file)
    assert settings is not None and platform is not None  # else a problem was raised
    if store is not None:
        settings = replace(settings, store=store)
    env_files = config_env_files(file)
    connections = [c for a in (platform, *users) for c in a.connections]
    return Config(
        settings=settings,
        platform=platform,
        users=tuple(users),
        source=file,
        namespace=settings.store.shared_namespace or config_namespace(file),
        env_files=env_files,
        warnings=(*_secret_warnings(file, data), *dotenv_warnings(env_files, connections)),
        alerts=alerts,
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


def _shared_keys(loc: Locator, accounts: tuple[AccountConfig, ...]) -> list[ConfigError]:
    """Two connections reading one API key by convention are one account counted twice.

    One user may read one key twice with different `ccxt` settings (Binance spot and
    futures wallets are one key); two users never can.
    """
    found: list[ConfigError] = []
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
                found.append(loc.error(path, *shared_key_problem(conn, first, variable)))
    return found


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


# a key path as tomllib writes it in a message: ('users', 'a')
_TUPLE = re.compile(r"""\((?:(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")(?:, )?)+,?\)""")


def _toml_error(path: Path, message: str) -> ConfigError:
    """The `ConfigError` of a tomllib message: its line, key paths written as in TOML."""
    line = None
    if "(at line " in message:
        detail, _, pos = message.rpartition(" (at line ")
        message = detail
        line = int(pos.split(",")[0])
    twice = re.fullmatch(r"Cannot declare (.+) twice", message)
    if twice and _TUPLE.fullmatch(twice.group(1)):
        key = dotted(ast.literal_eval(twice.group(1)))
        return ConfigError(
            f"invalid TOML: the table [{key}] is declared twice",
            file=path,
            line=line,
            key_path=key,
            hint=f"merge the two [{key}] tables into one",
        )
    message = _TUPLE.sub(lambda m: dotted(ast.literal_eval(m.group())), message)
    return ConfigError(
        f"invalid TOML: {message}",
        file=path,
        line=line,
        hint="check quotes, brackets and `key = value` syntax on that line",
    )


def load_toml(path: Path) -> Config:
    """Read and validate a TOML config file."""
    hint = "point --config at a TOML file or a NIJA users directory"
    try:
        if not stat.S_ISREG(mode := path.stat().st_mode) and not stat.S_ISDIR(mode):
            raise ConfigError(  # reading a named pipe would wait forever
                "not a regular file (a pipe, socket or device)", file=path, hint=hint
            )
        raw_bytes = read_input(path, "a config file", hint=hint)
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
        raise _toml_error(path, str(exc)) from None
    return parse_document(data, path, text)
