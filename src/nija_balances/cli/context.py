"""The terminal every command works through (hatch's `Application`): one object per run.

It is built from the global options while they are parsed (`cli/options.py` stores each
value on it) and reached by a command through the click context: `Terminal.of(ctx)`. It owns
the two consoles, the messages (`fail` exits), loading the config, opening the `Session`,
narrowing the config to `--user`/`--broker`/`--basis` and the refresh with its progress bar.
Data goes to stdout, everything else to stderr.

Imports nothing heavy at module level: Rich, the config loader and the engine are imported
by the methods that use them, so a command pays only for what it does.
"""

from __future__ import annotations

import os
import sys
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from nija_balances.cli import EXIT_SOFTWARE, EXIT_USAGE

if TYPE_CHECKING:
    import logging

    from rich.console import Console

    from nija_balances.app import Session
    from nija_balances.domain.models import Basis, Config, Portfolio
    from nija_balances.engine.figures import Figures

_VERBOSE_HANDLER = "nija-balances-verbose"


class Terminal:
    """The global options of this run and everything that depends on them.

    The consoles are made on first use, after every option (before and after the command
    name) has been parsed.
    """

    def __init__(self) -> None:
        self.config: Path | None = None  # --config / $NIJA_CONFIG; None: the default path
        self.demo = False
        self.no_color = False
        self.verbose = 0  # -v: 1 (INFO of our logger), -vv: 2 (DEBUG)
        self.quiet = False  # -q: only errors on stderr
        self._given: set[str] = set()  # options given on the command line
        self._plugins_reported = False
        self._loaded: Config | None = None  # the config load_config read, for redaction
        self.warned = False  # a warning was given (a report with one is not kept to replay)

    @classmethod
    def of(cls, ctx: typer.Context) -> Terminal:
        """The run's terminal (made by the root group's options; made here if a command runs
        on its own)."""
        return ctx.ensure_object(cls)

    # ------------------------------------------------------------------ options

    def set_option(self, name: str, value: object, *, given: bool) -> None:
        """Record a global option. A value given on the command line replaces one given
        earlier (`nija --config a show --config b` reads b); a value from the environment or
        the default only fills a gap (`nija --demo show` stays a demo)."""
        if name not in ("config", "demo", "no_color", "verbose", "quiet"):
            raise ValueError(f"not a global option: {name}")
        if not given and name in self._given:
            return
        if given and name == "verbose" and name in self._given:
            value = self.verbose + int(value)  # type: ignore[call-overload]  # `-v show -v`
        if given:
            self._given.add(name)
        setattr(self, name, value)
        if name in ("verbose", "quiet"):
            self._configure_logging()

    def config_path(self) -> Path:
        """The config file the options name: `--config`, `$NIJA_CONFIG` or the default path."""
        from nija_balances.paths import default_config_path

        self._refuse_demo_with_config()
        return self.config if self.config is not None else default_config_path()

    def _refuse_demo_with_config(self) -> None:
        """An explicit `--config` never silently gives way to the demo (`$NIJA_CONFIG`
        does: `--demo` is the explicit one). Checked where the config is read, so commands
        that read none (`cache`) still accept every global option."""
        if {"config", "demo"} <= self._given:
            self.fail(
                "--demo and --config cannot be combined (--demo reads the built-in demo, "
                "not your config)"
            )

    # ------------------------------------------------------------------ output

    @cached_property
    def out(self) -> Console:
        """The stdout console: data only."""
        return self._console(sys.stdout, soft_wrap=False)

    @cached_property
    def err(self) -> Console:
        """The stderr console: messages, warnings and progress (never broken mid-word)."""
        return self._console(sys.stderr, soft_wrap=True)

    def _console(self, stream: object, *, soft_wrap: bool) -> Console:
        # ~25 ms to import: only commands that print through Rich pay for it
        from rich.console import Console

        # No colour when asked (--no-color, NO_COLOR); Rich itself drops colour and the
        # spinner when the stream is not a terminal.
        return Console(
            file=stream,  # type: ignore[arg-type]
            no_color=self.no_color or bool(os.environ.get("NO_COLOR")),
            highlight=False,
            soft_wrap=soft_wrap,
            emoji=False,
        )

    def write_data(self, text: str) -> None:
        """Machine-readable output (JSON, TOML, columns) straight to stdout, untouched by Rich."""
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()

    def say(self, text: str, style: str | None = None) -> None:
        """A message on stderr, printed as is (no markup, no wrapping); none with `-q`."""
        if self.quiet:
            return
        self.err.print(text, markup=False, highlight=False, soft_wrap=True, style=style)

    def warn(self, text: str) -> None:
        """`warning: text` on stderr (none with `-q`)."""
        self.warned = True
        self.say(f"warning: {text}", style="yellow")

    def fail(self, message: str, code: int = EXIT_USAGE) -> NoReturn:
        """Print `error: message` on stderr and exit with `code` (2: usage or config error)."""
        from rich.markup import escape

        self.err.print(f"[bold red]error:[/] {escape(message)}")
        raise typer.Exit(code)

    def unexpected(self, exc: Exception) -> NoReturn:
        """An exception escaped the command. A user error (`ConfigError`, `SelectionError`)
        exits 2 with its message; anything else is a bug: one line naming it (the traceback
        with `-v`), exit 70. No known secret is ever printed."""
        from nija_balances.cli import failure

        if failure.is_user_error(exc):
            self.fail(str(exc))
        text = failure.internal_error_text(exc, verbose=bool(self.verbose), secrets=self.secrets())
        failure.write_stderr(text)
        raise typer.Exit(EXIT_SOFTWARE)

    def secrets(self) -> list[str]:
        """Every secret this run knows of, for redaction: the values of environment
        variables with secret-looking names, and the credentials (env, `.env`, inline) and
        secret-looking `ccxt` options of the loaded config."""
        from nija_balances.cli.failure import env_secrets

        found = env_secrets()
        config = self._loaded
        if config is None:
            return found
        try:
            from nija_balances.config.credentials import load_dotenv_files, resolve

            dotenv = load_dotenv_files(config.env_files)
            for account in config.accounts:
                for conn in account.connections:
                    found += resolve(conn, dotenv=dotenv).secrets()
                    found += _secret_values(conn.ccxt)
        except Exception:  # redaction must not fail the report of an error: env values only
            pass
        return found

    # ------------------------------------------------------------------ config and data

    def load_config(self) -> Config:
        """The config the options name; its warnings on stderr. A `ConfigError` exits 2
        with its message (file, line, key and a hint)."""
        from nija_balances.config.sources import load_config
        from nija_balances.domain.syntax import ConfigError

        self._refuse_demo_with_config()
        try:
            config = load_config(self.config, demo=self.demo)
        except ConfigError as exc:
            self.report_plugin_problems()  # maybe why an exchange is unknown
            self.fail(str(exc))
        self.report_plugin_problems()
        self._loaded = config
        for warning in config.warnings:
            self.warn(warning)
        return config

    def report_plugin_problems(self) -> None:
        """One warning line per adapter plugin that could not be loaded, once per run, and
        only when this run looked the plugins up (a config naming no exchange outside the
        built-ins never does)."""
        registry = sys.modules.get("nija_balances.adapters.registry")
        if self._plugins_reported or registry is None or not registry.plugins_consulted():
            return
        self._plugins_reported = True
        for problem in registry.plugin_problems():
            self.warn(problem)

    def figures(self, config: Config, *, trades: bool = True) -> Figures:
        """The P&L figures of `config` from the store (nothing fetched; `trades=False`: no
        trades listed); the store's warnings are said on stderr."""
        session = self.open_session(config)
        try:
            figures = session.figures(trades=trades)
        finally:
            session.close()
        for warning in session.store.warnings:
            self.warn(warning)
        return figures

    def open_session(self, config: Config | None = None) -> Session:
        """A Session over `config` (default: the config the options name) and the store its
        settings name. The caller closes it."""
        from nija_balances.app import Session

        return Session.open(config if config is not None else self.load_config())

    def narrow(
        self,
        config: Config,
        user: str | None = None,
        broker: str | None = None,
        basis: Basis | None = None,
    ) -> Config:
        """Apply `--user`, `--broker` and `--basis`; an unknown name exits 2 with the known
        ones."""
        from nija_balances.engine.planning import SelectionError, select, with_basis

        try:
            return with_basis(select(config, user=user, broker=broker), basis)
        except SelectionError as exc:
            self.fail(str(exc))

    def refresh(
        self, config: Config, *, refresh: bool = False, max_age: float | None = None
    ) -> Portfolio:
        """The portfolio of `config` through the store, with a progress bar on a terminal;
        the store's warnings on stderr."""
        session = self.open_session(config)
        try:
            from nija_balances.render.frame import is_terminal

            # not even Rich is imported for a progress bar that cannot be drawn (a console
            # made already, e.g. by a test, says for itself)
            made = self.__dict__.get("err")
            terminal = not self.quiet and (
                made.is_terminal if made is not None else is_terminal(sys.stderr)
            )
            if not terminal or self.err.is_dumb_terminal:
                portfolio = session.collect(config, refresh=refresh, max_age=max_age)
            else:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

                with Progress(
                    TextColumn("Fetching"),
                    MofNCompleteColumn(),
                    TextColumn("connections"),
                    BarColumn(),
                    console=self.err,
                    transient=True,
                ) as progress:
                    task = progress.add_task("fetch", total=None)

                    def observe(done: int, total: int) -> None:
                        progress.update(task, completed=done, total=total)

                    portfolio = session.collect(
                        config, refresh=refresh, max_age=max_age, observer=observe
                    )
        finally:
            session.close()
        for warning in session.store.warnings:
            self.warn(warning)
        return portfolio

    # ------------------------------------------------------------------ logging

    def _configure_logging(self) -> None:
        """`-v`: our own logger at INFO on stderr, `-vv` at DEBUG (third-party libraries
        may log requests in detail, so only ours, never theirs). `-q` (without `-v`): not
        even our warnings, and a third party's only from ERROR up."""
        if not self.verbose and not self.quiet and "logging" not in sys.modules:
            return  # nothing was ever configured: nothing to undo
        import logging

        logger = logging.getLogger("nija_balances")
        if self.verbose:
            if not any(h.get_name() == _VERBOSE_HANDLER for h in logger.handlers):
                logger.addHandler(_stderr_handler())
            logger.setLevel(logging.DEBUG if self.verbose >= 2 else logging.INFO)
        else:  # an earlier `-v` in this process (tests, API users) ends here
            logger.setLevel(logging.ERROR if self.quiet else logging.NOTSET)
        if logging.lastResort is not None:  # what prints a record when no handler is set up
            logging.lastResort.setLevel(logging.ERROR if self.quiet else logging.WARNING)


def _secret_values(options: object, secret: bool = False) -> list[str]:
    """The string values under secret-looking keys of (nested) options."""
    from nija_balances.cli.failure import SECRET_NAME

    if isinstance(options, dict):
        return [
            v
            for k, value in options.items()
            for v in _secret_values(value, secret or bool(SECRET_NAME.search(str(k))))
        ]
    if isinstance(options, list | tuple):
        return [v for item in options for v in _secret_values(item, secret)]
    return [options] if secret and isinstance(options, str) and options.strip() else []


def _stderr_handler() -> logging.Handler:
    """A handler writing to whatever `sys.stderr` is at the time (not the one of the first
    `-v`: in one process, e.g. tests, that stream may be closed by the next command)."""
    import logging

    class CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
        def emit(self, record: logging.LogRecord) -> None:
            self.stream = sys.stderr
            super().emit(record)

    handler = CurrentStderr()
    handler.set_name(_VERBOSE_HANDLER)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    return handler
