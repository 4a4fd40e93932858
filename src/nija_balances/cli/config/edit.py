"""`nija init` and `nija config ...`: write, edit and import the config file.

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

from nija_balances.cli import common
from nija_balances.cli.base import app

if TYPE_CHECKING:
    from nija_balances.domain.models import ConnectionConfig

config_app = typer.Typer(
    help="Write, edit, import and inspect the config file.\n\n"
    "Start with `nija init`; see where things live with `nija config path`.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(config_app, name="config")

ForceOption = Annotated[
    bool, typer.Option("--force", help="Replace an existing file (its content is lost).")
]


def say(opts: common.GlobalOptions, text: str, style: str | None = None) -> None:
    """A message on stderr, printed as is (no markup, no wrapping)."""
    common.err(opts).print(text, markup=False, highlight=False, soft_wrap=True, style=style)


def warn(opts: common.GlobalOptions, text: str) -> None:
    say(opts, f"warning: {text}", style="yellow")


def config_path(opts: common.GlobalOptions) -> Path:
    from nija_balances.paths import default_config_path

    return opts.config if opts.config is not None else default_config_path()


def _default_hint(path: Path) -> str:
    from nija_balances.paths import default_config_path

    return "" if path == default_config_path() else f" --config {path}"


# --------------------------------------------------------------------- nija init


@app.command()
def init(
    path: Annotated[
        Path | None,
        typer.Option(
            "--path",
            help="Where to write it. [default: --config, $NIJA_CONFIG, or `nija config path`]",
            show_default=False,
        ),
    ] = None,
    force: ForceOption = False,
    config: common.ConfigOption = None,
    demo: common.DemoOption = False,
    no_color: common.NoColorOption = False,
    verbose: common.VerboseOption = False,
) -> None:
    """Write a commented starter config (mode 600) that works right away.

    It holds one simulated `paper` user, so `nija show` runs at once, and commented
    examples for real exchanges. API keys are not stored in it: they come from environment
    variables, which `nija config check` lists.

    Examples: `nija init` · `nija init --path ./nija.toml` · `nija init --force`
    """
    from datetime import date

    from nija_balances.config.edit import atomic_write, starter_config

    opts = common.merge(config, demo, no_color, verbose)
    target = path if path is not None else config_path(opts)
    if target.is_dir():
        common.fail(opts, f"{target} is a directory; give a file path with --path")
    if target.exists() and not force:
        common.fail(
            opts,
            f"{target} already exists; nothing was written. Use --force to replace it, "
            "or edit it with `nija config add-user` / `nija config add-connection`",
        )
    real = target.resolve() if target.exists() else target
    try:
        real.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write(real, starter_config(date.today().isoformat()), 0o600)
    except OSError as exc:
        common.fail(opts, f"cannot write {target}: {exc.strerror or exc}")
    extra = _default_hint(target)
    say(opts, f"wrote a starter config to {target} (mode 600)")
    say(opts, f"try it:      nija show{extra}      (one paper account, no keys needed)")
    say(opts, f'add a user:  nija config add-user alice --name "Alice A."{extra}')
    say(opts, f"connect it:  nija config add-connection alice kraken --exchange kraken{extra}")
    say(opts, f"then:        nija config check{extra}      (which API keys are found)")


# --------------------------------------------------------------------- nija config path


@config_app.command("path")
def path_cmd(
    config: common.ConfigOption = None,
    demo: common.DemoOption = False,
    no_color: common.NoColorOption = False,
    verbose: common.VerboseOption = False,
) -> None:
    """Print the config file in use and the cache directory.

    The config is `--config`, else `$NIJA_CONFIG`, else `config.toml` in the per-user
    config directory (`$NIJA_BALANCES_HOME` moves config and cache under one directory).

    Example: `nija config path`
    """
    from nija_balances.paths import cache_dir

    opts = common.merge(config, demo, no_color, verbose)
    target = config_path(opts)
    shown = "(built-in demo)" if opts.demo else str(target)
    common.write_data(f"config: {shown}\ncache: {cache_dir()}")
    if opts.demo:
        return
    if target.is_dir():
        say(opts, f"{target} is a NIJA users directory (read as a config)")
    elif not target.exists():
        say(opts, f"no file there yet: create it with `nija init{_default_hint(target)}`")


# --------------------------------------------------------------------- editing


class _Edit:
    """The config file being edited: its text, its parsed data and its mode."""

    def __init__(self, opts: common.GlobalOptions) -> None:
        import tomllib

        self.opts = opts
        if opts.demo:
            common.fail(opts, "the built-in demo cannot be edited; run `nija init` first")
        self.path = config_path(opts)
        if self.path.is_dir():
            common.fail(
                opts,
                f"{self.path} is a NIJA users directory, which is not edited here; convert it "
                f"first: nija config import {self.path} --output config.toml",
            )
        if not self.path.exists():
            common.fail(opts, f"no config file at {self.path}; create one with `nija init` first")
        self.real = self.path.resolve()
        try:
            self.text = self.real.read_bytes().decode("utf-8")
        except OSError as exc:
            common.fail(opts, f"cannot read {self.path}: {exc.strerror}; nothing was changed")
        except UnicodeDecodeError:
            common.fail(opts, f"{self.path} is not UTF-8 text; nothing was changed")
        try:
            self.data: dict[str, Any] = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            common.fail(
                opts,
                f"{self.path} is not valid TOML ({exc}); nothing was changed. "
                "Fix it first: `nija config check` shows where",
            )
        if not os.access(self.real, os.W_OK) or not os.access(self.real.parent, os.W_OK):
            common.fail(opts, f"cannot write {self.path} (permission denied); nothing was changed")
        self.mode = stat.S_IMODE(self.real.stat().st_mode)

    def save(self, new_text: str) -> None:
        """Check that `new_text` loads, then replace the file atomically with it."""
        import tomllib

        from nija_balances.config.edit import atomic_write
        from nija_balances.config.loader import parse_document
        from nija_balances.config.syntax import ConfigError

        try:
            parse_document(tomllib.loads(new_text), self.path, new_text)
        except tomllib.TOMLDecodeError as exc:
            common.fail(
                self.opts,
                f"nothing was changed: the edited file would not be valid TOML ({exc}); "
                "this happens when the account is written as an inline table: edit it by hand",
            )
        except ConfigError as exc:
            common.fail(self.opts, f"nothing was changed: the result would not load:\n{exc}")
        try:
            atomic_write(self.real, new_text, self.mode)
        except OSError as exc:
            common.fail(self.opts, f"cannot write {self.path}: {exc.strerror}; nothing was changed")

    def users(self) -> dict[str, Any]:
        users = self.data.get("users", {})
        return users if isinstance(users, dict) else {}


def _reads(conn: ConnectionConfig) -> str:
    from nija_balances.config.credentials import candidate_env_names

    parts = [" or ".join(candidate_env_names(conn, p)) for p in ("API_KEY", "API_SECRET")]
    return f"key from {parts[0]}, secret from {parts[1]}"


@config_app.command("add-user")
def add_user(
    user_id: Annotated[str, typer.Argument(metavar="ID", help="User id (used in env var names).")],
    name: Annotated[
        str | None, typer.Option("--name", help="Display name. [default: the id]")
    ] = None,
    disabled: Annotated[
        bool, typer.Option("--disabled", help="List the user as `disabled`, outside the totals.")
    ] = False,
    config: common.ConfigOption = None,
    demo: common.DemoOption = False,
    no_color: common.NoColorOption = False,
    verbose: common.VerboseOption = False,
) -> None:
    """Add a user to the config file (the rest of the file, comments included, is kept).

    Examples: `nija config add-user alice --name "Alice A."` · `nija config add-user bob --disabled`
    """
    from nija_balances.config.credentials import env_token
    from nija_balances.config.edit import append_block, user_block

    opts = common.merge(config, demo, no_color, verbose)
    edit = _Edit(opts)
    user_id = user_id.strip()
    if not user_id:
        common.fail(opts, "a user id may not be empty")
    if user_id == "platform":
        common.fail(opts, "'platform' is reserved for the platform account; pick another id")
    if name is not None and not name.strip():
        common.fail(opts, "--name may not be empty")
    users = edit.users()
    if user_id in users:
        common.fail(opts, f"user '{user_id}' already exists in {edit.path}; nothing was changed")
    twin = next((u for u in users if env_token(u) == env_token(user_id)), None)
    if twin is not None:
        warn(
            opts,
            f"'{user_id}' and '{twin}' read the same environment variables "
            f"(*_USER_{env_token(user_id)}_*); give one of them api_key_env / api_secret_env",
        )
    block = user_block(user_id, name.strip() if name else None, not disabled)
    edit.save(append_block(edit.text, block))
    say(opts, f"added user '{user_id}' to {edit.path}" + (" (disabled)" if disabled else ""))
    say(
        opts,
        f"next: nija config add-connection {user_id} kraken --exchange kraken"
        f"{_default_hint(edit.path)}   (reads KRAKEN_USER_{env_token(user_id)}_API_KEY "
        "and _API_SECRET)",
    )


@config_app.command("add-connection")
def add_connection(
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
    config: common.ConfigOption = None,
    demo: common.DemoOption = False,
    no_color: common.NoColorOption = False,
    verbose: common.VerboseOption = False,
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
    from nija_balances.config.syntax import did_you_mean
    from nija_balances.domain.models import PLATFORM_ID, ConnectionConfig

    opts = common.merge(config, demo, no_color, verbose)
    edit = _Edit(opts)
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
            common.fail(
                opts,
                f"no user '{account}' in {edit.path}"
                + (f" (did you mean '{guess}'?)" if guess else "")
                + f"; add it first: nija config add-user {account}",
            )
        path, table, account_id = ("users", account), users[account], account
    if not name or name in ACCOUNT_KEYS:
        common.fail(opts, f"'{name}' cannot be a connection name; try the exchange id")
    if isinstance(table, dict) and name in table:
        common.fail(opts, f"{account} already has a connection '{name}'; nothing was changed")
    exchange = (exchange or name).strip().lower()
    if not is_known_exchange(exchange):
        guess = suggest_exchange(exchange)
        common.fail(
            opts,
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
            common.fail(
                opts,
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
    say(opts, f"added connection {account}/{name} ({exchange}) to {edit.path}")
    if exchange == "paper":
        say(opts, "paper account: add balances = { USD = 100.0 } to its table to simulate holdings")
    elif exchange in UNSUPPORTED_BROKERS:
        warn(opts, f"no adapter can reach {exchange}: it will be listed as `unsupported`")
    else:
        say(opts, f"reads the {_reads(conn)}")


from nija_balances.cli.config import import_cmd, show  # noqa: E402, F401
