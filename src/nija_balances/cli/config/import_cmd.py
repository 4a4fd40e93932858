"""`nija config import DIR`: convert NIJA `config/users/*.json` files into a TOML config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nija_balances.cli.context import Terminal
from nija_balances.cli.options import ForceOption


def import_users(
    ctx: typer.Context,
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="The NIJA config/users/ directory (array and per-user files)."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the TOML here (mode 600). [default: stdout]"),
    ] = None,
    force: ForceOption = False,
) -> None:
    """Convert NIJA user files into a config: every user, name, enabled flag and broker.

    Entries that cannot be read are reported with file, line and reason; the rest is
    converted and written, but the exit code is then 1: the result is not the whole. The
    report (stderr) also lists the environment variables to rename: NIJA put only the
    user's first name in them (`KRAKEN_USER_DAIVON_API_KEY`), nija-balances uses the whole
    user id (`KRAKEN_USER_DAIVON_FRAZIER_API_KEY`).

    Examples: `nija config import ./config/users` ·
    `nija config import ./config/users -o ~/.config/nija-balances/config.toml`
    """
    from nija_balances.config.edit import atomic_write
    from nija_balances.config.nija.convert import convert
    from nija_balances.config.nija.reader import scan_directory
    from nija_balances.domain.syntax import ConfigError

    term = Terminal.of(ctx)
    if output is not None and output.is_dir():
        term.fail(f"{output} is a directory; give a file path")
    if output is not None and output.exists() and not force:
        term.fail(f"{output} already exists; nothing was written. Use --force to replace it")
    try:
        scan = scan_directory(directory, strict=False)
    except ConfigError as exc:
        term.fail(str(exc))
    try:
        result = convert(scan, output)
    except ConfigError as exc:
        for problem in scan.problems:
            term.say(f"skipped: {problem}")
        term.fail(str(exc))
    if output is None:
        term.write_data(result.text)
    else:
        real = output.resolve() if output.exists() else output
        try:
            real.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write(real, result.text, 0o600)
        except OSError as exc:
            term.fail(f"cannot write {output}: {exc.strerror or exc}")
    for line in result.report():
        if line.startswith("warning: "):
            term.warn(line.removeprefix("warning: "))
        else:
            term.say(line)
    if output is not None:
        term.say(f"wrote {output} (mode 600); next: nija config check --config {output}")
    if result.skipped:  # said first in the summary; again last, where the eye ends
        count = len(result.skipped)
        what = "1 entry or file was" if count == 1 else f"{count} entries or files were"
        them = "it" if count == 1 else "them"
        term.warn(f"{what} skipped (listed above); the converted config leaves {them} out")
    raise typer.Exit(result.exit_code)
