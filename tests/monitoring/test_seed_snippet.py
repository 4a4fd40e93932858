"""The seeds' "Balance Change Alerts" snippet, as written, with the one change DESIGN.md §7
makes (the import comes from `nija_balances`): the monitor it gets is fed by every refresh
of the module-level manager and sends BALANCE_LOW once, through the configured sinks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import write

SEED_SNIPPET = """\
from bot.monitoring_system import get_monitoring_system

monitor = get_monitoring_system()
# Monitoring system automatically tracks balance changes
# and sends alerts for BALANCE_LOW and BALANCE_DROP events
"""

TRADING_LOOP = """
import nija_balances
seen = []
monitor.add_handler(lambda alert: seen.append((alert.kind.value, alert.account, alert.state)))
for _ in range(3):  # three turns of the seeds' trading loop
    nija_balances.multi_account_broker_manager.get_all_balances()
assert seen == [("BALANCE_LOW", "alice", "firing")], seen
assert [a.kind.value for a in monitor.active_alerts()] == ["BALANCE_LOW"]
assert monitor is nija_balances.get_monitoring_system()
print("ok")
"""


def test_the_seeds_snippet_works_as_written(tmp_path: Path) -> None:
    jsonl = tmp_path / "alerts.jsonl"
    config = write(tmp_path / "config.toml", f"""
[alerts]
low_balance = 100
json_file = "{jsonl}"

[users.alice.paper]
exchange = "paper"
balances = {{ USD = 40 }}
""")  # fmt: skip
    code = SEED_SNIPPET.replace("from bot.monitoring_system import", "from nija_balances import")
    assert code.count("\n") == SEED_SNIPPET.count("\n")  # only the module name changed
    env = {**os.environ, "NIJA_CONFIG": str(config)}
    run = subprocess.run([sys.executable, "-c", code + TRADING_LOOP], env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"
    (line,) = jsonl.read_text().splitlines()
    assert json.loads(line)["message"] == "alice: balance 40.00 USD is below 100.00 USD"
