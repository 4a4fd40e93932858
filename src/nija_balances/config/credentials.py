"""Credential lookup: explicit env names, the naming convention, `.env` files, inline values.

User connections read `{EXCHANGE}_USER_{USERID}_API_KEY` (the whole user id, upper-cased,
non-alphanumerics as `_`); the platform reads `{EXCHANGE}_PLATFORM_API_KEY`, then
`{EXCHANGE}_MASTER_API_KEY`, then `{EXCHANGE}_API_KEY`. Explicit `*_env` names win over the
convention; inline values are the last resort. Whitespace-only values count as missing.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from nija_balances.domain.models import PLATFORM_ID, ConnectionConfig
from nija_balances.domain.secrets import Credentials, CredentialSource
from nija_balances.domain.text import env_token

_PARTS = ("API_KEY", "API_SECRET", "API_PASSPHRASE")


def candidate_env_names(connection: ConnectionConfig, part: str) -> tuple[str, ...]:
    """Env var names tried, in order, for `part` (API_KEY, API_SECRET or API_PASSPHRASE)."""
    explicit = {
        "API_KEY": connection.api_key_env,
        "API_SECRET": connection.api_secret_env,
        "API_PASSPHRASE": connection.api_passphrase_env,
    }[part]
    if explicit:
        return (explicit,)
    exchange = env_token(connection.exchange)
    if connection.account == PLATFORM_ID:
        return (
            f"{exchange}_PLATFORM_{part}",
            f"{exchange}_MASTER_{part}",
            f"{exchange}_{part}",
        )
    return (f"{exchange}_USER_{env_token(connection.account)}_{part}",)


def _clean(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return value.strip()


def resolve(
    connection: ConnectionConfig,
    environ: Mapping[str, str] | None = None,
    dotenv: Mapping[str, str] | None = None,
) -> Credentials:
    """Find the credentials of `connection` in the environment, a `.env` mapping, or inline."""
    env = os.environ if environ is None else environ
    dot = dotenv or {}
    inline = {
        "API_KEY": connection.api_key,
        "API_SECRET": connection.api_secret,
        "API_PASSPHRASE": connection.api_passphrase,
    }
    values: dict[str, str | None] = {}
    sources: dict[str, CredentialSource | None] = {}
    for part in _PARTS:
        values[part], sources[part] = None, None
        for name in candidate_env_names(connection, part):
            if (v := _clean(env.get(name))) is not None:
                values[part], sources[part] = v, CredentialSource("env", name)
                break
            if (v := _clean(dot.get(name))) is not None:
                values[part], sources[part] = v, CredentialSource("dotenv", name)
                break
        else:
            if (v := _clean(inline[part])) is not None:
                values[part], sources[part] = v, CredentialSource("inline")
    return Credentials(
        api_key=values["API_KEY"],
        api_secret=values["API_SECRET"],
        api_passphrase=values["API_PASSPHRASE"],
        key_source=sources["API_KEY"],
        secret_source=sources["API_SECRET"],
        passphrase_source=sources["API_PASSPHRASE"],
    )


def load_dotenv_files(paths: Iterable[Path]) -> dict[str, str]:
    """Read `.env` files (first one wins per name) without touching `os.environ`.

    Values are taken literally: `${HOME}` in a secret is part of the secret."""
    merged: dict[str, str] = {}
    for path in paths:
        if path.is_file():
            from dotenv import dotenv_values  # only when there is a file: keeps start-up lean

            for name, value in dotenv_values(path, interpolate=False).items():
                if value is not None:
                    merged.setdefault(name, value)
    return merged


def credential_names(connections: Iterable[ConnectionConfig]) -> set[str]:
    """Every environment variable name the `connections` may read a credential from."""
    return {n for c in connections for part in _PARTS for n in candidate_env_names(c, part)}


def dotenv_warnings(paths: Iterable[Path], connections: Iterable[ConnectionConfig]) -> list[str]:
    """A warning for each `.env` file that group or others may read and that holds a
    credential of `connections` (as for a config file holding inline secrets)."""
    names: set[str] | None = None
    warnings: list[str] = []
    for path in paths:
        try:
            mode = path.stat().st_mode
        except OSError:
            continue
        if not stat.S_ISREG(mode) or not mode & (stat.S_IRGRP | stat.S_IROTH):
            continue
        names = credential_names(connections) if names is None else names
        values = load_dotenv_files([path])
        if any(name in names and _clean(value) for name, value in values.items()):
            warnings.append(
                f"{path} holds API secrets and is readable by other users "
                f"(mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
            )
    return warnings
