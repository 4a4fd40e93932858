"""`nija init`, `nija config add-user` and `nija config add-connection`: write and edit the
config file.

Edits insert text into the file (comments survive), check that the result loads before
writing, and replace the file atomically keeping its mode. Any refusal exits 2 and leaves
the file as it was.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nija_balances.cli.config import config_hint
from nija_balances.cli.context import Terminal
from nija_balances.cli.options import ForceOption

if TYPE_CHECKING:
    from nija_balances.domain.models import ConnectionConfig


# --------------------------------------------------------------------- nija init


def init(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Option(
            "--path",
            help="Where to write it. [default: --config, $NIJA_CONFIG, or `nija config path`]",
            show_default=False,
        ),
    ] = None,
    force: ForceOption = False,
) -> None:
    """Write a commented starter config (mode 600) that works right away.

    It holds one simulated `paper` user, so `nija show` runs at once, and commented
    examples for real exchanges. API keys are not stored in it: they come from environment
    variables, which `nija config check` lists.

    Examples: `nija init` · `nija init --path ./nija.toml` · `nija init --force`
    """
    from datetime import date

    from nija_balances.config.edit import atomic_write, starter_config

    term = Terminal.of(ctx)
    target = path if path is not None else term.config_path()
    if target.is_dir():
        term.fail(f"{target} is a directory; give a file path with --path")
    if target.exists() and not force:
        term.fail(
            f"{target} already exists; nothing was written. Use --force to replace it, "
            "or edit it with `nija config add-user` / `nija config add-connection`",
        )
    real = target.resolve() if target.exists() else target
    try:
        real.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write(real, starter_config(date.today().isoformat()), 0o600)
    except OSError as exc:
        term.fail(f"cannot write {target}: {exc.strerror or exc}")
    extra = config_hint(target)
    term.say(f"wrote a starter config to {target} (mode 600)")
    term.say(f"try it:      nija show{extra}      (one paper account, no keys needed)")
    term.say(f'add a user:  nija config add-user alice --name "Alice A."{extra}')
    term.say(f"connect it:  nija config add-connection alice kraken --exchange kraken{extra}")
    term.say(f"then:        nija config check{extra}      (which API keys are found)")


# --------------------------------------------------------------------- editing


class _Edit:
    """The config file being edited: its text, its parsed data and its mode."""

    def __init__(self, term: Terminal) -> None:
        import tomllib

        self.term = term
        if term.demo:
            term.fail("the built-in demo cannot be edited; run `nija init` first")
        self.path = term.config_path()
        if self.path.is_dir():
            term.fail(
                f"{self.path} is a NIJA users directory, which is not edited here; convert it "
                f"first: nija config import {self.path} --output config.toml",
            )
        if not self.path.exists():
            term.fail(f"no config file at {self.path}; create one with `nija init` first")
        self.real = self.path.resolve()
        try:
            self.text = self.real.read_bytes().decode("utf-8")
        except OSError as exc:
            term.fail(f"cannot read {self.path}: {exc.strerror}; nothing was changed")
        except UnicodeDecodeError:
            term.fail(f"{self.path} is not UTF-8 text; nothing was changed")
        try:
            self.data: dict[str, Any] = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            term.fail(
                f"{self.path} is not valid TOML ({exc}); nothing was changed. "
                "Fix it first: `nija config check` shows where",
            )
        if not os.access(self.real, os.W_OK) or not os.access(self.real.parent, os.W_OK):
            term.fail(f"cannot write {self.path} (permission denied); nothing was changed")
        self.mode = stat.S_IMODE(self.real.stat().st_mode)

    def save(self, new_text: str) -> None:
        """Check that `new_text` loads, then replace the file atomically with it."""
        import tomllib

        from nija_balances.config.edit import atomic_write
        from nija_balances.config.loader import parse_document
        from nija_balances.domain.syntax import ConfigError

        try:
            parse_document(tomllib.loads(new_text), self.path, new_text)
        except tomllib.TOMLDecodeError as exc:
            self.term.fail(
                f"nothing was changed: the edited file would not be valid TOML ({exc}); "
                "this happens when the account is written as an inline table: edit it by hand",
            )
        except ConfigError as exc:
            self.term.fail(f"nothing was changed: the result would not load:\n{exc}")
        try:
            atomic_write(self.real, new_text, self.mode)
        except OSError as exc:
            self.term.fail(f"cannot write {self.path}: {exc.strerror}; nothing was changed")

    def users(self) -> dict[str, Any]:
        users = self.data.get("users", {})
        return users if isinstance(users, dict) else {}


def _reads(conn: ConnectionConfig) -> str:
    from nija_balances.config.credentials import candidate_env_names

    parts = [" or ".join(candidate_env_names(conn, p)) for p in ("API_KEY", "API_SECRET")]
    return f"key from {parts[0]}, secret from {parts[1]}"


def add_user(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="ID", help="User id (used in env var names).")],
    name: Annotated[
        str | None, typer.Option("--name", help="Display name. [default: the id]")
    ] = None,
    disabled: Annotated[
        bool, typer.Option("--disabled", help="List the user as `disabled`, outside the totals.")
    ] = False,
) -> None:
    """Add a user to the config file (the rest of the file, comments included, is kept).

    Examples: `nija config add-user alice --name "Alice A."` · `nija config add-user bob --disabled`
    """
    from nija_balances.config.edit import append_block, user_block
    from nija_balances.domain.text import env_token

    term = Terminal.of(ctx)
    edit = _Edit(term)
    user_id = user_id.strip()
    if not user_id:
        term.fail("a user id may not be empty")
    if user_id == "platform":
        term.fail("'platform' is reserved for the platform account; pick another id")
    if name is not None and not name.strip():
        term.fail("--name may not be empty")
    users = edit.users()
    if user_id in users:
        term.fail(f"user '{user_id}' already exists in {edit.path}; nothing was changed")
    from nija_balances.domain.syntax import user_id_clash

    clash = user_id_clash(user_id, users)
    if clash is not None:
        problem, hint = clash
        term.fail(f"{problem} in {edit.path}; nothing was changed\n  hint: {hint}")
    block = user_block(user_id, name.strip() if name else None, not disabled)
    edit.save(append_block(edit.text, block))
    term.say(f"added user '{user_id}' to {edit.path}" + (" (disabled)" if disabled else ""))
    term.say(
        f"next: nija config add-connection {user_id} kraken --exchange kraken"
        f"{config_hint(edit.path)}   (reads KRAKEN_USER_{env_token(user_id)}_API_KEY "
        "and _API_SECRET)",
    )


def add_connection(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(metavar="ACCOUNT", help="`platform` or a user id.")],
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Connection name, e.g. kraken or kraken-sub.")
    ],
    exchange: Annotated[
        str | None,
        typer.Option("--exchange", help="ccxt exchange id, or paper. [default: NAME]"),
    ] = None,
    key_env: Annotated[
        str | None, typer.Option("--key-env", metavar="VAR", help="Env var holding the API key.")
    ] = None,
    secret_env: Annotated[
        str | None,
        typer.Option("--secret-env", metavar="VAR", help="Env var holding the API secret."),
    ] = None,
    passphrase_env: Annotated[
        str | None,
        typer.Option("--passphrase-env", metavar="VAR", help="Env var holding the passphrase."),
    ] = None,
) -> None:
    """Add a connection to the platform or to a user (comments in the file are kept).

    Without `--key-env`/`--secret-env` the credentials come from the naming convention,
    e.g. `KRAKEN_USER_ALICE_API_KEY`; give the *names* of variables here, never the keys.

    Examples: `nija config add-connection alice kraken --exchange kraken` ·
    `nija config add-connection platform coinbase --exchange coinbase` ·
    `nija config add-connection alice kraken-sub --exchange kraken --key-env SUB_KEY
    --secret-env SUB_SECRET`
    """
    from nija_balances.adapters.registry import (
        UNSUPPORTED_BROKERS,
        is_known_exchange,
        suggest_exchange,
    )
    from nija_balances.config.edit import connection_block, insert_into_account, looks_like_env_name
    from nija_balances.config.loader import ACCOUNT_KEYS
    from nija_balances.domain.models import PLATFORM_ID, ConnectionConfig
    from nija_balances.domain.syntax import did_you_mean

    term = Terminal.of(ctx)
    edit = _Edit(term)
    account, name = account.strip(), name.strip()
    if account in ("platform", "master"):
        key = "master" if "master" in edit.data and "platform" not in edit.data else "platform"
        path: tuple[str, ...] = (key,)
        table = edit.data.get(key, {})
        account_id = PLATFORM_ID
    else:
        users = edit.users()
        if account not in users:
            guess = did_you_mean(account, list(users))
            term.fail(
                f"no user '{account}' in {edit.path}"
                + (f" (did you mean '{guess}'?)" if guess else "")
                + f"; add it first: nija config add-user {account}",
            )
        path, table, account_id = ("users", account), users[account], account
    if not name or name in ACCOUNT_KEYS:
        term.fail(f"'{name}' cannot be a connection name; try the exchange id")
    if isinstance(table, dict) and name in table:
        term.fail(f"{account} already has a connection '{name}'; nothing was changed")
    exchange = (exchange or name).strip().lower()
    known = is_known_exchange(exchange)
    term.report_plugin_problems()
    if not known:
        guess = suggest_exchange(exchange)
        term.fail(
            f"unknown exchange '{exchange}'"
            + (f" (did you mean '{guess}'?)" if guess else "")
            + "; use a ccxt exchange id (kraken, coinbase, binance, okx, alpaca, ...) or paper",
        )
    names = {"api_key_env": key_env, "api_secret_env": secret_env}
    names["api_passphrase_env"] = passphrase_env
    for option, value in zip(
        ("--key-env", "--secret-env", "--passphrase-env"), names.values(), strict=True
    ):
        if value is not None and not looks_like_env_name(value):
            # Never echo the value: it may be a pasted secret.
            term.fail(
                f"{option} takes the NAME of an environment variable (letters, digits and _), "
                "not the key itself",
            )
    edit.save(
        insert_into_account(
            edit.text, path, connection_block(path, name, {"exchange": exchange, **names})
        )
    )
    conn = ConnectionConfig(
        account=account_id,
        name=name,
        exchange=exchange,
        api_key_env=key_env,
        api_secret_env=secret_env,
        api_passphrase_env=passphrase_env,
    )
    term.say(f"added connection {account}/{name} ({exchange}) to {edit.path}")
    if exchange == "paper":
        term.say("paper account: add balances = { USD = 100.0 } to its table to simulate holdings")
    elif exchange in UNSUPPORTED_BROKERS:
        term.warn(f"no adapter can reach {exchange}: it will be listed as `unsupported`")
    else:
        term.say(f"reads the {_reads(conn)}")
