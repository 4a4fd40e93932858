"""A warm `nija show` printed again from the kept report (`cli/replay.py`): the same report,
and never once something it was read from has changed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from conftest import write
from nija_balances.cli import main, replay
from warm_store import CONFIG, CREDS, fill

PROBE = """
import sys
from nija_balances.cli import main
sys.argv = ["nija", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code or 0
else:
    code = 0
print("REPLAYED" if "nija_balances.cli.show" not in sys.modules else "RAN", file=sys.stderr)
sys.exit(code)
"""


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = write(tmp_path / "config.toml", CONFIG)
    fill(path)
    return path


def run(*args: str, env: dict[str, str] | None = None) -> tuple[str, str, int]:
    environ = {**os.environ, **CREDS, **(env or {})}
    environ.pop("COLUMNS", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
    )
    return done.stdout, done.stderr.strip().splitlines()[-1], done.returncode


def steady(text: str) -> str:
    """The report without what changes from one second to the next."""
    text = re.sub(r"Generated: [0-9: -]+", "Generated: T", text)
    text = re.sub(r"cached \d+s", "cached Ns", text)
    text = re.sub(r'"timestamp": "[^"]+"', '"timestamp": T', text)
    return re.sub(r'"age_s": [0-9.]+', '"age_s": N', text)


@pytest.mark.parametrize("json_flag", [(), ("--json",)])
def test_the_second_warm_show_is_replayed_and_prints_the_same(
    cfg: Path, json_flag: tuple[str, ...]
) -> None:
    first, how1, code1 = run("show", "--config", str(cfg), *json_flag)
    second, how2, code2 = run("show", "--config", str(cfg), *json_flag)
    fresh, how3, _ = run("-v", "show", "--config", str(cfg), *json_flag)  # -v: never replayed
    assert (how1, how2, how3) == ("RAN", "REPLAYED", "RAN")
    assert code1 == code2 == 0
    assert steady(second) == steady(first) == steady(fresh)
    assert "cached 3" in second or json_flag  # the ages are brought up to date, not frozen
    if json_flag:
        assert json.loads(second)["summary"]["total_user_capital"] == 200.0


def test_strict_keeps_its_exit_code(tmp_path: Path) -> None:
    cfg = write(tmp_path / "config.toml", CONFIG + "[users.carol.kraken]\n")
    fill(write(tmp_path / "other.toml", CONFIG))  # carol: no key, so not counted
    fill(cfg)
    results = [run("show", "--strict", "--config", str(cfg)) for _ in range(2)]
    assert [how for _, how, _ in results] == ["RAN", "REPLAYED"]
    assert [code for _, _, code in results] == [1, 1]


def test_a_change_to_any_input_is_never_replayed(cfg: Path) -> None:
    args = ("show", "--json", "--config", str(cfg))
    run(*args)
    assert run(*args)[1] == "REPLAYED"
    fill(cfg, amount="250")  # the store changed
    out, how, _ = run(*args)
    assert how == "RAN" and json.loads(out)["summary"]["platform_total"] == 250.0
    assert run(*args)[1] == "REPLAYED"
    cfg.write_text(CONFIG + "[users.dave.kraken]\n")  # the config changed
    out, how, _ = run(*args)
    assert how == "RAN" and "dave" in json.loads(out)["balances"]["users"]
    run(*args)
    out, how, _ = run(*args, env={"KRAKEN_USER_ALICE_API_KEY": ""})  # the environment changed
    statuses = {c["account"]: c["status"] for c in json.loads(out)["connections"]}
    assert how == "RAN" and statuses["alice"] == "no_credentials"
    (cfg.parent / ".env").write_text("NOTHING=1\n")  # a .env file appeared
    assert run(*args)[1] == "RAN"
    assert run(*args, "--user", "alice")[1] == "RAN"  # another command line


def test_a_config_naming_its_store_is_never_replayed(tmp_path: Path) -> None:
    """The files replay watches are the default store's: a shared (Redis) or elsewhere
    (`sqlite:///...`) store can change with none of them changing."""
    store = tmp_path / "elsewhere" / "balances.sqlite3"
    cfg = write(tmp_path / "config.toml", f'[store]\nurl = "sqlite:///{store}"\n\n' + CONFIG)
    fill(cfg, store=store)
    args = ("show", "--json", "--config", str(cfg))
    runs = [run(*args) for _ in range(3)]
    assert [how for _, how, _ in runs] == ["RAN", "RAN", "RAN"]
    statuses = {c["status"] for c in json.loads(runs[-1][0])["connections"]}
    assert statuses == {"cached"}  # replayable but for the store it names
    plain = write(tmp_path / "plain.toml", CONFIG)
    fill(plain)
    assert [run("show", "--json", "--config", str(plain))[1] for _ in range(2)] == [
        "RAN",
        "REPLAYED",
    ]


def kept_files() -> list[Path]:
    from nija_balances.paths import cache_dir

    return list((cache_dir() / "replay").iterdir())


def test_no_replay_after_the_ttl(
    cfg: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import marshal

    args = ["show", "--config", str(cfg)]
    run(*args)
    (kept_file,) = kept_files()
    key = marshal.loads(kept_file.read_bytes())["key"]
    monkeypatch.setattr(replay, "_inputs_key", lambda _: key)  # this process is not the CLI's
    assert replay.replay(args) == 0 and "alice" in capsys.readouterr().out
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 120 - 30)  # cache_ttl 120 s, 30 s old
    assert replay.replay(args) is None and capsys.readouterr().out == ""


def test_a_first_show_computes_the_key_of_its_inputs_once(
    cfg: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`replay` computes the key of the run's inputs (the environment sorted and hashed:
    ~30 ms at 3,000 connections); the show that keeps its report reuses it."""
    calls: list[list[str]] = []
    real = replay._inputs_key

    def counted(args: Sequence[str]) -> str:
        calls.append(list(args))
        return real(args)

    monkeypatch.setattr(replay, "_inputs_key", counted)
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["nija", "show", "--config", str(cfg)])
    outputs = []
    for _ in range(2):  # the first run keeps its report, the second replays it
        with pytest.raises(SystemExit) as done:
            main()
        assert done.value.code in (0, None)
        outputs.append(steady(capsys.readouterr().out))
        assert replay._this_run is None  # forgotten when the run ends
    assert len(kept_files()) == 1 and outputs[0] == outputs[1] and "alice" in outputs[0]
    assert len(calls) == 2  # once a run


