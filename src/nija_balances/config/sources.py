"""Where a config comes from: the built-in demo, a TOML file, or a NIJA users directory.

`load_config` chooses; the TOML is parsed by `config.loader`, a NIJA `config/users/`
directory is read by `config.nija.reader`.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

from nija_balances.config.loader import load_toml, parse_document
from nija_balances.domain.models import Config

DEMO_RESOURCE = "demo.toml"


def load_demo() -> Config:
    """The demo config shipped inside the package (simulated paper accounts), marked demo."""
    from importlib import resources

    text = (
        resources.files("nija_balances.config").joinpath(DEMO_RESOURCE).read_text(encoding="utf-8")
    )
    return replace(parse_document(tomllib.loads(text), None, text), demo=True)


def load_config(path: Path | None = None, *, demo: bool = False) -> Config:
    """Load the demo, a TOML file, or a NIJA `config/users/` directory (default path if None)."""
    if demo:
        return load_demo()
    from nija_balances.paths import default_config_path

    target = path if path is not None else default_config_path()
    try:
        is_dir = target.is_dir()
    except OSError:  # e.g. a name too long: load_toml says what is wrong
        is_dir = False
    if is_dir:
        from nija_balances.config.nija.reader import load_nija_directory  # ~19 ms: dirs only

        return load_nija_directory(target)
    return load_toml(target)
