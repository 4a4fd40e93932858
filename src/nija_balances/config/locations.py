"""Where a config's companions live: its `.env` files and its namespace in the store."""

from __future__ import annotations

from pathlib import Path


def _namespace(source: Path | None) -> str:
    if source is None:
        return "demo"
    return str(source.resolve())  # readable in the store, and unique per config file


def _env_files(source: Path | None) -> tuple[Path, ...]:
    files = [Path.cwd() / ".env"]
    if source is not None:
        files.insert(0, (source if source.is_dir() else source.parent) / ".env")
    unique: list[Path] = []
    for f in files:
        if f.resolve() not in {u.resolve() for u in unique}:
            unique.append(f)
    return tuple(unique)


def config_namespace(source: Path | None) -> str:
    """The cache namespace of a config read from `source` (a file, a directory, None: demo)."""
    return _namespace(source)


def config_env_files(source: Path | None) -> tuple[Path, ...]:
    """The `.env` files read for a config from `source`: beside it, then the working dir."""
    return _env_files(source)
