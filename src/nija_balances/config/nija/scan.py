"""Read and check the JSON files of a NIJA users directory into a `Scan` (`Scanner`).

Every entry keeps its file and line for error messages. Every problem is collected in
`Scan.problems` and the rest is kept; a problem with the directory itself (missing, no
JSON files) is raised as a `ConfigError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nija_balances.config.files import read_input
from nija_balances.config.nija.entries import (
    ARRAY_HINT,
    NijaConnection,
    NijaUser,
    Origin,
    Scan,
    normalise_broker,
)
from nija_balances.domain.syntax import (
    ConfigError,
    text_problem,
    user_id_clash,
    user_id_problem,
)

SECRET_WORDS = re.compile(r"key|secret|pass|token|private|twofa|totp|seed|otp", re.IGNORECASE)


# --------------------------------------------------------------------- JSON positions


def _loads(text: str) -> tuple[Any, bool]:
    """`text` parsed as JSON, and whether an object in it has a key twice (JSON keeps the
    last value, as Python's `json` and so NIJA do; `duplicate_keys` says where)."""
    twice = False

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal twice
        result = dict(pairs)
        twice = twice or len(result) < len(pairs)
        return result

    return json.loads(text, object_pairs_hook=pairs_hook), twice


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]')


def duplicate_keys(
    text: str, start: int = 0, end: int | None = None, prefix: str = ""
) -> list[tuple[int, str, str]]:
    """(line, key path, key) of every key that repeats a key of its object, in the valid
    JSON `text[start:end]`; lines count from the start of `text`.

    Key paths read like the scanner's: `[0].copy_from_platform`, `users[1].name`, `broker`
    (`prefix` goes first: `[1]` for an entry read on its own).
    """
    found: list[tuple[int, str, str]] = []
    # a frame: [is_object, seen keys, the current key or index, expecting a key]
    stack: list[list[Any]] = []
    line, counted = 1, 0
    for match in _TOKEN.finditer(text, start, len(text) if end is None else end):
        token = match.group()
        top = stack[-1] if stack else None
        if token in "{[":
            stack.append([token == "{", set(), 0 if token == "[" else None, token == "{"])
        elif token in "}]":
            stack.pop()
        elif token == "," and top is not None:
            if top[0]:
                top[3] = True
            else:
                top[2] += 1
        elif token == ":" and top is not None:
            top[3] = False
        elif top is not None and top[0] and top[3]:
            key = json.loads(token)
            top[2] = key
            if key in top[1]:
                line += text.count("\n", counted, match.start())
                counted = match.start()
                found.append((line, _path(stack, prefix), key))
            top[1].add(key)
    return found


def _path(stack: list[list[Any]], prefix: str) -> str:
    path = prefix
    for is_object, _, current, _ in stack:
        if is_object:
            path += ("." if path else "") + str(current)
        else:
            path += f"[{current}]"
    return path


# strings end at a line end when their closing quote is missing: one lost quote does not
# swallow the entries after it
_SHAPE = re.compile(r'"(?:[^"\\\n]|\\.)*(?:"|(?=\n)|$)|[\[\]{}]')


def _object_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each object in the top-level array of the *invalid* JSON `text`, found
    by counting brackets outside strings, so that each can be read on its own; an object
    left open runs to the end of the text. Elements other than objects are not counted."""
    spans: list[tuple[int, int]] = []
    depth, start = 0, None
    for match in _SHAPE.finditer(text):
        token = match.group()
        if token.startswith('"'):
            continue
        if token in "[{":
            depth += 1
            if depth == 2 and token == "{":
                start = match.start()
        else:
            if depth == 2 and start is not None:
                spans.append((start, match.end()))
                start = None
            depth -= 1
            if depth <= 0:
                break
    if start is not None:
        spans.append((start, len(text)))
    return spans


def _parse_problem(text: str, exc: Exception, start: int) -> tuple[int | None, str, str | None]:
    """(line, problem, hint) for `exc`, raised parsing the JSON of `text` from `start`."""
    if isinstance(exc, json.JSONDecodeError):
        at = start + exc.pos
        column = at - text.rfind("\n", 0, at)
        return (
            _line_of(text, at),
            f"invalid JSON: {exc.msg} (column {column})",
            "check commas, quotes and brackets on that line",
        )
    if isinstance(exc, RecursionError):
        return None, "invalid JSON: arrays or objects nested too deeply", None
    return None, f"invalid JSON: {exc}".split("; use ")[0], None  # e.g. 4300+ digit integers


def json_kind(value: Any) -> str:
    """What a JSON value is, in JSON's words: `an array`, `a number (42)`, `null`."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value!r})" if len(value) <= 40 else "a string"
    return "an array" if isinstance(value, list) else "an object"


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _array_spans(text: str, start: int) -> list[tuple[int, int]]:
    """(start, end) offsets of the elements of the valid JSON array opening at `start`."""
    decoder = json.JSONDecoder()
    skip = re.compile(r"[\s,]*")
    spans: list[tuple[int, int]] = []
    i = start + 1
    while True:
        match = skip.match(text, i)
        i = match.end() if match else i
        if i >= len(text) or text[i] == "]":
            return spans
        _, end = decoder.raw_decode(text, i)
        spans.append((i, end))
        i = end


