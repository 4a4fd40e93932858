"""The alert rules and state machine of DESIGN.md §11, as pure functions (no store, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from nija_balances.domain.alerts import (
    Alert,
    AlertKind,
    Finding,
    account_equity,
    advance,
    drop_finding,
    failing_finding,
    low_finding,
)
from nija_balances.domain.history import Flow, Snapshot, SnapshotPrices
from nija_balances.domain.models import AccountReport, AlertRules, ConnectionReport, Status

T0 = datetime(2026, 1, 21, 12, 0, tzinfo=UTC)
RULES = AlertRules(low_balance=Decimal(100), drop_percent=Decimal(10))
CASH = {"USD", "USDT"}


def account(*balances: str | None, status: Status = Status.OK) -> AccountReport:
    """An account with one connection per balance (None: a connection that failed)."""
    conns = tuple(
        ConnectionReport("alice", "user", f"c{i}", "kraken", status, Decimal(b), Decimal(b),
                         Decimal(b))
        if b is not None
        else ConnectionReport("alice", "user", f"c{i}", "kraken", Status.UNREACHABLE)
        for i, b in enumerate(balances)
    )  # fmt: skip
    return AccountReport("alice", "user", "Alice", True, conns)


def step_through(findings: list[Finding], every: timedelta = timedelta(minutes=5)) -> list[str]:
    """Feed findings one per `every`, keeping the state; the events sent, in order."""
    state: Alert | None = None
    events: list[str] = []
    for i, finding in enumerate(findings):
        step = advance(state, finding, T0 + i * every, RULES.repeat_after)
        if step is not None:
            state = step.after
            if step.event:
                events.append(f"{step.event}@{i}")
    return events


def test_low_fires_once_does_not_flap_in_the_band_and_resolves_with_a_message() -> None:
    balances = ["150", "99", "80", "101", "99", "104.99", "105", "99"]
    findings = [low_finding(account(b), RULES, "USD") for b in balances]
    assert all(f is not None for f in findings)
    # 101 and 104.99 are inside the 5% band: neither resolves; 105 resolves; 99 fires again
    assert step_through([f for f in findings if f]) == ["fired@1", "resolved@6", "fired@7"]
    resolved = low_finding(account("105"), RULES, "USD")
    assert resolved is not None and resolved.resolved == (
        "alice: balance 105.00 USD is back above 100.00 USD"
    )


def test_an_active_alert_repeats_only_after_repeat_after() -> None:
    low = low_finding(account("50"), RULES, "USD")
    assert low is not None
    hourly = step_through([low] * 14, every=timedelta(hours=1))
    assert hourly == ["fired@0", "repeated@6", "repeated@12"]


def test_an_incomplete_total_never_raises_or_resolves_low() -> None:
    incomplete = low_finding(account("5", None), RULES, "USD")
    assert incomplete is not None and incomplete.on is None and incomplete.balance is None
    low = low_finding(account("5"), RULES, "USD")
    assert low is not None
    assert step_through([incomplete, low, incomplete, incomplete]) == ["fired@1"]
    assert low_finding(account("5"), AlertRules(low_balance=None), "USD") is None  # off


def snaps(*points: tuple[int, str]) -> list[Snapshot]:
    """Snapshots at T0 + minutes with an equity."""
    return [Snapshot(T0 + timedelta(minutes=m), Decimal(e), Decimal(e)) for m, e in points]


def withdrawal(minute: int, amount: str, currency: str = "USD") -> Flow:
    return Flow(f"w{minute}", "withdrawal", T0 + timedelta(minutes=minute), currency,
                Decimal(amount))  # fmt: skip


def drop(now_equity: str, history: list[Snapshot], flows: list[Flow], minute: int = 30) -> (
    Finding | None
):  # fmt: skip
    return drop_finding(
        account(now_equity),
        RULES,
        "USD",
        history=account_equity([[(s.time, s.equity) for s in history]]),
        flows=flows,
        prices=SnapshotPrices(history),
        cash=CASH,
        now=T0 + timedelta(minutes=minute),
    )


def test_a_real_fall_from_the_high_of_the_window_is_a_drop() -> None:
    found = drop("880", snaps((0, "1000"), (10, "1100"), (20, "950")), [])
    assert found is not None and found.on is True
    assert found.message == (
        "alice: equity fell 20.0% within 1h (from 1,100.00 USD to 880.00 USD, net of flows)"
    )
    # the high left the window: measured from what is left (950 -> 880 is 7.4%: cleared)
    later = drop("880", snaps((0, "1000"), (10, "1100"), (20, "950")), [], minute=75)
    assert later is not None and later.on is False
    band = drop("858", snaps((0, "950")), [])  # 9.7%: under 10% but not under 9.5%
    assert band is not None and band.on is None
    calm = drop("1080", snaps((0, "1000"), (10, "1100")), [])
    assert calm is not None and calm.on is False


def test_a_withdrawal_is_not_a_drop_and_a_deposit_does_not_hide_one() -> None:
    history = snaps((0, "1000"), (10, "1000"))
    assert (w := drop("500", history, [withdrawal(15, "500")])) is not None and w.on is False
    # fees are a loss: 500 out plus a 150 fee is a 15% fall of what was not withdrawn
    fee = Flow("w", "withdrawal", T0 + timedelta(minutes=15), "USD", Decimal(500), Decimal(150))
    assert (f := drop("350", history, [fee])) is not None and f.on is True
    deposit = Flow("d", "deposit", T0 + timedelta(minutes=15), "USD", Decimal(1000))
    assert (d := drop("1700", history, [deposit])) is not None and d.on is True
    # a withdrawal before the window or after now changes nothing
    assert (o := drop("500", history, [withdrawal(-90, "500")])) is not None and o.on is True


def test_a_flow_of_unknown_value_cannot_tell() -> None:
    history = snaps((0, "1000"), (10, "1000"))
    unknown = drop("500", history, [withdrawal(15, "1", currency="DOGE")])  # no price anywhere
    assert unknown is not None and unknown.on is None
    assert step_through([unknown] * 3) == []


def test_no_history_or_an_incomplete_total_cannot_tell() -> None:
    assert (none := drop("500", [], [])) is not None and none.on is None
    incomplete = drop_finding(
        account("1", None), RULES, "USD", history=[(T0, Decimal(1000))], flows=[],
        prices=SnapshotPrices([]), cash=CASH, now=T0 + timedelta(minutes=1),
    )  # fmt: skip
    assert incomplete is not None and incomplete.on is None


def test_account_equity_sums_connections_only_where_each_has_a_value() -> None:
    first = [(s.time, s.equity) for s in snaps((0, "100"), (10, "110"))]
    second = [(s.time, s.equity) for s in snaps((5, "50"), (12, "40"))]
    assert account_equity([first, second]) == [
        (T0 + timedelta(minutes=5), Decimal(150)),
        (T0 + timedelta(minutes=10), Decimal(160)),
        (T0 + timedelta(minutes=12), Decimal(150)),
    ]
    assert account_equity([first, []]) == []


def test_a_failing_connection_fires_only_after_failing_after_and_resolves_when_back() -> None:
    rules = AlertRules(failing_after=timedelta(minutes=15))
    bad = ConnectionReport("alice", "user", "kraken", "kraken", Status.STALE, error="timed out")
    good = ConnectionReport("alice", "user", "kraken", "kraken", Status.CACHED)
    failing, healthy = failing_finding(bad, rules), failing_finding(good, rules)
    assert failing is not None and healthy is not None
    assert failing.message == "alice/kraken (kraken) is stale: timed out"
    # pending at 0, fires at 15 min (not at 5 or 10), once; resolves when cached again
    events = step_through([failing, failing, failing, failing, failing, healthy, healthy])
    assert events == ["fired@3", "resolved@5"]
    # a failure shorter than failing_after is never sent
    assert step_through([failing, failing, healthy, failing]) == []
    disabled = ConnectionReport("alice", "user", "k", "kraken", Status.DISABLED)
    assert failing_finding(disabled, rules) is None


def test_the_pending_start_is_the_alerts_since() -> None:
    rules = AlertRules(failing_after=timedelta(minutes=15))
    bad = ConnectionReport("alice", "user", "kraken", "kraken", Status.TIMEOUT)
    finding = failing_finding(bad, rules)
    assert finding is not None and finding.kind is AlertKind.CONNECTION_FAILING
    first = advance(None, finding, T0, rules.repeat_after)
    assert first is not None and first.after.state == "pending" and first.event is None
    fired = advance(first.after, finding, T0 + timedelta(minutes=20), rules.repeat_after)
    assert fired is not None and fired.event == "fired"
    assert (fired.after.since, fired.after.last_sent) == (T0, T0 + timedelta(minutes=20))
    assert fired.after.sent_count == 1
