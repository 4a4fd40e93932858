"""The Typer application object and its global options; command modules register on it."""

from __future__ import annotations

import typer

from nija_balances.cli import common

app = typer.Typer(
    name="nija",
    help="Every balance you run — platform and user accounts across exchanges — in one report.\n\n"
    "Start with `nija show --demo`, then `nija init` to write your own config.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _global_options(
    config: common.ConfigOption = None,
    demo: common.DemoOption = False,
    no_color: common.NoColorOption = False,
    verbose: common.VerboseOption = False,
) -> None:
    common.set_globals(config, demo, no_color, verbose)
