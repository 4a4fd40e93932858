"""Where nija-balances keeps its files.

`NIJA_BALANCES_HOME` moves config, cache and data under one directory (tests, portable
installs); otherwise platformdirs' per-user directories are used. `NIJA_CONFIG` names the
config file itself.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "nija-balances"


def home_override() -> Path | None:
    value = os.environ.get("NIJA_BALANCES_HOME", "").strip()
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    if (home := home_override()) is not None:
        return home
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME))


def cache_dir() -> Path:
    if (home := home_override()) is not None:
        return home / "cache"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME))


def data_dir() -> Path:
    """Files nija-balances writes for the operator to keep: the monitor's log."""
    if (home := home_override()) is not None:
        return home / "data"
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME))


def default_config_path() -> Path:
    """`$NIJA_CONFIG`, else `config.toml` in the config directory."""
    explicit = os.environ.get("NIJA_CONFIG", "").strip()
    return Path(explicit).expanduser() if explicit else config_dir() / "config.toml"
