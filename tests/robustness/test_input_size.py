"""Input files are read up to a size limit: a 1 GB config is refused from its size, unread.

A config file (TOML) or a NIJA user file (JSON) is a few kilobytes; more than 10 MB is a
wrong path (a log, a disk image) or an attack, and reading it whole would take the
memory and the time of its size. The size is checked with `fstat` before reading, and at
most limit + 1 bytes are read, since the file may grow between the two.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from robustness.conftest import nija, nija_process, write_json

MB = 1024 * 1024
HINT_TOML = "  hint: a config file is a few kilobytes: is this the right file?\n"
HINT_NIJA = "  hint: a NIJA user file is a few kilobytes: is this the right file?\n"


def refused(config: Path, expected: str) -> None:
    run = nija("show", "--config", config)
    assert (run.code, run.out) == (2, ""), run
    assert run.err == expected


def test_a_config_of_11_mb_of_whitespace_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_bytes(b"[users.a.p]\nexchange = 'paper'\n" + b" " * (11 * MB))
    refused(
        config,
        f"error: {config}: the file is 11.0 MB; a config file may be at most 10 MB\n{HINT_TOML}",
    )


def test_a_nija_file_of_11_mb_is_refused(users_dir: Path) -> None:
    array = write_json(users_dir, "retail_kraken.json", b"[" + b" " * (11 * MB) + b"]")
    refused(
        users_dir,
        f"error: {array}: the file is 11.0 MB; a NIJA user file may be at most 10 MB\n{HINT_NIJA}",
    )


def test_a_1_gb_config_is_refused_from_its_size_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    with config.open("wb") as handle:
        handle.truncate(1024 * MB)  # sparse: takes no disk
    read_bytes, read = Path.read_bytes, os.read

    def no_read_bytes(self: Path) -> bytes:
        assert self != config, "the 1 GB file was read"
        return read_bytes(self)

    def no_read(fd: int, size: int) -> bytes:
        assert size <= 10 * MB + 1, f"read({size})"
        return read(fd, size)

    monkeypatch.setattr(Path, "read_bytes", no_read_bytes)
    monkeypatch.setattr(os, "read", no_read)
    refused(
        config,
        f"error: {config}: the file is 1 GB; a config file may be at most 10 MB\n{HINT_TOML}",
    )


def test_a_file_growing_after_its_size_was_taken_is_read_no_further_than_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nija_balances.config.files import read_input
    from nija_balances.domain.syntax import ConfigError

    path = tmp_path / "c.toml"
    path.write_bytes(b"#" * 1000)
    fstat, read = os.fstat, os.read
    sizes: list[int] = []

    def small_fstat(fd: int) -> os.stat_result:
        real = fstat(fd)
        fields = list(real)
        fields[6] = 10  # st_size: the file "grew" after this
        return os.stat_result(fields)

    def counted_read(fd: int, size: int) -> bytes:
        data = read(fd, size)
        sizes.append(len(data))
        return data

    monkeypatch.setattr(os, "fstat", small_fstat)
    monkeypatch.setattr(os, "read", counted_read)
    with pytest.raises(ConfigError) as info:
        read_input(path, "a config file", limit=100)
    assert sum(sizes) == 101
    assert (
        info.value.problem
        == "the file is larger than 100 bytes; a config file may be at most 100 bytes"
    )
    assert info.value.file == path
    monkeypatch.undo()
    assert read_input(path, "a config file", limit=1000) == b"#" * 1000


def test_named_pipes_are_refused_not_waited_on(users_dir: Path) -> None:
    """A FIFO among NIJA files is passed over; one read directly is refused at once (a file
    replaced by a FIFO after the directory was listed). Processes: a hang cannot hang pytest."""
    from nija_balances.config.files import read_input
    from nija_balances.domain.syntax import ConfigError

    write_json(users_dir, "retail_kraken.json", [{"user_id": "ann"}])
    fifo = users_dir / "zz_pipe.json"
    os.mkfifo(fifo)
    proc = nija_process("show", "--json", "--config", users_dir)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    with pytest.raises(ConfigError) as info:
        read_input(fifo, "a NIJA user file")
    assert (info.value.file, info.value.problem) == (
        fifo,
        "not a regular file (a pipe, socket or device)",
    )
