"""`nija init` and `nija config ...`: write, edit, import and inspect the config file.

- `edit.py`: `nija init`, `nija config add-user`, `nija config add-connection`
- `import_cmd.py`: `nija config import`
- `show.py`: `nija config path`, `nija config show`, `nija config check`

This package holds the `config` group, whose subcommands are imported when they run, and
what they share. It imports none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nija_balances.cli.lazy import Lazy, LazyGroup
from nija_balances.cli.options import EDITS, FETCHES, PRINTS, READS

if TYPE_CHECKING:
    from pathlib import Path

config = LazyGroup(
    name="config",
    help="Write, edit, import and inspect the config file.\n\n"
    "Start with `nija init`; see where things live with `nija config path`.",
    lazy={
        "path": Lazy(
            "nija_balances.cli.config.show:path",
            "Print the config file in use and the cache directory.",
            frozenset({"config", "demo", "quiet"}),  # names the config; nothing in colour
        ),
        "add-user": Lazy(
            "nija_balances.cli.config.edit:add_user",
            "Add a user to the config file (the rest of the file, comments included, is kept).",
            EDITS,
        ),
        "add-connection": Lazy(
            "nija_balances.cli.config.edit:add_connection",
            "Add a connection to the platform or to a user (comments in the file are kept).",
            EDITS,
        ),
        "import": Lazy(
            "nija_balances.cli.config.import_cmd:import_users",
            "Convert NIJA user files into a config: every user, name, enabled flag and broker.",
            PRINTS,  # reads DIR, writes --output: not the config in use
        ),
        "show": Lazy(
            "nija_balances.cli.config.show:show",
            "Print the effective config (defaults filled in) and where each credential comes from.",
            READS,
        ),
        "check": Lazy(
            "nija_balances.cli.config.show:check",
            "Validate the config and say, per connection, what would stop it from working.",
            FETCHES,  # --connect fetches
        ),
    },
)


def config_hint(path: Path) -> str:
    """` --config PATH` for a suggested command line; empty when PATH is the default."""
    from nija_balances.paths import default_config_path

    return "" if path == default_config_path() else f" --config {path}"
