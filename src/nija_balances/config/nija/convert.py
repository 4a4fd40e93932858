"""Convert a NIJA `config/users/` directory into a nija-balances TOML config.

Lenient: every skipped entry is reported with its file and reason and the rest is converted.
The TOML keeps user ids, names, enabled flags and brokers, and says for every connection
which environment variables it reads — and which ones the original NIJA read instead: NIJA
put only the user's first name in the names (`KRAKEN_USER_DAIVON_API_KEY` for
`daivon_frazier`), so two users with the same first name shared one key.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from nija_balances.adapters.ccxt.quirks import quirks_for
from nija_balances.config.credentials import candidate_env_names
from nija_balances.config.edit import assignment, table_header
from nija_balances.config.loader import parse_document
from nija_balances.config.nija.entries import Scan, Skip
from nija_balances.config.nija.reader import PLATFORM_NAME, nija_first_name
from nija_balances.domain.models import Config, ConnectionConfig
from nija_balances.domain.syntax import ConfigError
from nija_balances.domain.text import env_token, safe_text


@dataclass(frozen=True)
class Rename:
    """An env var the original NIJA read, and the one nija-balances reads instead."""

    account: str
    exchange: str
    nija: str
    ours: str


@dataclass(frozen=True)
class ImportResult:
    text: str  # the TOML document
    config: Config  # that document, loaded
    scan: Scan
    renames: tuple[Rename, ...]
    shared: dict[str, list[str]]  # NIJA variable names several users shared -> those users

    @property
    def skipped(self) -> tuple[Skip, ...]:
        """What the import left out (file, line, key path, reason); see `exit_code`."""
        return self.scan.skipped

    @property
    def exit_code(self) -> int:
        """1 when anything was skipped (the converted file is still written), else 0."""
        return 1 if self.skipped else 0

    def report(self) -> list[str]:
        """What the operator should read (stderr): skips, notes, variables to rename."""
        scan = self.scan
        counted = sum(len(u.connections) for u in self.config.users)
        summary = (
            f"imported {len(self.config.users)} users, {counted} connections "
            f"from {len(scan.files)} files in {scan.directory}"
        )
        if self.skipped:
            summary += f"; skipped {len(self.skipped)} (see below): the import is incomplete"
        lines = [summary]
        if scan.problems:
            lines.append(f"skipped {len(scan.problems)} entries or files (the rest was converted):")
            lines += ["  " + str(p).replace("\n", "\n  ") for p in scan.problems]
        lines += [f"warning: {safe_text(w)}" for w in scan.warnings]
        lines += [f"note: {safe_text(n)}" for n in scan.notes]
        if self.renames:
            lines.append("rename these environment variables (NIJA used the first name only):")
            width = max(len(r.nija) for r in self.renames)
            lines += [f"  {r.nija:<{width}} -> {r.ours}" for r in self.renames]
        for name, users in self.shared.items():
            lines.append(
                f"warning: {name} was shared by {' and '.join(users)} in NIJA; "
                "give each user their own key"
            )
        return lines


def _plain(text: object) -> str:
    """`text` fit for a TOML comment: control characters (a newline in a file name would end
    the comment), lone surrogates, bidi and zero-width characters written as `\\uXXXX`."""
    return safe_text(str(text))


def _parts(exchange: str) -> tuple[str, ...]:
    if quirks_for(exchange).passphrase:
        return ("API_KEY", "API_SECRET", "API_PASSPHRASE")
    return ("API_KEY", "API_SECRET")


def _nija_name(user_id: str, exchange: str, part: str) -> str:
    return f"{env_token(exchange)}_USER_{env_token(nija_first_name(user_id))}_{part}"


def convert(scan: Scan, output: Path | None = None) -> ImportResult:
    """The TOML config for a (lenient) scan; raises `ConfigError` when no user is left."""
    from nija_balances.adapters.registry import find_adapter

    if not scan.users:
        raise ConfigError(
            "no user could be imported",
            file=scan.directory,
            hint="fix the entries reported above and run the import again",
        )
    renames: list[Rename] = []
    users_of: dict[str, set[str]] = defaultdict(set)  # NIJA variable name -> user ids
    body: list[str] = []
    for user in scan.users.values():
        body += ["", table_header(("users", user.id)), assignment("name", user.name or user.id)]
        body.append(assignment("enabled", user.enabled))
        labels = (o.label for c in user.connections for o in c.origins)
        sources = ", ".join(dict.fromkeys(labels))
        kinds = f" (account_type {', '.join(user.account_types)})" if user.account_types else ""
        body.append(_plain(f"# from {sources or 'its file'}{kinds}"))
        for conn in user.active_connections():
            entry = ConnectionConfig(account=user.id, name=conn.exchange, exchange=conn.exchange)
            ours = [candidate_env_names(entry, part)[0] for part in _parts(conn.exchange)]
            nija = [_nija_name(user.id, conn.exchange, part) for part in _parts(conn.exchange)]
            for name in nija:
                users_of[name].add(user.id)
            body += ["", table_header(("users", user.id, conn.exchange))]
            if find_adapter(conn.exchange) is None:
                body.append(f"# no adapter can reach {conn.exchange}: listed as `unsupported`")
            body.append(f"# reads {', '.join(ours)}")
            if nija != ours:
                body.append(f"# NIJA read {', '.join(nija)}")
                renames += [
                    Rename(user.id, conn.exchange, old, new)
                    for old, new in zip(nija, ours, strict=True)
                ]
    shared = {name: sorted(users) for name, users in users_of.items() if len(users) > 1}
    text = "\n".join(_header(scan, renames, shared) + body) + "\n"
    try:
        config = parse_document(tomllib.loads(text), output, text)
    except (tomllib.TOMLDecodeError, ConfigError) as exc:  # pragma: no cover - a bug here
        raise ConfigError(f"the converted config does not load: {exc}") from exc
    return ImportResult(text, config, scan, tuple(renames), shared)


def _header(scan: Scan, renames: list[Rename], shared: dict[str, list[str]]) -> list[str]:
    lines = [
        "# nija-balances config converted by `nija config import` from the NIJA user files in",
        _plain(f"# {scan.directory.resolve()}"),
        "# Users, names, enabled flags and brokers are kept; run `nija config check` next.",
        "#",
        "# Credentials are read from environment variables (or a .env file beside this file).",
    ]
    if renames:
        width = max(len(r.nija) for r in renames)
        lines += [
            "# NIJA named them after the user's FIRST NAME only, so users sharing a first name",
            "# shared one key; nija-balances uses the whole user id. Rename:",
            *(f"#   {r.nija:<{width}} -> {r.ours}" for r in renames),
        ]
    for name, users in shared.items():
        lines.append(
            _plain(f"# {name} was shared by {' and '.join(users)}: give each their own key.")
        )
    if scan.problems:
        lines.append(
            f"# {len(scan.problems)} entries could not be converted (see the import report)."
        )
    lines += [
        "",
        table_header(("platform",)),
        assignment("name", PLATFORM_NAME),
        "# NIJA user files hold no platform connections; add them with",
        "# `nija config add-connection platform coinbase --exchange coinbase`",
    ]
    return lines