def test_a_kept_report_others_may_write_is_ignored(cfg: Path) -> None:
    args = ("show", "--config", str(cfg))
    run(*args)
    (kept_file,) = kept_files()
    kept_file.chmod(0o666)
    assert run(*args)[1] == "RAN"
    kept_file.chmod(0o600)
    assert run(*args)[1] == "REPLAYED"
    kept_file.write_bytes(b"not marshal")
    assert run(*args)[1] == "RAN"


def test_only_plain_show_command_lines_are_replayable() -> None:
    assert replay.replayable(["show", "--config", "x.toml", "--json"])
    assert replay.replayable(["--config=x.toml", "show", "--user", "alice"])
    for args in (
        ["show", "--refresh"],
        ["-v", "show"],
        ["status"],
        ["show", "--help"],
        ["show", "--config"],
    ):
        assert not replay.replayable(args), args


def test_a_replayed_report_is_the_report_laid_out_anew_at_any_later_time(cfg: Path) -> None:
    import marshal

    from nija_balances.render import plain

    run("show", "--config", str(cfg))
    (kept_file,) = kept_files()
    kept = marshal.loads(kept_file.read_bytes())
    blocks = [block[:3] for block in kept["blocks"]]
    at = time.time()
    for later in (0, 1, 9, 10, 31, 65, 3600, 3 * 86400):
        now = at + later
        fresh = plain.render(blocks, kept["width"], now)
        assert fresh is not None
        assert replay._report_text(kept, now) == "".join(line + "\n" for line in fresh), later
