"""`nija config path`, `nija config show` and `nija config check`: which config is in use,
what it says and what is missing.

Credentials are described by where they come from (an env var, a `.env` file, the config
file itself) or by the names that were looked for; their values are never printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nija_balances.cli import EXIT_INCOMPLETE
from nija_balances.cli.config import config_hint
from nija_balances.cli.context import Terminal
from nija_balances.cli.failure import SECRET_NAME
from nija_balances.cli.options import JsonOption

if TYPE_CHECKING:
    from nija_balances.domain.models import AccountConfig, Config, ConnectionConfig

PARTS = (("api_key", "API_KEY"), ("api_secret", "API_SECRET"), ("api_passphrase", "API_PASSPHRASE"))
REDACTED = "***"


@dataclass(frozen=True)
class Source:
    """Where one credential part of one connection comes from."""

    part: str  # api_key, api_secret, api_passphrase
    kind: str | None  # env, dotenv, inline; None: missing (JSON: "missing")
    variable: str | None
    file: Path | None
    looked_for: tuple[str, ...]

    def describe(self) -> str:
        if self.kind == "env":
            return f"env {self.variable}"
        if self.kind == "dotenv":
            return f".env {self.variable} ({self.file})"
        if self.kind == "inline":
            return "config file (inline)"
        return f"missing (looked for {', '.join(self.looked_for)})"

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.kind or "missing",
            "variable": self.variable,
            "file": str(self.file) if self.file else None,
            "looked_for": list(self.looked_for),
        }


class Inspector:
    """Resolves credential sources for every connection of a config, once."""

    def __init__(self, config: Config) -> None:
        from nija_balances.config.credentials import load_dotenv_files

        self.config = config
        self.files = [(f, load_dotenv_files([f])) for f in config.env_files]
        self.dotenv = load_dotenv_files(config.env_files)

    def needs_credentials(self, conn: ConnectionConfig) -> bool:
        from nija_balances.adapters.registry import find_adapter

        spec = find_adapter(conn.exchange)
        return spec is None or spec.requires_credentials

    def sources(self, conn: ConnectionConfig) -> list[Source]:
        from nija_balances.adapters.ccxt.quirks import quirks_for
        from nija_balances.config.credentials import candidate_env_names, resolve

        creds = resolve(conn, dotenv=self.dotenv)
        found = (creds.key_source, creds.secret_source, creds.passphrase_source)
        result = []
        for (part, upper), source in zip(PARTS, found, strict=True):
            wanted = quirks_for(conn.exchange).passphrase or conn.api_passphrase_env
            if part == "api_passphrase" and source is None and not wanted:
                continue
            kind, variable, file = None, None, None
            if source is not None:
                kind, variable = source.kind, source.variable
            if kind == "dotenv":
                file = next((f for f, values in self.files if variable in values), None)
            result.append(Source(part, kind, variable, file, candidate_env_names(conn, upper)))
        return result

    def secrets(self) -> list[str]:
        from nija_balances.config.credentials import resolve

        conns = [c for a in self.config.accounts for c in a.connections]
        return [s for c in conns for s in resolve(c, dotenv=self.dotenv).secrets()]


def _redacted(options: Any, path: str, hidden: list[str]) -> Any:
    """`options` with every value under a secret-looking key (key, secret, pass, token,
    private, twofa, totp, seed, otp, uid, auth, credential) replaced by `***`, whatever its
    type; the dotted paths of those keys are added to `hidden`."""
    if isinstance(options, dict):
        shown = {}
        for k, v in options.items():
            where = f"{path}.{k}"
            if SECRET_NAME.search(str(k)):
                shown[k] = REDACTED
                hidden.append(where)
            else:
                shown[k] = _redacted(v, where, hidden)
        return shown
    if isinstance(options, list | tuple):
        return [_redacted(v, f"{path}[{i}]", hidden) for i, v in enumerate(options)]
    return options


def _ccxt_redacted(conn: ConnectionConfig) -> tuple[Any, list[str]]:
    """The connection's `ccxt` options as shown, and the keys whose values are hidden (they
    can only come from the config file itself)."""
    hidden: list[str] = []
    return _redacted(dict(conn.ccxt), "ccxt", hidden), hidden


def _table_path(account: AccountConfig) -> tuple[str, ...]:
    return ("platform",) if account.kind == "platform" else ("users", account.id)


# --------------------------------------------------------------------- nija config path


def path(ctx: typer.Context) -> None:
    """Print the config file in use and the cache directory.

    The config is `--config`, else `$NIJA_CONFIG`, else `config.toml` in the per-user
    config directory (`$NIJA_BALANCES_HOME` moves config and cache under one directory).

    Example: `nija config path`
    """
    from nija_balances.paths import cache_dir

    term = Terminal.of(ctx)
    target = term.config_path()
    shown = "(built-in demo)" if term.demo else str(target)
    term.write_data(f"config: {shown}\ncache: {cache_dir()}")
    if term.demo:
        return
    if target.is_dir():
        term.say(f"{target} is a NIJA users directory (read as a config)")
    elif not target.exists():
        term.say(f"no file there yet: create it with `nija init{config_hint(target)}`")


# --------------------------------------------------------------------- show


def _show_text(config: Config, inspector: Inspector) -> str:
    from dataclasses import asdict

    from nija_balances.adapters.registry import find_adapter
    from nija_balances.config.edit import assignment, table_header

    where = str(config.source) if config.source else "the built-in demo"
    lines = [
        f"# effective config of {where} (defaults filled in)",
        "# credentials: where each one comes from; values are never shown",
        "",
        table_header(("settings",)),
    ]
    settings = asdict(config.settings)
    store = {k: v for k, v in settings.pop("store").items() if v is not None}
    lines += [assignment(k, list(v) if isinstance(v, tuple) else v) for k, v in settings.items()]
    if store:  # the [store] table, when the file has one (a URL never holds a password)
        lines += ["", table_header(("store",)), *(assignment(k, v) for k, v in store.items())]
    for account in config.accounts:
        keys = _table_path(account)
        lines += ["", table_header(keys), assignment("name", account.name)]
        if account.kind == "user":
            lines.append(assignment("enabled", account.enabled))
        if not account.connections:
            lines.append("# no connections")
        for conn in account.connections:
            lines += ["", table_header((*keys, conn.name)), assignment("exchange", conn.exchange)]
            for key in ("api_key_env", "api_secret_env", "api_passphrase_env"):
                if (value := getattr(conn, key)) is not None:
                    lines.append(assignment(key, value))
            ccxt, hidden = _ccxt_redacted(conn)
            if conn.ccxt:
                lines.append(assignment("ccxt", ccxt))
            for option in ("balances", "prices"):
                if amounts := conn.options.get(option):
                    lines.append(assignment(option, {k: float(v) for k, v in amounts.items()}))
            spec = find_adapter(conn.exchange)
            lines.append(
                f"# adapter: {spec.name}" if spec else "# adapter: none (listed as `unsupported`)"
            )
            if not inspector.needs_credentials(conn):
                lines.append("# credentials: not needed")
            for source in inspector.sources(conn) if inspector.needs_credentials(conn) else []:
                lines.append(f"# {source.part}: {source.describe()}")
            lines += [f"# {key}: config file (inline), not shown" for key in hidden]
    return "\n".join(lines)


def _show_json(config: Config, inspector: Inspector) -> dict[str, Any]:
    from dataclasses import asdict

    from nija_balances.adapters.registry import find_adapter

    def connection(conn: ConnectionConfig) -> dict[str, Any]:
        spec = find_adapter(conn.exchange)
        needed = inspector.needs_credentials(conn)
        ccxt, hidden = _ccxt_redacted(conn)
        return {
            "name": conn.name,
            "exchange": conn.exchange,
            "adapter": spec.name if spec else None,
            "api_key_env": conn.api_key_env,
            "api_secret_env": conn.api_secret_env,
            "api_passphrase_env": conn.api_passphrase_env,
            "ccxt": ccxt,
            "balances": {k: float(v) for k, v in conn.options.get("balances", {}).items()},
            "prices": {k: float(v) for k, v in conn.options.get("prices", {}).items()},
            "credentials": {s.part: s.as_json() for s in inspector.sources(conn)}
            if needed
            else None,
            "hidden": {key: {"source": "inline"} for key in hidden},
        }

    def account(acc: AccountConfig) -> dict[str, Any]:
        return {
            "id": acc.id,
            "name": acc.name,
            "enabled": acc.enabled,
            "connections": [connection(c) for c in acc.connections],
        }

    settings = asdict(config.settings)
    settings["stablecoins"] = list(config.settings.stablecoins)
    store = settings.pop("store")  # its own [store] table, shown only when the file has one
    return {
        "source": str(config.source) if config.source else None,
        "settings": settings,
        **({"store": store} if any(store.values()) else {}),
        "platform": account(config.platform),
        "users": [account(u) for u in config.users],
    }


def show(
    ctx: typer.Context,
    json_: JsonOption = False,
) -> None:
    """Print the effective config (defaults filled in) and where each credential comes from.

    Secrets are never printed: only the env var, `.env` file or "config file (inline)" that
    holds them, or the names that were looked for. Any option whose key looks secret (key,
    secret, pass, token, private, twofa, totp, seed, otp, ...) is shown as `***`.

    Examples: `nija config show` · `nija config show --json` · `nija config show --demo`
    """
    term = Terminal.of(ctx)
    cfg = term.load_config()
    inspector = Inspector(cfg)
    if json_:
        term.write_data(json.dumps(_show_json(cfg, inspector), indent=2))
    else:
        term.write_data(_show_text(cfg, inspector))


# --------------------------------------------------------------------- check


def _check_line(conn: ConnectionConfig, enabled: bool, inspector: Inspector) -> tuple[str, str]:
    from nija_balances.adapters.registry import find_adapter

    if not enabled:
        return "disabled", "user is disabled: not fetched"
    if find_adapter(conn.exchange) is None:
        return "unsupported", f"no adapter for '{conn.exchange}' (ccxt does not support it)"
    if not inspector.needs_credentials(conn):
        return "ready", "no credentials needed"
    sources = inspector.sources(conn)
    missing = [s for s in sources if s.kind is None]
    if missing:
        return "no_credentials", "missing " + "; ".join(
            f"{s.part.removeprefix('api_')} (looked for {', '.join(s.looked_for)})" for s in missing
        )
    return "ready", "credentials: " + ", ".join(
        f"{s.part.removeprefix('api_')} from {s.describe()}" for s in sources
    )


def _columns(rows: list[tuple[str, str, str, str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return [
        f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip() for a, b, c, d in rows
    ]


def check(
    ctx: typer.Context,
    connect: Annotated[
        bool,
        typer.Option(
            "--connect", help="Also try every connection once (no cache) and show its status."
        ),
    ] = False,
) -> None:
    """Validate the config and say, per connection, what would stop it from working.

    Lists the credentials found (by source, never the value) or the env var names that were
    looked for, whether an adapter serves the exchange, and the adapter plugins installed
    (`plugin NAME SOURCE ok`, or the error that kept it from loading). Exit 0 when every enabled
    connection is ready, 1 when something needs attention, 2 when the config does not load.
    With `--connect` every connection is fetched once and shown with its status word.

    Examples: `nija config check` · `nija config check --connect`
    """
    term = Terminal.of(ctx)
    cfg = term.load_config()
    inspector = Inspector(cfg)
    rows: list[tuple[str, str, str, str]] = []
    for account in cfg.accounts:
        for conn in account.connections:
            word, detail = _check_line(conn, account.enabled, inspector)
            rows.append((word, conn.key, conn.exchange, detail))
    if not rows:
        term.say("no connections are configured; add one with `nija config add-connection`")
    else:
        term.write_data("\n".join(_columns(rows)))
    _list_plugins(term, after=bool(rows))
    problems = [r for r in rows if r[0] not in ("ready", "disabled")]
    where = cfg.source or "the built-in demo"
    if problems:
        term.warn(f"{len(problems)} of {len(rows)} connections need attention ({where})")
    else:
        term.say(f"config OK: {sum(r[0] == 'ready' for r in rows)} connections ready ({where})")
    failed = bool(problems)
    if connect:
        failed = _connect(term, cfg, inspector) or failed
    if failed:
        raise typer.Exit(EXIT_INCOMPLETE)


def _list_plugins(term: Terminal, *, after: bool) -> None:
    """The installed adapter plugins, one line each (`plugin NAME SOURCE ok|error: ...`),
    as a block of their own; nothing when none is installed. A broken one is also the
    usual warning line."""
    from nija_balances.adapters.registry import plugin_infos

    rows = [
        ("plugin", p.name, p.source, "ok" if p.error is None else f"error: {p.error}")
        for p in plugin_infos()
    ]
    if rows:
        term.write_data(("\n" if after else "") + "\n".join(_columns(rows)))
    term.report_plugin_problems()


def _connect(term: Terminal, cfg: Config, inspector: Inspector) -> bool:
    """Fetch every connection once; print its status. True when one is not ok."""
    from nija_balances.domain.models import Status
    from nija_balances.domain.secrets import redact
    from nija_balances.engine.collect import collect_sync

    term.say("connecting to every connection once (the cache is not used)...")
    portfolio = collect_sync(cfg, refresh=True)
    secrets = inspector.secrets()
    rows = []
    for report in portfolio.connections:
        latency = f"{report.latency_s:.2f}s" if report.latency_s is not None else "-"
        error = redact(report.error, secrets) if report.error else ""
        rows.append((str(report.status), report.key, latency, error))
    term.write_data("\n" + "\n".join(_columns(rows)))
    bad = [r for r in portfolio.connections if not r.status.healthy and r.status != Status.DISABLED]
    if bad:
        term.warn(f"{len(bad)} of {len(rows)} connections are not `ok`")
    else:
        term.say("every connection answered")
    return bool(bad)
