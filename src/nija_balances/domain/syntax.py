"""The syntax side of the config: `ConfigError`, TOML key-path -> line lookup, value checks.

`Locator` turns a key path into a `ConfigError` carrying the file and line that define it;
the value helpers (`number_value`, `string_value`, `table_value`, `amounts_table`,
`parse_amount`, ...) raise through it. Shared by the TOML loader and the NIJA directory reader.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from nija_balances.domain.models import PLATFORM_ID
from nija_balances.domain.series import parse_span
from nija_balances.domain.text import env_token, hidden_character, safe_text

T = TypeVar("T")


MAX_LISTED = 20  # problems listed in one message; the rest are counted


@dataclass
class ConfigError(Exception):
    """A config problem a person can fix: where it is, what is wrong, what to do.

    One error may carry more problems of the same file or directory (`more`, see
    `several`): its own fields are the first problem's, `problems` lists them all, and the
    message lists each (up to `MAX_LISTED`) with its file, line and key path.
    """

    problem: str
    file: Path | None = None
    line: int | None = None
    key_path: str | None = None
    hint: str | None = None
    more: list[ConfigError] = field(default_factory=list, repr=False)
    about: Path | None = field(default=None, repr=False)  # what a list of problems is about

    def __post_init__(self) -> None:
        # user-provided text quoted in a message cannot reorder or hide itself on screen
        self.problem = safe_text(self.problem)
        self.key_path = safe_text(self.key_path) if self.key_path else self.key_path
        self.hint = safe_text(self.hint) if self.hint else self.hint

    @classmethod
    def several(cls, errors: Sequence[ConfigError], file: Path | None = None) -> ConfigError:
        """One error carrying every problem of `errors` (`file`: what the message is about;
        by default the file all of them are in)."""
        flat = [e for error in errors for e in error.problems]
        first = flat[0]
        files = {e.file for e in flat}
        about = file if file is not None else (first.file if len(files) == 1 else None)
        return cls(
            first.problem, first.file, first.line, first.key_path, first.hint, flat[1:], about
        )

    @property
    def problems(self) -> list[ConfigError]:
        """Every problem this error carries, itself first (each without `more`)."""
        own = ConfigError(self.problem, self.file, self.line, self.key_path, self.hint)
        return [own, *self.more]

    def _one(self) -> str:
        where = ""
        if self.file is not None:
            where = safe_text(str(self.file)) + (f":{self.line}" if self.line else "") + ": "
        key = f"{safe_text(self.key_path)}: " if self.key_path else ""
        text = f"{where}{key}{safe_text(self.problem)}"
        return f"{text}\n  hint: {safe_text(self.hint)}" if self.hint else text

    def __str__(self) -> str:
        if not self.more:
            return self._one()
        problems = self.problems
        head = f"{safe_text(str(self.about))}: " if self.about is not None else ""
        lines = [f"{head}{len(problems)} problems:"]
        lines += ["  " + p._one().replace("\n", "\n  ") for p in problems[:MAX_LISTED]]
        if len(problems) > MAX_LISTED:
            lines.append(f"  and {len(problems) - MAX_LISTED} more")
        return "\n".join(lines)


class Problems:
    """Collects `ConfigError`s, so that a check goes on after the first problem."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []

    def add(self, error: ConfigError) -> None:
        self.errors.extend(error.problems)

    def run(self, check: Callable[..., T], *args: Any) -> T | None:
        """`check(*args)`, or None when it raised a `ConfigError` (kept)."""
        try:
            return check(*args)
        except ConfigError as error:
            self.add(error)
            return None

    def __len__(self) -> int:
        return len(self.errors)

    def raise_any(self, file: Path | None = None) -> None:
        if self.errors:
            raise ConfigError.several(self.errors, file)


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
    arrays: dict[tuple[str, ...], int] = {}  # [[a.b]] seen so far: its items are a.b.0, a.b.1
    # TOML lines end at \n only (str.splitlines would also split at U+2028 in a value)
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[["):
            end = _unquoted(line, "]")
            array = _split_dotted(line[2 : end if end > 0 else len(line)])
            index = arrays[array] = arrays.get(array, -1) + 1
            table = (*array, str(index))
            for depth in range(1, len(table) + 1):
                lines.setdefault(table[:depth], number)
        elif line.startswith("["):
            end = _unquoted(line, "]")
            table = _split_dotted(line[1 : end if end > 0 else len(line)])
            for depth in range(1, len(table) + 1):  # [users.a.p] also defines users.a
                lines.setdefault(table[:depth], number)
        elif (equals := _unquoted(line, "=")) > 0:
            key = _split_dotted(line[:equals])
            for depth in range(1, len(key) + 1):
                lines.setdefault(table + key[:depth], number)
    return lines


class Locator:
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
    # json.dumps escapes quotes and C0 controls; safe_text the rest (DEL, C1, bidi, ...)
    return safe_text(json.dumps(key, ensure_ascii=False))


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
    if (hidden := hidden_character(user_id)) is not None:
        return f"a user id may not contain {hidden}", HIDDEN_HINT
    return None


HIDDEN_HINT = (
    "bidirectional and zero-width characters make one text look like another: type the id again"
)


def key_problem(key: str) -> tuple[str, str | None] | None:
    """What makes `key` unfit for a connection name or a currency code (what it contains,
    hint), or None: control characters, lone surrogates, bidi and zero-width characters."""
    if (problem := text_problem(key)) is not None:
        return problem, None
    if (hidden := hidden_character(key)) is not None:
        return hidden, HIDDEN_HINT
    return None


ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ENV_NAME_HINT = (
    'the variable holds the key and the config names it: api_key_env = "ALICE_KRAKEN_KEY" '
    "(letters, digits and '_', not starting with a digit)"
)


def env_name_problem(value: str) -> str | None:
    """Why `value` cannot be an environment variable name (`it contains a space`), or None.

    Never quotes `value` whole: a pasted key is the usual reason it is not a name."""
    if not value:
        return "it is empty"
    if value[0] in "0123456789":
        return "it starts with a digit"
    for ch in value:
        if not (ch.isascii() and (ch.isalnum() or ch == "_")):
            return "it contains a space" if ch == " " else f"it contains {ch!r}"
    return None


CASE_HINT = "user ids are told apart without regard to case: rename one of the users"
RENAME_HINT = (
    "rename one of the users (in variable names a user id is upper-cased and every "
    "character other than A-Z and 0-9 becomes '_')"
)


def user_id_clash(
    user_id: str, others: Iterable[str], found_in: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    """Why the user `user_id` cannot sit beside the users `others` (problem, hint), or None:
    ids that differ only by case (`Alice`, `alice`), or that read the same environment
    variables (`a-b`, `a_b`: `KRAKEN_USER_A_B_API_KEY`). `found_in` names where each other
    user is (`retail_kraken.json[0]`). The rule of TOML configs, NIJA directories and
    `nija config add-user`."""
    index = UserIds(found_in)
    for other in others:
        if other != user_id:
            index.add(other)
    return index.clash(user_id)


class UserIds:
    """User ids added one by one, each checked against those before it as `user_id_clash`
    checks it, in constant time (a config of thousands of users is read in linear time)."""

    def __init__(self, found_in: Mapping[str, str] | None = None) -> None:
        self._where = found_in or {}
        self._folded: dict[str, str] = {}
        self._tokens: dict[str, str] = {}

    def add(self, user_id: str) -> None:
        self._folded.setdefault(user_id.casefold(), user_id)
        self._tokens.setdefault(env_token(user_id), user_id)

    def clash(self, user_id: str) -> tuple[str, str] | None:
        """`user_id_clash(user_id, <the ids added>)`."""

        def named(other: str) -> str:
            return f"user '{other}'" + (f" in {self._where[other]}" if other in self._where else "")

        other = self._folded.get(user_id.casefold())
        if other is not None and other != user_id:
            return f"user '{user_id}' differs from {named(other)} only by case", CASE_HINT
        token = env_token(user_id)
        other = self._tokens.get(token)
        if other is not None and other != user_id:
            return (
                f"user '{user_id}' reads the same environment variables as {named(other)} "
                f"(*_USER_{token}_*)",
                RENAME_HINT,
            )
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


def number_value(loc: Locator, path: tuple[str, ...], value: Any, minimum: float) -> float:
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


def duration_value(loc: Locator, path: tuple[str, ...], value: Any) -> timedelta:
    """A positive span: `"15m"`, `"1h"`, `"7d"`, or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value) and value > 0:
            return timedelta(seconds=value)
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            return parse_span(value)
    raise loc.error(
        path,
        f"expected a duration, got {value!r}",
        hint='a whole number and a unit: "15m", "1h", "7d" (or a number of seconds)',
    )


def string_value(loc: Locator, path: tuple[str, ...], value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise loc.error(path, f"expected a non-empty string, got {value!r}")
    if (problem := text_problem(value)) is not None:
        raise loc.error(path, f"expected plain text, got {value!r} (it contains {problem})")
    return value.strip()


def table_value(loc: Locator, path: tuple[str, ...], value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise loc.error(path, f"expected a table ({what}), got {type(value).__name__} {value!r}")
    return value


def unknown_key(loc: Locator, path: tuple[str, ...], known: tuple[str, ...]) -> ConfigError:
    key = path[-1]
    return loc.error(
        path,
        f"unknown key '{key}'{_suggestion(key, known)}",
        hint="allowed here: " + ", ".join(known),
    )


def amounts_table(loc: Locator, path: tuple[str, ...], raw: Any) -> dict[str, Decimal]:
    """`{currency = amount}`; a `ConfigError` listing every bad currency or amount."""
    table = table_value(loc, path, raw, "currency = amount")
    result: dict[str, Decimal] = {}
    written: dict[str, str] = {}  # code -> the key as written
    problems = Problems()
    for currency, value in table.items():
        code = currency.strip().upper()
        if not code:
            problems.add(loc.error((*path, currency), "a currency code may not be empty"))
            continue
        if (bad := key_problem(currency)) is not None:
            problems.add(
                loc.error((*path, currency), f"a currency code may not contain {bad[0]}", bad[1])
            )
            continue
        if code in written:
            problems.add(
                loc.error(
                    (*path, currency),
                    f"{code} is given twice (as '{written[code]}' and '{currency}')",
                    hint="currency codes are not case-sensitive: keep one",
                )
            )
            continue
        written[code] = currency
        amount = parse_amount(value)
        if amount is None or amount < 0:
            problems.add(
                loc.error(
                    (*path, currency),
                    f"expected a non-negative number, got {value!r}",
                    hint=f"write it as {currency} = 250.0",
                )
            )
            continue
        result[code] = amount
    problems.raise_any()
    return result
