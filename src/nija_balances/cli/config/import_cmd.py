"""`nija config import DIR`: convert NIJA `config/users/*.json` files into a TOML config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nija_balances.cli import common
from nija_balances.cli.config.edit import ForceOption, config_app, say, warn


@config_app.command("import")
def import_cmd(
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
    config: common.ConfigOption = None,
    demo: common.DemoOption = False,
    no_color: common.NoColorOption = False,
    verbose: common.VerboseOption = False,
) -> None:
    """Convert NIJA user files into a config: every user, name, enabled flag and broker.

    Entries that cannot be read are reported with file, line and reason; the rest is
    converted. The report (stderr) also lists the environment variables to rename: NIJA put
    only the user's first name in them (`KRAKEN_USER_DAIVON_API_KEY`), nija-balances uses
    the whole user id (`KRAKEN_USER_DAIVON_FRAZIER_API_KEY`).

    Examples: `nija config import ./config/users` ·
    `nija config import ./config/users -o ~/.config/nija-balances/config.toml`
    """
    from nija_balances.config.edit import atomic_write
    from nija_balances.config.nija.convert import convert
    from nija_balances.config.nija.reader import scan_directory
    from nija_balances.config.syntax import ConfigError

    opts = common.merge(config, demo, no_color, verbose)
    if output is not None and output.is_dir():
        common.fail(opts, f"{output} is a directory; give a file path")
    if output is not None and output.exists() and not force:
        common.fail(
            opts, f"{output} already exists; nothing was written. Use --force to replace it"
        )
    try:
        scan = scan_directory(directory, strict=False)
    except ConfigError as exc:
        common.fail(opts, str(exc))
    try:
        result = convert(scan, output)
    except ConfigError as exc:
        for problem in scan.problems:
            say(opts, f"skipped: {problem}")
        common.fail(opts, str(exc))
    if output is None:
        common.write_data(result.text)
    else:
        real = output.resolve() if output.exists() else output
        try:
            real.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write(real, result.text, 0o600)
        except OSError as exc:
            common.fail(opts, f"cannot write {output}: {exc.strerror or exc}")
    for line in result.report():
        if line.startswith("warning: "):
            warn(opts, line.removeprefix("warning: "))
        else:
            say(opts, line)
    if output is not None:
        say(opts, f"wrote {output} (mode 600); next: nija config check --config {output}")
