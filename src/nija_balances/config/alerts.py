"""The `[alerts]` table and its per-account overrides (`[users.ID.alerts]`,
`[platform.alerts]`), checked like the rest of the config: file, line, key path and a hint.

Notification URLs hold tokens, so the file only names the environment variables that hold
them (`notify = ["env:NIJA_ALERT_URLS"]`); a URL written in the file is refused, and never
quoted back.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from nija_balances.domain.models import PLATFORM_ID, AlertRules, AlertSettings
from nija_balances.domain.syntax import (
    ENV_NAME_HINT,
    Locator,
    Problems,
    duration_value,
    env_name_problem,
    parse_amount,
    table_value,
    unknown_key,
)

ALERTS_KEY = "alerts"  # the key of an account's override table (no connection may use it)
RULE_KEYS = (
    "low_balance",
    "drop_percent",
    "drop_window",
    "repeat_after",
    "failing_after",
    "hysteresis",
    "notify",
)
MONITOR_KEYS = ("log_every", "json_file", "command")  # the whole monitor's: [alerts] only
NOTIFY_HINT = (
    "put the apprise URLs (they hold tokens) in an environment variable or .env, and name "
    'it: notify = ["env:NIJA_ALERT_URLS"]'
)


def _amount(
    loc: Locator, path: tuple[str, ...], value: Any, top: int, what: str, off: bool = True
) -> Any:
    """A number in [0, top]; 0 is None (the alert is off) when `off`."""
    amount = parse_amount(value) if not isinstance(value, str) else None
    if amount is None or amount < 0 or amount > top:
        hint = "0 turns this alert off" if off else None
        raise loc.error(path, f"expected {what}, got {value!r}", hint=hint)
    return amount if amount > 0 or not off else None


def _notify(loc: Locator, path: tuple[str, ...], value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else None
    if items is None or not all(isinstance(v, str) for v in items):
        raise loc.error(path, 'expected a list of "env:NAME" strings', hint=NOTIFY_HINT)
    names: list[str] = []
    for item in items:
        if "://" in item or (":" not in item and "@" in item):
            raise loc.error(
                path, "a notification URL may not be written in the config file", hint=NOTIFY_HINT
            )
        kind, _, name = item.partition(":")
        if kind.strip() != "env":
            raise loc.error(path, 'expected "env:NAME" entries', hint=NOTIFY_HINT)
        if (why := env_name_problem(name.strip())) is not None:
            raise loc.error(
                path, f"expected env:NAME with a variable name; {why}", hint=ENV_NAME_HINT
            )
        names.append(name.strip())
    return tuple(names)


def parse_rules(
    loc: Locator,
    path: tuple[str, ...],
    table: Mapping[str, Any],
    base: AlertRules,
    problems: Problems,
) -> AlertRules:
    """The rules of `table` over `base` (each problem added to `problems`)."""
    rules = base
    checks: dict[str, Any] = {
        "low_balance": lambda p, v: _amount(loc, p, v, 10**15, "an amount >= 0 (quote currency)"),
        "drop_percent": lambda p, v: _amount(loc, p, v, 100, "a percent between 0 and 100"),
        "hysteresis": lambda p, v: _amount(loc, p, v, 50, "a percent from 0 to 50", off=False),
        "drop_window": lambda p, v: duration_value(loc, p, v),
        "repeat_after": lambda p, v: duration_value(loc, p, v),
        "failing_after": lambda p, v: duration_value(loc, p, v),
        "notify": lambda p, v: _notify(loc, p, v),
    }
    for key, value in table.items():
        if key not in checks:
            continue
        before = len(problems)
        checked = problems.run(checks[key], (*path, key), value)
        if len(problems) == before:
            rules = replace(rules, **{key: checked})  # type: ignore[arg-type]
    return rules


def _command(loc: Locator, path: tuple[str, ...], value: Any) -> tuple[str, ...]:
    try:
        argv = shlex.split(value) if isinstance(value, str) else value
    except ValueError as exc:
        raise loc.error(path, f"cannot split the command: {exc}") from None
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) and a for a in argv):
        raise loc.error(
            path,
            f"expected a command (a string or a list of words), got {value!r}",
            hint='command = ["notify-send", "nija"] (the alert as JSON on stdin)',
        )
    return tuple(argv)


def _json_file(loc: Locator, path: tuple[str, ...], value: Any, file: Path | None) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise loc.error(path, f"expected a file path, got {value!r}")
    target = Path(value.strip()).expanduser()
    if not target.is_absolute():
        target = (file.parent if file is not None else Path.cwd()) / target
    return target.absolute()


def parse_alerts(
    loc: Locator, data: Mapping[str, Any], file: Path | None, problems: Problems
) -> AlertSettings:
    """`[alerts]` and every account's override (each problem added to `problems`)."""
    raw = problems.run(table_value, loc, (ALERTS_KEY,), data.get(ALERTS_KEY, {}), "[alerts]")
    top: Mapping[str, Any] = raw or {}
    known = (*RULE_KEYS, *MONITOR_KEYS)
    for key in top:
        if key not in known:
            problems.add(unknown_key(loc, (ALERTS_KEY, key), known))
    rules = parse_rules(loc, (ALERTS_KEY,), top, AlertRules(), problems)
    settings = AlertSettings(rules=rules)
    if "log_every" in top:
        every = problems.run(duration_value, loc, (ALERTS_KEY, "log_every"), top["log_every"])
        settings = replace(settings, log_every=every or settings.log_every)
    if "json_file" in top:
        target = problems.run(_json_file, loc, (ALERTS_KEY, "json_file"), top["json_file"], file)
        settings = replace(settings, json_file=target)
    if "command" in top:
        argv = problems.run(_command, loc, (ALERTS_KEY, "command"), top["command"])
        settings = replace(settings, command=argv or ())
    overrides: list[tuple[str, AlertRules]] = []
    platform = data.get("platform", data.get("master"))
    owners: list[tuple[str, tuple[str, ...], Any]] = [(PLATFORM_ID, ("platform",), platform)]
    users = data.get("users")
    if isinstance(users, Mapping):
        owners += [(uid, ("users", uid), table) for uid, table in users.items()]
    for account, path, table in owners:
        if not isinstance(table, Mapping) or ALERTS_KEY not in table:
            continue
        where = (*path, ALERTS_KEY)
        own = problems.run(table_value, loc, where, table[ALERTS_KEY], f"[{ALERTS_KEY}] overrides")
        if own is None:
            continue
        for key in own:
            if key in MONITOR_KEYS:
                problems.add(loc.error((*where, key), f"'{key}' is only for [alerts]"))
            elif key not in RULE_KEYS:
                problems.add(unknown_key(loc, (*where, key), RULE_KEYS))
        overrides.append((account, parse_rules(loc, where, own, rules, problems)))
    return replace(settings, overrides=tuple(overrides))