def _key_line(text: str, span: tuple[int, int], key: str) -> int:
    match = re.compile(rf'"{re.escape(key)}"\s*:').search(text, span[0], span[1])
    return _line_of(text, match.start() if match else span[0])


# --------------------------------------------------------------------- the scanner


class Scanner:
    def __init__(self, directory: Path, for_import: bool) -> None:
        self.scan = Scan(directory)
        self.for_import = for_import  # notes about what an import leaves out
        self.found_in: dict[str, str] = {}  # user id -> where it was first found

    def problem(self, error: ConfigError) -> None:
        self.scan.problems.append(error)

    def error(
        self,
        origin: Origin,
        key: str | None,
        problem: str,
        hint: str | None = None,
        line: int | None = None,
    ) -> None:
        path = origin.index + (("." if origin.index else "") + key if key else "")
        self.problem(ConfigError(problem, origin.file, line or origin.line, path or None, hint))

    def run(self) -> Scan:
        directory = self.scan.directory
        if not directory.is_dir():
            raise ConfigError("not a directory of NIJA user files", file=directory)
        files = sorted(
            p for p in directory.glob("*.json") if p.is_file() and not p.name.startswith(".")
        )
        if not files:
            raise ConfigError(
                "no NIJA user files (*.json) in this directory",
                file=directory,
                hint="expected array files (retail_kraken.json) or per-user files (alice.json)",
            )
        for file in files:
            self.scan.files.append(file)
            self.read(file)
        return self.scan

    def read(self, file: Path) -> None:
        try:
            text = read_input(file, "a NIJA user file").decode("utf-8-sig")
        except ConfigError as exc:  # too large, or no longer a regular file
            return self.problem(exc)
        except OSError as exc:
            return self.error(Origin(file), None, f"cannot read the file ({exc.strerror})")
        except UnicodeDecodeError as exc:
            return self.error(
                Origin(file), None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
            )
        try:
            data, twice = _loads(text)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            return self.broken_file(file, text, exc)
        if twice:
            self.keys_twice(file, text, 0, len(text), "")
        if isinstance(data, dict) and "users" in data:
            match = re.search(r'"users"\s*:\s*\[', text)
            if not isinstance(data["users"], list) or match is None:
                return self.error(
                    Origin(file, line=_key_line(text, (0, len(text)), "users")),
                    "users",
                    f"expected a list of user entries, got {json_kind(data['users'])}",
                    hint=ARRAY_HINT,
                )
            return self.array_file(file, text, data["users"], match.end() - 1)
        if isinstance(data, list):
            return self.array_file(file, text, data, text.index("["))
        if isinstance(data, dict):
            return self.user_file(file, text, data)
        return self.error(
            Origin(file, line=1),
            None,
            f"expected a JSON array of users or one user object, got {json_kind(data)}",
            hint=ARRAY_HINT,
        )

    def keys_twice(self, file: Path, text: str, start: int, end: int, prefix: str) -> None:
        for line, path, key in duplicate_keys(text, start, end, prefix):
            self.scan.warnings.append(
                f"{file}:{line}: {path}: the key {key!r} appears twice in one object; "
                "the last value is used, as NIJA does"
            )

    def broken_file(self, file: Path, text: str, exc: Exception) -> None:
        """A file that is not valid JSON. In an array, each object is read on its own: one
        broken entry costs that entry only; the file's error is reported unless it lies in
        an entry reported already."""
        spans = _object_spans(text) if text.lstrip().startswith("[") else []
        at = exc.pos if isinstance(exc, json.JSONDecodeError) else None
        parsed: list[tuple[tuple[int, int], Any, bool, Exception | None]] = []
        covered = False
        for start, end in spans:
            try:
                item, twice = _loads(text[start:end])
            except (ValueError, RecursionError) as inner:
                parsed.append(((start, end), None, False, inner))
                covered = covered or at is None or start <= at <= end
            else:
                parsed.append(((start, end), item, twice, None))
        if not covered:
            line, problem, hint = _parse_problem(text, exc, 0)
            self.error(Origin(file, line=line), None, problem, hint)
        default = self.file_broker(file)
        for index, (span, item, twice, error) in enumerate(parsed):
            origin = Origin(file, f"[{index}]", _line_of(text, span[0]))
            if error is not None:
                line, problem, hint = _parse_problem(text, error, span[0])
                self.error(origin, None, problem, hint, line=line)
            else:
                if twice:
                    self.keys_twice(file, text, span[0], span[1], origin.index)
                self.entry(origin, text, span, item, default)

    def file_broker(self, file: Path) -> str | None:
        """The broker an array file's name implies: `retail_kraken.json` -> kraken."""
        from nija_balances.adapters.registry import is_known_exchange

        stem = file.stem.lower()
        for candidate in (stem.split("_", 1)[-1], stem):
            if is_known_exchange(normalise_broker(candidate)):
                return normalise_broker(candidate)
        return None

    def array_file(self, file: Path, text: str, items: list[Any], start: int) -> None:
        default = self.file_broker(file)
        spans = _array_spans(text, start)
        for index, item in enumerate(items):
            span = spans[index] if index < len(spans) else (0, 0)
            origin = Origin(file, f"[{index}]", _line_of(text, span[0]))
            if not isinstance(item, dict):
                self.error(origin, None, f"expected an object, got {json_kind(item)}", ARRAY_HINT)
                continue
            self.entry(origin, text, span, item, default)

    def entry(
        self,
        origin: Origin,
        text: str,
        span: tuple[int, int],
        item: dict[str, Any],
        default: str | None,
    ) -> None:
        def at(key: str) -> int:
            return _key_line(text, span, key)

        user_id = self.user_id(origin, item.get("user_id"), at("user_id"), "user_id" in item)
        fields = self.fields(origin, item, at)
        if user_id is None or fields is None:
            return
        raw = item.get("broker_type")
        raw = default if raw is None else raw
        if raw is None:
            return self.error(
                origin,
                "broker_type",
                "missing broker_type",
                hint='add "broker_type": "kraken", or name the file like retail_kraken.json',
            )
        broker = self.broker(origin, "broker_type", raw, at("broker_type"))
        if broker is not None:
            self.add(user_id, fields, [(raw, broker, origin)])

    def user_file(self, file: Path, text: str, item: dict[str, Any]) -> None:
        whole = (0, len(text))
        origin = Origin(file, "", 1)

        def at(key: str) -> int:
            return _key_line(text, whole, key)

        user_id = self.user_id(origin, file.stem, 1, True)
        if "user_id" in item and item["user_id"] != file.stem:
            return self.error(
                origin,
                "user_id",
                f"user_id {item['user_id']!r} differs from the file name {file.name!r}",
                hint=f'the id of a per-user file is its name: rename the file or set "{file.stem}"',
                line=at("user_id"),
            )
        fields = self.fields(origin, item, at)
        key = next((k for k in ("broker", "brokers", "broker_type") if k in item), None)
        if user_id is None or fields is None:
            return
        if key is None:
            return self.error(
                origin,
                "broker",
                "missing broker",
                hint='add "broker": "kraken" (or a list of brokers)',
            )
        raw = item[key]
        values = raw if isinstance(raw, list) else [raw]
        found: list[tuple[str, str, Origin]] = []
        for i, value in enumerate(values):
            where = f"{key}[{i}]" if isinstance(raw, list) else key
            broker = self.broker(origin, where, value, at(key))
            if broker is not None:
                found.append((value, broker, Origin(file, "", at(key))))
        if values and not found:
            return  # every broker was invalid (reported): the user is skipped
        self.add(user_id, fields, found)

    def user_id(self, origin: Origin, value: Any, line: int, present: bool) -> str | None:
        if not present:
            self.error(origin, "user_id", "missing user_id", hint=ARRAY_HINT)
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(origin, "user_id", f"expected a non-empty string, got {value!r}", line=line)
            return None
        if (bad := user_id_problem(value)) is not None:
            self.error(origin, "user_id", bad[0], hint=bad[1], line=line)
            return None
        user_id = value.strip()
        if user_id not in self.scan.users:
            users = self.scan.users
            found_in = {u: self.found_in[u] for u in users if u in self.found_in}
            if (clash := user_id_clash(user_id, users, found_in)) is not None:
                self.error(origin, "user_id", clash[0], hint=clash[1], line=line)
                return None
        return user_id

    def fields(
        self, origin: Origin, item: dict[str, Any], at: Callable[[str], int]
    ) -> dict[str, Any] | None:
        name, enabled, kind = item.get("name"), item.get("enabled", True), item.get("account_type")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            self.error(
                origin, "name", f"expected a non-empty string, got {name!r}", line=at("name")
            )
            return None
        if not isinstance(enabled, bool):
            self.error(
                origin, "enabled", f"expected true or false, got {enabled!r}", line=at("enabled")
            )
            return None
        if kind is not None and not isinstance(kind, str):
            self.error(
                origin, "account_type", f"expected a string, got {kind!r}", line=at("account_type")
            )
            return None
        for key, text in (("name", name), ("account_type", kind)):
            if text is not None and (problem := text_problem(text)) is not None:
                self.error(
                    origin,
                    key,
                    f"expected plain text, got {text!r} (it contains {problem})",
                    line=at(key),
                )
                return None
        ignored = sorted(k for k in item if SECRET_WORDS.search(k))
        if ignored and self.for_import:
            self.scan.notes.append(
                f"{origin.label}: credentials in the file are not imported ({', '.join(ignored)}); "
                "put them in environment variables"
            )
        return {"name": name.strip() if name else None, "enabled": enabled, "account_type": kind}

    def broker(self, origin: Origin, key: str, raw: Any, line: int) -> str | None:
        from nija_balances.adapters.registry import is_known_exchange, suggest_exchange

        if not isinstance(raw, str) or not raw.strip():
            self.error(origin, key, f"expected a broker name, got {raw!r}", line=line)
            return None
        exchange = normalise_broker(raw)
        if not is_known_exchange(exchange):
            guess = suggest_exchange(exchange)
            self.error(
                origin,
                key,
                f"unknown broker {raw!r}" + (f" (did you mean '{guess}'?)" if guess else ""),
                hint="use a ccxt exchange id (coinbase, kraken, binance, okx, alpaca, ...)",
                line=line,
            )
            return None
        return exchange

    def add(
        self, user_id: str, fields: dict[str, Any], brokers: list[tuple[str, str, Origin]]
    ) -> None:
        user = self.scan.users.get(user_id)
        first = user is None
        if user is None:
            user = self.scan.users[user_id] = NijaUser(user_id)
            if brokers:
                self.found_in[user_id] = brokers[0][2].label
        for raw, exchange, origin in brokers:
            twin = next((c for c in user.connections if c.exchange == exchange), None)
            # listed in an array file and in the user's own file: one account (NIJA's layout)
            alike = [o for o in twin.origins if bool(o.index) == bool(origin.index)] if twin else []
            if twin is not None and not alike:
                self.merge(user, twin, origin, fields["enabled"])
                continue
            if twin is not None:
                self.error(
                    origin,
                    None,
                    f"user '{user_id}' is connected to {exchange} twice: here and in "
                    f"{alike[0].label}" + (f" (line {alike[0].line})" if alike[0].line else ""),
                    hint="remove one of the two entries",
                )
                continue
            user.connections.append(NijaConnection(raw, exchange, fields["enabled"], origin))
        if not brokers and not first:
            return
        user.origins.extend(o for _, _, o in brokers[:1])
        user.enabled_flags.append(fields["enabled"])
        if fields["account_type"] and fields["account_type"] not in user.account_types:
            user.account_types.append(fields["account_type"])
        name = fields["name"]
        if name and user.name and name != user.name:
            self.scan.notes.append(
                f"user '{user_id}': name {name!r} differs from {user.name!r}; kept the first"
            )
        elif name:
            user.name = name

    def merge(self, user: NijaUser, conn: NijaConnection, origin: Origin, enabled: bool) -> None:
        """NIJA's layout lists a user in an array file (`retail_kraken.json`) and in their own
        file (`daivon_frazier.json`): one account, so one connection, shown if either is on."""
        conn.also.append(origin)
        if enabled != conn.enabled:
            on, off = (origin, conn.origin) if enabled else (conn.origin, origin)
            self.scan.notes.append(
                f"user '{user.id}': the {conn.exchange} entry in {off.label} is disabled and "
                f"the one in {on.label} is enabled; the connection is shown"
            )
            conn.enabled = True
