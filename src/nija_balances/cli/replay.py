"""A warm `nija show` answered from the report the previous identical run printed.

When every connection is served from the store, `show` reads the config, resolves the
credentials, reads the store, values and lays out the report: about a millisecond per
connection. While nothing it read has changed, the next identical run prints the same
report, but for the time it was made and the ages of the cached values. So `show` keeps
what it printed (`record`), and the next run with the same inputs prints it again with the
time and ages brought up to date (`replay`), before Typer or the config are imported.

The same inputs: the same command line, working directory, environment (but for `_`,
`PWD`, `OLDPWD`, `SHLVL`), kind and encoding of stdout, Python and program version, and the
same files (config, `.env` files, the store and its WAL: inode, size, mode, owner, times);
and no cached value older than its TTL. Only a report whose every connection is `cached`,
without credentials, or disabled is kept, and one that printed nothing on stderr.

The kept reports live in `<cache dir>/replay/`, one file per set of inputs (named by a
SHA-256 of them; no secret is in the file), owner-only like the store, and are ignored
unless they are ours and nobody else may write them.
"""

from __future__ import annotations

import marshal
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nija_balances.domain.digest import sha256_hex

FORMAT = 1
KEPT = 16  # replay files kept (the newest); older ones are removed when one is written
MARGIN = 1.0  # seconds before a cached value's TTL ends that its report stops being replayed
VOLATILE = frozenset({"_", "PWD", "OLDPWD", "SHLVL"})
#: The command-line words a replayed `show` may have (anything else: the full path).
FLAGS = frozenset({"show", "--json", "--strict", "--no-color"})
VALUED = frozenset({"--config", "--user", "--broker", "--basis"})
#: Modules whose code shapes the report: a change to one of them is a change of program.
CODE = ("cli/replay.py", "cli/show.py", "render/plain.py", "render/table.py", "render/json_doc.py")


def replayable(args: Sequence[str]) -> bool:
    """Whether `nija ARGS` is a `show` that may be replayed (no refresh, no -v, no help)."""
    if "show" not in args:
        return False
    words = iter(args)
    for word in words:
        name = word.split("=", 1)[0]
        if name in VALUED:
            if "=" not in word and next(words, None) is None:
                return False
        elif word not in FLAGS:
            return False
    return True


#: The key `replay` computed for this run's command line, which `inputs` reuses while the
#: same run goes on (~30 ms at 3,000 connections: the environment holds their keys);
#: `cli.main` forgets it when the run ends.
_this_run: tuple[tuple[str, ...], str] | None = None


def forget() -> None:
    """The run is over: the next one computes its own key."""
    global _this_run
    _this_run = None


def _inputs_key(args: Sequence[str]) -> str:
    here = Path(__file__).resolve().parent.parent
    code = [signature(here / name) for name in CODE]
    env = sorted((k, v) for k, v in os.environ.items() if k not in VOLATILE)
    out = sys.stdout
    stdout = (out.isatty(), getattr(out, "encoding", None))
    inputs = (FORMAT, sys.version, code, list(args), os.getcwd(), env, stdout)
    return sha256_hex(repr(inputs).encode())


def signature(path: Path | str) -> tuple[int, ...] | None:
    """What tells a file apart from any changed version of it; None when it is absent."""
    try:
        s = os.stat(path)
    except OSError:
        return None
    return (s.st_ino, s.st_dev, s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_mode, s.st_uid)


def _folder() -> Path:
    from nija_balances.paths import cache_dir

    return cache_dir() / "replay"


def _owned(fd: int) -> bool:
    s = os.fstat(fd)
    return s.st_uid == os.geteuid() and not s.st_mode & 0o077


