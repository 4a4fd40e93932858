"""Write and edit config files as text, so that the operator's comments survive.

Values are formatted by tomli-w; whole tables are inserted or appended as text instead of
re-dumping the document. Files are replaced atomically (temp file in the same directory,
then `os.replace`), keeping their mode.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from nija_balances.domain.models import DEFAULT_STABLECOINS
from nija_balances.domain.syntax import ENV_NAME, key_lines
from nija_balances.domain.text import safe_text


def looks_like_env_name(value: str) -> bool:
    """Whether `value` is a plausible environment variable name rather than a pasted key.

    Alpaca key ids and Binance keys are long runs of letters and digits without `_`:
    those are refused, so that a secret is never written into the config or echoed.
    """
    if not ENV_NAME.fullmatch(value):
        return False
    return "_" in value or len(value) < 16 or not any(c.isdigit() for c in value)


def toml_key(key: str) -> str:
    """A key as TOML writes it: bare when it can be, quoted otherwise (bidi and zero-width
    characters escaped as `\\u202e`, which TOML reads back as the character)."""
    return safe_text(tomli_w.dumps({key: 0}).rstrip("\n").removesuffix(" = 0"))


def toml_value(value: Any) -> str:
    """One value on one line (tables become inline tables, arrays stay on the line)."""
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    text = tomli_w.dumps({"x": value}).rstrip("\n").removeprefix("x = ")
    # tomli_w writes "..." strings and leaves bidi and zero-width characters raw: escaped,
    # they cannot reorder the file on screen, and TOML reads `\u202e` back as the character
    return safe_text(text) if isinstance(value, str) else text


def table_header(path: tuple[str, ...]) -> str:
    return "[" + ".".join(toml_key(p) for p in path) + "]"


def assignment(key: str, value: Any, comment: str | None = None) -> str:
    line = f"{toml_key(key)} = {toml_value(value)}"
    return f"{line}  # {comment}" if comment else line


def table_block(path: tuple[str, ...], values: Mapping[str, Any]) -> str:
    """`[path]` followed by its `key = value` lines."""
    lines = [table_header(path)]
    lines += [assignment(k, v) for k, v in values.items() if v is not None]
    return "\n".join(lines) + "\n"


def user_block(user_id: str, name: str | None, enabled: bool) -> str:
    values: dict[str, Any] = {"name": name}
    if not enabled:
        values["enabled"] = False
    return table_block(("users", user_id), values)


def connection_block(account_path: tuple[str, ...], name: str, values: Mapping[str, Any]) -> str:
    return table_block((*account_path, name), values)


def append_block(text: str, block: str) -> str:
    """`text` with `block` appended after one blank line."""
    newline = "\r\n" if "\r\n" in text else "\n"
    body = text.rstrip("\r\n")
    joined = (body + "\n\n" if body else "") + block
    return joined.replace("\r\n", "\n").replace("\n", newline)


def insert_into_account(text: str, account_path: tuple[str, ...], block: str) -> str:
    """Insert `block` after the last table of the account at `account_path`.

    Comments just above the next table belong to that table and stay with it. When the
    account has no `[...]` header (absent, or written inline), the block is appended.
    """
    lines = text.split("\n")  # TOML lines end at \n only, as key_lines counts them
    lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    headers = sorted(
        (number - 1, path)
        for path, number in key_lines(text).items()
        if lines[number - 1].lstrip().startswith("[")
    )
    owned = [i for i, (_, path) in enumerate(headers) if path[: len(account_path)] == account_path]
    if not owned or owned[-1] + 1 >= len(headers):
        return append_block(text, block)
    end = headers[owned[-1] + 1][0]  # line index of the next table's header
    while end > 0 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    newline = "\r\n" if "\r\n" in text else "\n"
    before = "".join(lines[:end]).rstrip("\r\n")
    after = "".join(lines[end:]).lstrip("\r\n")
    joined = before + "\n\n" + block + "\n" + after
    return joined.replace("\r\n", "\n").replace("\n", newline)


def atomic_write(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace `path` with `text` in one step: a reader sees the old file or the new one."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


# --------------------------------------------------------------------- starter config

_SETTINGS_DOC = (
    ("cache_ttl", 120, "seconds a fetched balance is served from the on-disk cache"),
    ("timeout", 15, "seconds per connection before it is reported `timeout`"),
    ("max_in_flight", 64, "requests at once to one exchange, across all accounts"),
    ("quote", "USD", "valuation currency"),
    ("basis", "equity", '"equity" values every asset; "cash": quote currency + stablecoins'),
    ("stablecoins", list(DEFAULT_STABLECOINS), "valued at 1.0 quote"),
    ("timezone", "UTC", "the days of the daily P&L (an IANA name, e.g. Europe/London)"),
)


def starter_config(created: str) -> str:
    """The commented config `nija init` writes; it loads as is (one paper user)."""
    settings = "\n".join(assignment(k, v, doc) for k, v, doc in _SETTINGS_DOC)
    paper = table_block(
        ("users", "example", "paper"),
        {
            "exchange": "paper",
            "balances": {"USD": 1000.0, "BTC": 0.01},
            "prices": {"BTC": 60000.0},
        },
    )
    return f"""\
# nija-balances config, written by `nija init` on {created}.
#
# Try it now:      nija show            (the paper account below needs no credentials)
# Check it:        nija config check    (which credentials are found, which are missing)
# Add accounts:    nija config add-user alice --name "Alice A."
#                  nija config add-connection alice kraken --exchange kraken
#
# API keys do NOT belong in this file. Each connection reads environment variables (or a
# .env file beside this file) named by convention:
#   a user:         {{EXCHANGE}}_USER_{{USERID}}_API_KEY, _API_SECRET, _API_PASSPHRASE
#                   (the whole user id, upper-cased: KRAKEN_USER_ALICE_API_KEY)
#   the platform:   {{EXCHANGE}}_PLATFORM_API_KEY, then {{EXCHANGE}}_MASTER_API_KEY,
#                   then {{EXCHANGE}}_API_KEY
# or the names you give with api_key_env / api_secret_env / api_passphrase_env.

[settings]
{settings}

# The platform account (the older name [master] is accepted too). Each sub-table is a
# connection: its key is the connection name and, unless `exchange = "..."` says
# otherwise, the exchange (any ccxt exchange id: coinbase, kraken, binance, okx, ...).
{table_block(("platform",), {"name": "Nija System"})}
# [platform.coinbase]       # reads COINBASE_PLATFORM_API_KEY / _API_SECRET
#
# [platform.kraken]         # reads KRAKEN_PLATFORM_API_KEY / _API_SECRET

# One [users.ID] table per user; `enabled = false` lists a user as `disabled`, outside
# the totals. This example user holds a simulated (paper) account: no network, no keys.
# Delete it when your real users are in.
{user_block("example", "Example user (paper account)", True)}
{paper}
# [users.alice]
# name = "Alice A."
#
# [users.alice.kraken]      # reads KRAKEN_USER_ALICE_API_KEY / _API_SECRET
#
# [users.alice.kraken-sub]  # a second account on the same exchange
# exchange = "kraken"
# api_key_env = "ALICE_KRAKEN_SUB_KEY"       # explicit variable names
# api_secret_env = "ALICE_KRAKEN_SUB_SECRET"
#
# [users.alice.okx]         # OKX also needs OKX_USER_ALICE_API_PASSPHRASE
#
# [users.bob.binance]
# ccxt = {{ options = {{ defaultType = "spot" }} }}   # passed to the ccxt constructor
"""
