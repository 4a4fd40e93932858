"""`nija serve`: the web dashboard (the `[web]` extra), until Ctrl-C or SIGTERM."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nija_balances.cli.context import Terminal
from nija_balances.cli.options import IntervalOption

if TYPE_CHECKING:
    from nija_balances.domain.models import Config

WEB_MODULES = ("starlette", "uvicorn", "jinja2", "prometheus_client")


def serve(
    ctx: typer.Context,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            metavar="ADDRESS",
            help="Address to listen on. Anything but loopback needs --token-file.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option("--port", min=0, max=65535, help="TCP port (0: any free port)."),
    ] = 5000,
    interval: IntervalOption = 60.0,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            metavar="PATH",
            help="The access token's file, created (mode 600) if absent. With it, the API "
            "needs `Authorization: Bearer <token>` and browsers a one-time login link.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """The web dashboard: user cards, the report, a JSON API and Prometheus metrics.

    Pages: `/` (the report), `/users` (a card per user), `/users/ID`. API: `/api/users`,
    `/api/portfolio`, `/api/status`, `/api/history`, `/api/pnl`, `/api/alerts` (the
    documents of the commands' `--json`), `/metrics`, `/healthz`. A background refresh
    fetches every interval; pages answer from the last one at once. Listens on 127.0.0.1
    unless told otherwise; any other address needs a token.

    Examples: `nija serve --demo` · `nija serve --port 8080 --interval 120` ·
    `nija serve --host 0.0.0.0 --token-file ~/.config/nija-balances/token`
    """
    from importlib.util import find_spec

    from nija_balances.web.security import TokenFileError, is_loopback, load_or_create_token

    term = Terminal.of(ctx)
    if token_file is None and not is_loopback(host):
        term.fail(
            f"--host {host} is reachable from other machines: give a token with "
            "--token-file PATH (created with mode 600 if absent), or keep the default "
            "--host 127.0.0.1"
        )
    missing = [name for name in WEB_MODULES if find_spec(name) is None]
    if missing:
        term.fail(f"the dashboard needs {', '.join(missing)}: pip install 'nija-balances[web]'")
    config = term.load_config()
    token = None
    if token_file is not None:
        try:
            token, created = load_or_create_token(token_file.expanduser())
        except TokenFileError as exc:
            term.fail(str(exc))
        if created:
            term.say(f"wrote a new access token to {token_file} (mode 600)")

    def reload() -> Config:
        from nija_balances.config.sources import load_config

        return load_config(term.config, demo=term.demo)

    from nija_balances.web.server import bind, run

    try:
        sock = bind(host, port)
    except OSError as exc:
        term.fail(f"cannot listen on {host} port {port}: {exc.strerror or exc}")
    import signal

    def terminated(signum: int, frame: object) -> None:
        # uvicorn stops gracefully on SIGTERM, then raises it again: end as `watch` does
        # (exit 143), through the `finally` that closes the store, rather than be killed
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminated)
    session = term.open_session(config)
    try:
        run(session, sock, host=host, interval=interval, token=token, reload=reload, say=term.say)
    finally:
        signal.signal(signal.SIGTERM, previous)
        session.close()
