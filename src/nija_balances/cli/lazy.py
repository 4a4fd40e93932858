"""Command groups that import a command's module only when that command runs (hatch's
`LazyGroup`), inside click's own `get_command` rather than by guessing from argv.

A warm `nija show` should cost little more than starting Python, so it imports
`cli/show.py` and no other command. A group's `--help`, and shell completion of its command
names, list its commands from the summaries declared here, without importing any of them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from nija_balances.cli.options import with_global_options

if TYPE_CHECKING:
    from typer._click import Command, Context, HelpFormatter  # types only, as in options.py
    from typer._click.shell_completion import CompletionItem


@dataclass(frozen=True)
class Lazy:
    """One command of a group, not imported yet."""

    target: str  # "package.module:name": a command function, or a group (a LazyGroup)
    summary: str  # its one-line help, as in its docstring (tests hold them equal)
    # the global options its --help shows (a command; a group's commands have their own)
    shows: Collection[str] = field(default_factory=frozenset)


class LazyGroup(TyperGroup):
    """A group whose commands are `Lazy` entries, imported on first use.

    Each command gets the global options (`cli/options.py`) after its own, so they are
    accepted after the command name as well as before it.
    """

    def __init__(self, *, lazy: Mapping[str, Lazy], **attrs: Any) -> None:
        attrs.setdefault("rich_markup_mode", "markdown")
        attrs.setdefault("no_args_is_help", True)
        super().__init__(**attrs)
        self.lazy = lazy
        self._loaded: dict[str, Command] = {}
        self._summaries_only = False

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        """Without arguments, the group's help on stdout and exit 0, as `--help` does (click
        prints it and exits 2, as for a usage error)."""
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            from typer._click.utils import echo

            echo(ctx.get_help(), color=ctx.color)
            ctx.exit()
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.lazy)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        entry = self.lazy.get(cmd_name)
        if entry is None:
            return None
        if self._summaries_only:
            return TyperCommand(cmd_name, help=entry.summary)
        if cmd_name not in self._loaded:
            self._loaded[cmd_name] = self._load(cmd_name, entry)
        return self._loaded[cmd_name]

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        """The group's help, listing its commands without importing them."""
        self._summaries_only = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._summaries_only = False

    def shell_complete(self, ctx: Context, incomplete: str) -> list[CompletionItem]:
        """Complete the group's command names from their summaries, importing none."""
        self._summaries_only = True
        try:
            return super().shell_complete(ctx, incomplete)
        finally:
            self._summaries_only = False

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        if args and args[0] not in self.lazy and not args[0].startswith("-"):
            # Typer suggests from the commands it holds; this group holds none until used
            from difflib import get_close_matches

            matches = get_close_matches(args[0], list(self.lazy))
            if matches:
                suggestions = ", ".join(repr(m) for m in matches)
                ctx.fail(f"No such command {args[0]!r}. Did you mean {suggestions}?")
        return super().resolve_command(ctx, args)

    @staticmethod
    def _load(name: str, entry: Lazy) -> Command:
        module, _, attribute = entry.target.partition(":")
        target = getattr(import_module(module), attribute)
        if isinstance(target, TyperGroup):
            return target
        # A plain function: Typer makes it a command, as `@app.command()` would.
        single = typer.Typer(add_completion=False, rich_markup_mode="markdown")
        single.command(name)(target)
        return with_global_options(typer.main.get_command(single), entry.shows)
