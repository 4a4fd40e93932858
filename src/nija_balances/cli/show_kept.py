"""What `nija show` keeps of a report for `replay` to print again (see `cli/replay.py`)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from nija_balances.cli import replay
from nija_balances.cli.context import Terminal

if TYPE_CHECKING:
    from nija_balances.domain.models import Config, Portfolio
    from nija_balances.render.plain import Block

AGE = "\x00age\x00"  # where an age goes in the JSON text (no JSON value can hold it)


def _files(term: Terminal) -> list[str]:
    from nija_balances import paths
    from nija_balances.config.locations import config_env_files
    from nija_balances.store.sqlite import FILENAME

    source = term.config_path()
    if source.is_dir():  # a NIJA directory: a file changed inside does not change the folder
        raise IsADirectoryError(source)
    store = paths.cache_dir() / FILENAME
    env = config_env_files(source)
    return [str(source), *map(str, env), str(store), f"{store}-wal", f"{store}-journal"]


def kept_inputs(term: Terminal) -> tuple[str, list[Any]] | None:
    """The inputs of this run, when its report may be kept: not a demo, a config file, no
    `-v`/`-q` (the command line says the rest, see `replay.replayable`)."""
    if term.demo or term.verbose or term.quiet:
        return None
    try:
        files = _files(term)
    except Exception:
        return None
    return replay.inputs(sys.argv[1:], files)


def _expiry(portfolio: Portfolio, config: Config, max_age: float | None) -> tuple[float, float]:
    """(not before, valid until): while every value is still within its TTL; (0, 0) when a
    connection is in a state the TTL does not govern alone (fetched now, failed, stale)."""
    from nija_balances.domain.models import Status

    at = portfolio.generated_at.timestamp()
    ttl = config.settings.cache_ttl if max_age is None else max_age
    fetched = []
    for c in portfolio.connections:
        if c.status is Status.CACHED and c.age_s is not None:
            fetched.append(at - c.age_s)
        elif c.status not in (Status.NO_CREDENTIALS, Status.DISABLED):
            return 0.0, 0.0
    if not fetched:
        return 0.0, 0.0
    return max(fetched), min(fetched) + ttl - replay.MARGIN


def keep(
    term: Terminal,
    inputs: tuple[str, list[Any]],
    config: Config,
    portfolio: Portfolio,
    max_age: float | None,
    kept: dict[str, Any],
) -> None:
    """Keep the report printed, if it may be printed again (see `replay`). Only over the
    default local store: the files `replay` watches are that store's, and a shared (Redis)
    store changes with no local file changing."""
    if config.warnings or term.warned or config.settings.store.url is not None:
        return
    registry = sys.modules.get("nija_balances.adapters.registry")
    if registry is not None and registry.plugins_consulted():
        return
    not_before, valid_until = _expiry(portfolio, config, max_age)
    files = inputs[1]
    if valid_until <= portfolio.generated_at.timestamp():
        return
    if [(path, replay.signature(path)) for path, _ in files] != files:
        return  # something changed while this run read it
    kept = {**kept, "not_before": not_before, "valid_until": valid_until}
    kept.pop("text", None)
    replay.record(inputs, kept)


def keep_json(portfolio: Portfolio, ascii_only: bool) -> dict[str, Any] | None:
    """The JSON text of `show --json` and its parts around each connection's age."""
    from nija_balances.render.json_doc import document, dumps

    doc = document(portfolio)
    ages = []
    for item in doc["connections"]:
        if item["age_s"] is not None:
            ages.append(item["age_s"])
            item["age_s"] = AGE
    marked = dumps(doc, ascii_only=ascii_only)
    pieces = marked.split(json.dumps(AGE))
    if len(pieces) != len(ages) + 1:
        return None
    parts: list[Any] = [pieces[0]]
    for age, piece in zip(ages, pieces[1:], strict=True):
        parts += [age, piece]
    text = "".join(p if isinstance(p, str) else repr(p) for p in parts)
    at = portfolio.generated_at.timestamp()
    return {"kind": "json", "text": text, "parts": parts, "stamp": doc["timestamp"], "at": at}


def table_statuses(block: Block, at: float) -> Block:
    """A table block with its status cells' first lines as printed at `at`, and the index of
    each row's first line among the block's lines: the replay rewrites those in place while
    every status keeps its width, and lays the table out again when one does not."""
    if block[0] != "table":
        return block
    from nija_balances.render.plain import status_cell

    rows = block[2]["rows"]
    first, at_line = [], 0
    for row in rows:
        first.append(at_line)
        cells = [*row[:-1], status_cell(row[-1], at)]
        at_line += max(cell.count("\n") + 1 for cell in cells)
    statuses = [status_cell(row[-1], at).split("\n")[0] for row in rows]
    return [*block, statuses, first]
