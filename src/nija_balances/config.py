"""Load the TOML config (or a NIJA `config/users/` directory) into frozen dataclasses.

Every problem becomes one `ConfigError` naming the file, the line where one can be found,
the key path, what was expected, and a hint. Nothing here talks to the network.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import stat
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from nija_balances.credentials import candidate_env_names
from nija_balances.models import (
    DEFAULT_STABLECOINS,
    PLATFORM_ID,
    AccountConfig,
    Config,
    ConnectionConfig,
    Settings,
)

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
    "balances",
    "prices",
)
INLINE_SECRET_KEYS = ("api_key", "api_secret", "api_passphrase")
TOP_KEYS = ("settings", "platform", "master", "users")


@dataclass
class ConfigError(Exception):
    """A config problem a person can fix: where it is, what is wrong, what to do."""

    problem: str
    file: Path | None = None
    line: int | None = None
    key_path: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = str(self.file) + (f":{self.line}" if self.line else "") + ": "
        key = f"{self.key_path}: " if self.key_path else ""
        text = f"{where}{key}{self.problem}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return match[0] if match else None


def _suggestion(word: str, choices: tuple[str, ...] | list[str]) -> str:
    guess = did_you_mean(word, choices)
    return f" (did you mean '{guess}'?)" if guess else ""


# --------------------------------------------------------------------- line lookup


_ESCAPES = {
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    '"': '"',
    "\\": "\\",
}


def _unescape(text: str, at: int) -> tuple[int, str]:
    """The TOML escape sequence at `text[at]` (a backslash): (the next index, the character)."""
    code = text[at + 1 : at + 2]
    if code in _ESCAPES:
        return at + 2, _ESCAPES[code]
    size = {"u": 4, "U": 8, "x": 2}.get(code)
    if size is not None:
        try:
            return at + 2 + size, chr(int(text[at + 2 : at + 2 + size], 16))
        except ValueError:
            pass
    return at + 2, code


def _split_dotted(text: str) -> tuple[str, ...]:
    """Split a TOML dotted key (`users."a.b".kraken`) into its parts, quoted ones decoded."""
    parts: list[str] = []
    current, quote, quoted = "", "", False
    at = 0
    while at < len(text):
        ch = text[at]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"':
                at, decoded = _unescape(text, at)
                current += decoded
                continue
            else:
                current += ch
        elif ch in "\"'":
            quote, quoted, current = ch, True, ""
        elif ch == ".":
            parts.append(current if quoted else current.strip())
            current, quoted = "", False
        elif not quoted:
            current += ch
        at += 1
    parts.append(current if quoted else current.strip())
    return tuple(parts)


def _unquoted(line: str, stop: str) -> int:
    """The index of the first `stop` outside quotes in `line`, or -1."""
    quote = ""
    at = 0
    while at < len(line):
        ch = line[at]
        if quote:
            if ch == "\\" and quote == '"':
                at += 1  # skip the escaped character
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == stop:
            return at
        at += 1
    return -1


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map key paths to the 1-based line that defines them (tables and simple keys)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    # TOML lines end at \n only (str.splitlines would also split at U+2028 in a value)
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and not line.startswith("[["):
            end = _unquoted(line, "]")
            table = _split_dotted(line[1 : end if end > 0 else len(line)])
            for depth in range(1, len(table) + 1):  # [users.a.p] also defines users.a
                lines.setdefault(table[:depth], number)
        elif (equals := _unquoted(line, "=")) > 0:
            key = _split_dotted(line[:equals])
            for depth in range(1, len(key) + 1):
                lines.setdefault(table + key[:depth], number)
    return lines


class _Locator:
    """Turns key paths into `ConfigError`s with the right file and line."""

    def __init__(self, file: Path | None, text: str, alias: dict[str, str]) -> None:
        self.file = file
        self.lines = key_lines(text)
        self.alias = alias  # "platform" -> "master" when the file used [master]

    def error(self, path: tuple[str, ...], problem: str, hint: str | None = None) -> ConfigError:
        shown = tuple(self.alias.get(p, p) if i == 0 else p for i, p in enumerate(path))
        line = None
        for depth in range(len(shown), 0, -1):
            if (found := self.lines.get(shown[:depth])) is not None:
                line = found
                break
        return ConfigError(problem, self.file, line, dotted(shown) or None, hint)


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def dotted(path: tuple[str, ...]) -> str:
    """A key path as TOML writes it: `users."a.b".kraken` (odd keys quoted, escapes visible)."""
    return ".".join(p if _BARE_KEY.fullmatch(p) else _quoted(p) for p in path)


def _quoted(key: str) -> str:
    text = json.dumps(key, ensure_ascii=False)  # escapes quotes and C0 controls
    return "".join(ch if text_problem(ch) is None else f"\\u{ord(ch):04x}" for ch in text)


# --------------------------------------------------------------------- values


def text_problem(text: str) -> str | None:
    """What makes `text` unfit for an id or a name (control characters reach the terminal
    raw; lone surrogates cannot be written as UTF-8), or None."""
    for ch in text:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            return f"U+{code:04X} (a lone surrogate, not valid Unicode text)"
        if unicodedata.category(ch) == "Cc":
            return f"the control character U+{code:04X}"
    return None


def user_id_problem(user_id: str) -> tuple[str, str | None] | None:
    """Why `user_id` cannot be a user id (problem, hint), or None. Shared with the NIJA loader."""
    if not user_id.strip():
        return "a user id may not be empty", None
    if user_id.strip() == PLATFORM_ID:
        return "'platform' is reserved for the platform account", None
    if "/" in user_id:
        return (
            "a user id may not contain '/'",
            "'/' separates the user from the connection in cache keys; use '_' or '-'",
        )
    if (problem := text_problem(user_id)) is not None:
        return f"a user id may not contain {problem}", None
    return None


def parse_amount(value: Any) -> Decimal | None:
    """A TOML/JSON number (or numeric string) as an exact Decimal; None if it is not one.

    Negative zero is read as zero (it would print as `-0.00`)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        amount = Decimal(repr(value))  # repr: the shortest text that round-trips (5678.9)
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    if not amount.is_finite():
        return None
    return amount.copy_abs() if amount.is_zero() else amount


