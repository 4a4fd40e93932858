"""A config with several mistakes gets all of them at once (up to 20, then "and N more").

One `ConfigError` carries every problem found in the file (or NIJA directory); its message
lists each with file, line and key path, and the CLI still exits 2. A file with a single
problem reads exactly as before (`tests/test_config.py` and `tests/robustness/` pin those).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import EXAMPLES, write
from nija_balances.config.loader import load_toml
from nija_balances.config.nija.reader import load_nija_directory
from nija_balances.domain.syntax import ConfigError
from robustness.conftest import nija

THREE = """\
[settings]
timeout = "fast"
[users.a]
enabled = "yes"
[users.b.kraken]
exchange = "krakn"
[users.c.p]
exchange = "paper"
balances = { USD = -1, BTC = "x" }
"""


def test_every_problem_of_a_toml_file_is_listed(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", THREE)
    with pytest.raises(ConfigError) as info:
        load_toml(cfg)
    error = info.value
    assert [(e.line, e.key_path) for e in error.problems] == [
        (2, "settings.timeout"),
        (4, "users.a.enabled"),
        (6, "users.b.kraken.exchange"),
        (9, "users.c.p.balances.USD"),
        (9, "users.c.p.balances.BTC"),
    ]
    assert (error.file, error.line, error.key_path) == (cfg, 2, "settings.timeout")  # the first
    expected = (
        f"{cfg}: 5 problems:\n"
        f"  {cfg}:2: settings.timeout: expected a number >= 0.1, got 'fast'\n"
        f"  {cfg}:4: users.a.enabled: expected true or false, got 'yes'\n"
        f"  {cfg}:6: users.b.kraken.exchange: unknown exchange 'krakn' (did you mean 'kraken'?)\n"
        "    hint: use a ccxt exchange id (kraken, coinbase, binance, okx, alpaca, ...) or "
        "'paper'; a connection named otherwise needs exchange = \"...\"\n"
        f"  {cfg}:9: users.c.p.balances.USD: expected a non-negative number, got -1\n"
        "    hint: write it as USD = 250.0\n"
        f"  {cfg}:9: users.c.p.balances.BTC: expected a non-negative number, got 'x'\n"
        "    hint: write it as BTC = 250.0"
    )
    assert str(error) == expected
    run = nija("show", "--config", cfg)
    assert (run.code, run.out, run.err) == (2, "", f"error: {expected}\n")
    run = nija("config", "check", "--config", cfg)
    assert (run.code, run.err) == (2, f"error: {expected}\n")


def test_more_than_20_problems_end_with_and_n_more(tmp_path: Path) -> None:
    text = "".join(f"[users.u{i}]\nenabled = {i}\n" for i in range(25))
    cfg = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as info:
        load_toml(cfg)
    assert len(info.value.problems) == 25
    lines = str(info.value).splitlines()
    assert lines[0] == f"{cfg}: 25 problems:"
    assert lines[1] == f"  {cfg}:2: users.u0.enabled: expected true or false, got 0"
    assert lines[20] == f"  {cfg}:40: users.u19.enabled: expected true or false, got 19"
    assert lines[21:] == ["  and 5 more"]


def test_a_single_problem_reads_as_before(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", '[users.a]\nenabled = "yes"\n')
    with pytest.raises(ConfigError) as info:
        load_toml(cfg)
    assert str(info.value) == f"{cfg}:2: users.a.enabled: expected true or false, got 'yes'"
    assert len(info.value.problems) == 1


@pytest.mark.parametrize(
    ("exchange", "listed", "not_listed"),
    [("kraken", "trade_symbols", "balances"), ("paper", "balances", "trade_symbols")],
)
def test_an_unknown_key_hints_at_the_keys_of_its_own_adapter(
    tmp_path: Path, exchange: str, listed: str, not_listed: str
) -> None:
    """A Kraken connection is not told that paper's `balances` would be allowed."""
    cfg = write(tmp_path / "c.toml", f"[users.a.{exchange}]\napi_kay = 'x'\n")
    with pytest.raises(ConfigError) as info:
        load_toml(cfg)
    (problem,) = info.value.problems
    assert "unknown key 'api_kay' (did you mean 'api_key'?)" in str(problem)
    allowed = problem.hint.removeprefix("allowed here: ").split(", ")
    assert listed in allowed and not_listed not in allowed and "api_key" in allowed


def test_every_problem_of_a_nija_directory_is_listed() -> None:
    broken = EXAMPLES / "nija-users-broken"
    with pytest.raises(ConfigError) as info:
        load_nija_directory(broken)
    assert str(info.value) == (
        f"{broken}: 2 problems:\n"
        f"  {broken}/retail_coinbase.json:13: [1].broker_type: unknown broker 'coinbse' "
        "(did you mean 'coinbase'?)\n"
        "    hint: use a ccxt exchange id (coinbase, kraken, binance, okx, alpaca, ...)\n"
        f"  {broken}/retail_kraken.json:10: [1]: invalid JSON: Expecting ',' delimiter "
        "(column 5)\n"
        "    hint: check commas, quotes and brackets on that line"
    )
    run = nija("config", "check", "--config", broken)
    assert (run.code, run.out) == (2, "")
    assert run.err == f"error: {info.value}\n"
