"""`[alerts]` and `[users.ID.alerts]`: read into the rules, every mistake named by file, line
and key; a notification URL written in the file is refused without being echoed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import write
from nija_balances.config.loader import load_toml
from nija_balances.domain.models import AlertRules
from nija_balances.domain.syntax import ConfigError

USER = '[users.alice.p]\nexchange = "paper"\n'


def test_rules_defaults_and_overrides(tmp_path: Path) -> None:
    cfg = load_toml(write(tmp_path / "c.toml", f"""
[alerts]
low_balance = 100
drop_window = "2h"
failing_after = 600
notify = ["env:NIJA_ALERT_URLS"]
json_file = "alerts.jsonl"
command = "notify-send nija"

{USER}
[users.alice.alerts]
low_balance = 500
notify = []

[platform.alerts]
drop_percent = 0
"""))  # fmt: skip
    alerts = cfg.alerts
    assert alerts.rules == AlertRules(
        low_balance=Decimal(100), drop_window=timedelta(hours=2),
        failing_after=timedelta(minutes=10), notify=("NIJA_ALERT_URLS",),
    )  # fmt: skip
    alice = alerts.for_account("alice")
    assert (alice.low_balance, alice.drop_window, alice.notify) == (
        Decimal(500),
        timedelta(hours=2),
        (),
    )
    assert alerts.for_account("platform").drop_percent is None  # 0 turns it off
    assert alerts.for_account("bob") == alerts.rules
    assert alerts.json_file == tmp_path / "alerts.jsonl"
    assert alerts.command == ("notify-send", "nija")
    assert [c.name for c in cfg.users[0].connections] == ["p"]  # `alerts` is no connection
    assert load_toml(write(tmp_path / "d.toml", USER)).alerts.rules == AlertRules()


def test_mistakes_are_named_with_file_line_and_key(tmp_path: Path) -> None:
    secret = "tgram://123456:SECRETTOKEN/987"
    path = write(tmp_path / "c.toml", f"""[alerts]
low_balance = -1
drop_window = "1 hour"
notify = ["{secret}"]
repeat_aftr = "6h"

{USER}
[users.alice.alerts]
log_every = "1h"
hysteresis = 80
""")  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        load_toml(path)
    text = str(caught.value)
    assert f"{path}:2: alerts.low_balance: expected an amount >= 0" in text
    assert f"{path}:3: alerts.drop_window: expected a duration, got '1 hour'" in text
    assert '"15m", "1h", "7d"' in text
    assert f"{path}:4: alerts.notify: a notification URL may not be written in the config" in text
    assert 'notify = ["env:NIJA_ALERT_URLS"]' in text
    assert "SECRETTOKEN" not in text
    assert (
        f"{path}:5: alerts.repeat_aftr: unknown key 'repeat_aftr' (did you mean 'repeat_after'?)"
        in text
    )
    assert f"{path}:11: users.alice.alerts.log_every: 'log_every' is only for [alerts]" in text
    assert f"{path}:12: users.alice.alerts.hysteresis: expected a percent from 0 to 50" in text


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('"env:"', "expected env:NAME with a variable name; it is empty"),
        ('["NIJA_ALERT_URLS"]', 'expected "env:NAME" entries'),
        ('["mailto://me:pw@x.org"]', "a notification URL may not be written"),
        ('"env:X"', 'expected a list of "env:NAME" strings'),
    ],
)
def test_notify_takes_only_environment_references(tmp_path: Path, value: str, problem: str) -> None:
    path = write(tmp_path / "c.toml", f"[alerts]\nnotify = {value}\n{USER}")
    if value == '"env:"':
        path = write(tmp_path / "c.toml", f'[alerts]\nnotify = ["env:"]\n{USER}')
    with pytest.raises(ConfigError, match=problem) as caught:
        load_toml(path)
    assert "pw@" not in str(caught.value)


def test_a_bad_config_exits_2_with_the_message(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nija_balances.cli.root import app

    path = write(tmp_path / "c.toml", f'[alerts]\ndrop_window = "soon"\n{USER}')
    result = CliRunner().invoke(app, ["monitor", "--once", "--config", str(path)])
    assert result.exit_code == 2
    assert f"{path}:2: alerts.drop_window: expected a duration" in result.stderr
    assert "Traceback" not in result.stderr