def replay(args: Sequence[str]) -> int | None:
    """Print the kept report of `nija ARGS` and return the exit code; None (nothing
    printed) when there is none for these inputs, or it may have changed."""
    global _this_run
    if not replayable(args) or sys.stdout is None:  # None: stdout closed (`>&-`)
        return None
    try:
        key = _inputs_key(args)
        _this_run = (tuple(args), key)
        fd = os.open(_folder() / key[:40], os.O_RDONLY | os.O_NOFOLLOW)
    except (OSError, ValueError):
        return None
    try:
        if not _owned(fd):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            kept = marshal.loads(handle.read())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    finally:
        os.close(fd)
    now = time.time()
    if not isinstance(kept, dict) or kept.get("key") != key or now >= kept["valid_until"]:
        return None
    if now < kept["not_before"] or any(signature(p) != sig for p, sig in kept["files"]):
        return None
    text = _json_text(kept, now) if kept["kind"] == "json" else _report_text(kept, now)
    if text is None:
        return None
    code: int = kept["code"]
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as exc:  # as `failure.output_failed`: silently when the reader went away
        return _output_failed(exc)
    return code


def _output_failed(exc: OSError) -> int:
    import contextlib
    import errno

    from nija_balances.cli import EXIT_IOERR, EXIT_PIPE

    try:  # what is still buffered must not fail again at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    if exc.errno == errno.EPIPE:
        return EXIT_PIPE
    with contextlib.suppress(Exception):  # stderr closed too: the exit code says it
        sys.stderr.write(f"error: cannot write to stdout: {exc.strerror or exc}\n")
    return EXIT_IOERR


def _json_text(kept: dict[str, Any], now: float) -> str:
    from datetime import UTC, datetime

    parts: list[str] = kept["parts"]  # text, then an age and text, an age and text, ...
    stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="microseconds")
    out = [parts[0].replace(kept["stamp"], stamp, 1)]
    at = kept["at"]
    for i in range(1, len(parts), 2):
        out.append(repr(round(max(0.0, float(parts[i]) + (now - at)), 1)))
        out.append(parts[i + 1])
    return "".join(out) + "\n"


def _report_text(kept: dict[str, Any], now: float) -> str | None:
    from nija_balances.render import plain

    out: list[str] = []
    for block, lines in zip(kept["blocks"], kept["lines"], strict=True):
        if block[0] == "when":
            out.append(plain.generated_line(now) + block[2])
        elif block[0] == "table":
            rows, before, first = block[2]["rows"], block[3], block[4]
            statuses = [plain.status_cell(row[-1], now).split("\n")[0] for row in rows]
            if statuses == before:
                out += lines
            elif all(map(_same_width, statuses, before)):  # every column keeps its width
                lines = list(lines)
                for i, old, new in zip(first, before, statuses, strict=True):
                    lines[i] = lines[i][: len(lines[i]) - len(old)] + new
                out += lines
            else:  # an age grew a digit: lay the table out again
                table = plain.table_lines(block[2], kept["width"] - block[1], now)
                if table is None:
                    return None
                out += plain.indented(table, block[1])
        else:
            out += lines
    return "".join(line + "\n" for line in out)


def _same_width(new: str, old: str) -> bool:
    """Whether a status word with its age (ASCII) is as wide as it was."""
    return len(new) == len(old) and new.isascii() and old.isascii()


def inputs(args: Sequence[str], files: Sequence[Path | str]) -> tuple[str, list[Any]] | None:
    """The key of this run's inputs and the signatures of `files`, taken before they are
    read (so a change while the run reads them is seen next time); None: not replayable."""
    if not replayable(args) or sys.stdout is None:
        return None
    known = _this_run
    key = known[1] if known is not None and known[0] == tuple(args) else _inputs_key(args)
    return key, [(str(path), signature(path)) for path in files]


def record(taken: tuple[str, list[Any]], kept: dict[str, Any]) -> None:
    """Keep what this run printed (see `replay`) for the next run with the same inputs."""
    key, files = taken
    folder = _folder()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = marshal.dumps({**kept, "key": key, "files": files})
        temporary = folder / f".{key[:40]}.{os.getpid()}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, folder / key[:40])
        _prune(folder)
    except (OSError, ValueError):  # a report not kept is only a slower next run
        return


def _prune(folder: Path) -> None:
    kept = sorted(
        (p for p in folder.iterdir() if not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime_ns,
        reverse=True,
    )
    for old in kept[KEPT:]:
        old.unlink(missing_ok=True)