def _number(loc: _Locator, path: tuple[str, ...], value: Any, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise loc.error(path, f"expected a number >= {minimum:g}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise loc.error(
            path,
            f"expected a number >= {minimum:g}, got {value!r}",
            hint="inf and nan are not usable here: write a plain number of seconds",
        )
    if value < minimum:
        raise loc.error(path, f"expected a number >= {minimum:g}, got {value!r}")
    return float(value)


def _string(loc: _Locator, path: tuple[str, ...], value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise loc.error(path, f"expected a non-empty string, got {value!r}")
    if (problem := text_problem(value)) is not None:
        raise loc.error(path, f"expected plain text, got {value!r} (it contains {problem})")
    return value.strip()


def _table(loc: _Locator, path: tuple[str, ...], value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise loc.error(path, f"expected a table ({what}), got {type(value).__name__} {value!r}")
    return value


def _unknown_key(loc: _Locator, path: tuple[str, ...], known: tuple[str, ...]) -> ConfigError:
    key = path[-1]
    return loc.error(
        path,
        f"unknown key '{key}'{_suggestion(key, known)}",
        hint="allowed here: " + ", ".join(known),
    )


def _parse_settings(loc: _Locator, raw: Any) -> Settings:
    table = _table(loc, ("settings",), raw, "[settings]")
    for key in table:
        if key not in SETTINGS_KEYS:
            raise _unknown_key(loc, ("settings", key), SETTINGS_KEYS)
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
        cache_ttl=_number(loc, ("settings", "cache_ttl"), table.get("cache_ttl", 120), 0),
        timeout=_number(loc, ("settings", "timeout"), table.get("timeout", 15), 0.1),
        max_in_flight=max_in_flight,
        quote=_string(loc, ("settings", "quote"), table.get("quote", "USD")).upper(),
        basis=basis,
        stablecoins=tuple(c.strip().upper() for c in coins),
    )


def _amounts(loc: _Locator, path: tuple[str, ...], raw: Any) -> dict[str, Decimal]:
    table = _table(loc, path, raw, "currency = amount")
    result: dict[str, Decimal] = {}
    written: dict[str, str] = {}  # code -> the key as written
    for currency, value in table.items():
        code = currency.strip().upper()
        if not code:
            raise loc.error((*path, currency), "a currency code may not be empty")
        if (problem := text_problem(currency)) is not None:
            raise loc.error((*path, currency), f"a currency code may not contain {problem}")
        if code in written:
            raise loc.error(
                (*path, currency),
                f"{code} is given twice (as '{written[code]}' and '{currency}')",
                hint="currency codes are not case-sensitive: keep one",
            )
        amount = parse_amount(value)
        if amount is None or amount < 0:
            raise loc.error(
                (*path, currency),
                f"expected a non-negative number, got {value!r}",
                hint=f"write it as {currency} = 250.0",
            )
        written[code] = currency
        result[code] = amount
    return result


def _parse_connection(
    loc: _Locator, account: str, name: str, raw: Mapping[str, Any], path: tuple[str, ...]
) -> ConnectionConfig:
    from nija_balances.adapters.registry import is_known_exchange, suggest_exchange

    for key in raw:
        if key not in CONNECTION_KEYS:
            raise _unknown_key(loc, (*path, key), CONNECTION_KEYS)
    exchange = _string(loc, (*path, "exchange"), raw.get("exchange", name)).lower()
    if not is_known_exchange(exchange):
        guess = suggest_exchange(exchange)
        where = (*path, "exchange") if "exchange" in raw else path
        raise loc.error(
            where,
            f"unknown exchange '{exchange}'" + (f" (did you mean '{guess}'?)" if guess else ""),
            hint="use a ccxt exchange id (kraken, coinbase, binance, okx, alpaca, ...) or 'paper'; "
            'a connection named otherwise needs exchange = "..."',
        )
    if exchange != "paper":
        for key in ("balances", "prices"):
            if key in raw:
                raise loc.error(
                    (*path, key), f"'{key}' is only for exchange = \"paper\" connections"
                )
    ccxt_options = _table(loc, (*path, "ccxt"), raw.get("ccxt", {}), "ccxt constructor options")
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
        paper_balances=_amounts(loc, (*path, "balances"), raw.get("balances", {})),
        paper_prices=_amounts(loc, (*path, "prices"), raw.get("prices", {})),
    )


def _parse_account(
    loc: _Locator, account_id: str, kind: str, raw: Any, path: tuple[str, ...], default_name: str
) -> AccountConfig:
    table = _table(loc, path, raw, "an account")
    connections: list[ConnectionConfig] = []
    for key, value in table.items():
        if isinstance(value, Mapping):
            if not key.strip():
                raise loc.error((*path, key), "a connection name may not be empty")
            if (problem := text_problem(key)) is not None:
                raise loc.error((*path, key), f"a connection name may not contain {problem}")
            connections.append(_parse_connection(loc, account_id, key, value, (*path, key)))
        elif key not in ACCOUNT_KEYS:
            error = _unknown_key(loc, (*path, key), ACCOUNT_KEYS)
            error.hint = f"{error.hint}; a connection is a table: [{dotted((*path, key))}]"
            raise error
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise loc.error((*path, "enabled"), f"expected true or false, got {enabled!r}")
    name = table.get("name", default_name)
    return AccountConfig(
        id=account_id,
        kind="platform" if kind == "platform" else "user",
        name=_string(loc, (*path, "name"), name),
        enabled=enabled,
        connections=tuple(connections),
    )


def parse_document(data: Mapping[str, Any], file: Path | None, text: str) -> Config:
    """Validate a parsed TOML document and build the `Config`."""
    alias = {"platform": "master"} if "master" in data and "platform" not in data else {}
    loc = _Locator(file, text, alias)
    for key in data:
        if key not in TOP_KEYS:
            raise _unknown_key(loc, (key,), TOP_KEYS)
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
    users_raw = _table(loc, ("users",), data.get("users", {}), "[users.ID] tables")
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
        namespace=_namespace(file),
        env_files=_env_files(file),
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


def _check_shared_keys(loc: _Locator, accounts: tuple[AccountConfig, ...]) -> None:
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


def _namespace(source: Path | None) -> str:
    if source is None:
        return "demo"
    return str(source.resolve())  # readable in the store, and unique per config file


def _env_files(source: Path | None) -> tuple[Path, ...]:
    files = [Path.cwd() / ".env"]
    if source is not None:
        files.insert(0, (source if source.is_dir() else source.parent) / ".env")
    unique: list[Path] = []
    for f in files:
        if f.resolve() not in {u.resolve() for u in unique}:
            unique.append(f)
    return tuple(unique)


def config_namespace(source: Path | None) -> str:
    """The cache namespace of a config read from `source` (a file, a directory, None: demo)."""
    return _namespace(source)


def config_env_files(source: Path | None) -> tuple[Path, ...]:
    """The `.env` files read for a config from `source`: beside it, then the working dir."""
    return _env_files(source)


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

    text = resources.files("nija_balances").joinpath(DEMO_RESOURCE).read_text(encoding="utf-8")
    return parse_document(tomllib.loads(text), None, text)


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
        from nija_balances.nija_import import load_nija_directory

        return load_nija_directory(target)
    return load_toml(target)
