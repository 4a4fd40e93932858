"""Exchange faults, end to end: `nija show/status` -> ccxt -> HTTP -> the mock exchanges.

Every case runs with three connections in one config:

- `platform/<exchange>`: healthy, on the same mock exchange as the faulty one (another key);
- `alice/<exchange>`: the connection the fault hits (only its own requests);
- `bob/<other exchange>`: healthy, on the other exchange.

For each fault and exchange it checks the §5 status word and the exact message, that the two
healthy connections keep their right values, the totals' coverage (`complete`,
`connections_counted`), the exit codes of `show`, `show --strict` and `status`, the table's
note and coverage line, and — when an earlier fetch was good — the last good value kept as
`stale` with the failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from mockex import MockExchange
from reliability.harness import Conn, MockThread, Setup, nija

pytestmark = pytest.mark.network_mock

EXCHANGES = ("kraken", "coinbase")
OTHER = {"kraken": "coinbase", "coinbase": "kraken"}
TIMEOUT = 1  # settings.timeout of every case: a hang costs one second
#: The balance request each exchange's message quotes (ccxt: "<id> <METHOD> <url>").
REQUEST = {
    "kraken": "kraken POST {url}/0/private/BalanceEx",
    "coinbase": "coinbase GET {url}/api/v3/brokerage/accounts",
}

PLATFORM_BALANCES = {"USD": ("100", "0"), "BTC": ("1", "0")}  # 100 + 60,000
ALICE_BALANCES = {"USD": ("40", "10"), "BTC": ("0.25", "0.25")}  # 50 + 30,000 (half held)
BOB_BALANCES = {"USD": ("10.01", "0")}
PLATFORM_VALUE, ALICE_VALUE, BOB_VALUE = 60100.0, 30050.0, 10.01


@dataclass(frozen=True)
class Case:
    """One fault: how to cause it, and the status and message every exchange must give."""

    status: str
    kraken: str
    coinbase: str
    fault: str | None = None  # a mock fault kind; None: see `Scenario.break_alice`

    def message(self, exchange: str, url: str) -> str:
        text: str = getattr(self, exchange)
        return text.format(request=REQUEST[exchange].format(url=url), ex=exchange)


CASES: dict[str, Case] = {
    "auth": Case(
        "auth_failed",
        kraken='key rejected: kraken {{"error": ["EAPI:Invalid key"]}}',
        coinbase="key rejected: {request} 401 Unauthorized Unauthorized",
        fault="auth",
    ),
    "permission": Case(
        "auth_failed",
        kraken='key lacks permission: kraken {{"error": ["EGeneral:Permission denied"]}}',
        coinbase='key lacks permission: coinbase {{"error": "PERMISSION_DENIED", "error_details": '
        '"Missing required scopes", "message": "Missing required scopes"}}',
        fault="permission",
    ),
    "http429": Case(
        "rate_limited",
        kraken="rate limited: {request} 429 Too Many Requests Too Many Requests",
        coinbase="rate limited: {request} 429 Too Many Requests Too Many Requests",
        fault="http429",
    ),
    "ratelimit_body": Case(
        "rate_limited",
        kraken='rate limited: kraken {{"error": ["EAPI:Rate limit exceeded"]}}',
        coinbase='rate limited: coinbase {{"error": "rate_limit_exceeded", "message": '
        '"Too many requests"}}',
        fault="ratelimit",
    ),
    "http500": Case(
        "unreachable",
        kraken="exchange unreachable: {request} 500 Internal Server Error Internal Server Error",
        coinbase="exchange unreachable: {request} 500 Internal Server Error Internal Server Error",
        fault="http500",
    ),
    "http503": Case(
        "unreachable",
        kraken="exchange unreachable: {request} 503 Service Unavailable Service Unavailable",
        coinbase="exchange unreachable: {request} 503 Service Unavailable Service Unavailable",
        fault="http503",
    ),
    "hang": Case(
        "timeout",
        kraken=f"no answer within {TIMEOUT} s",
        coinbase=f"no answer within {TIMEOUT} s",
        fault="hang",
    ),
    "refused": Case(
        "unreachable",
        kraken="exchange unreachable: {request} (connection refused)",
        coinbase="exchange unreachable: {request} (connection refused)",
    ),
    "malformed_json": Case(
        "error",
        kraken='kraken sent a response that is not JSON: {{"result": {{"BTC": {{"balance": "1.0", "hold',
        coinbase='coinbase sent a response that is not JSON: {{"result": {{"BTC": {{"balance": "1.0", "hold',
        fault="malformed_json",
    ),
    "html": Case(
        "unreachable",
        kraken="exchange unreachable: {request} 502 Bad Gateway (an HTML page: 502 Error)",
        coinbase="exchange unreachable: {request} 502 Bad Gateway (an HTML page: 502 Error)",
        fault="html",
    ),
    "truncated": Case(
        "unreachable",
        kraken="response cut short: {request}",
        coinbase="response cut short: {request}",
        fault="truncated",
    ),
    "negative_amount": Case(
        "error",
        kraken="kraken reported a negative free amount of BTC: -0.5",
        coinbase="coinbase reported a negative free amount of BTC: -0.5",
    ),
    "non_numeric_amount": Case(
        "error",
        kraken="kraken reported a non-numeric amount "
        "(invalid literal for int() with base 10: 'lots')",
        coinbase="coinbase reported a non-numeric amount "
        "(invalid literal for int() with base 10: 'lots')",
    ),
}


#: The cases, `hang` marked slow (each command waits out `settings.timeout`).
CASE_PARAMS = [
    pytest.param(name, marks=pytest.mark.slow) if name == "hang" else name for name in sorted(CASES)
]


class Scenario:
    """The three connections of a case, the config file, and how to break `alice`."""

    def __init__(self, setup: Setup, mocks: MockThread, exchange: str, case: str) -> None:
        self.setup, self.mocks, self.exchange, self.case = setup, mocks, exchange, case
        setup.settings["timeout"] = TIMEOUT
        main = mocks.start(exchange)
        # `refused` stops alice's server, so alice gets one of her own
        self.alice_mock: MockExchange = mocks.start(exchange) if case == "refused" else main
        self.platform = setup.add("platform", main, PLATFORM_BALANCES)
        self.alice = setup.add("alice", self.alice_mock, ALICE_BALANCES)
        self.bob = setup.add("bob", mocks.start(OTHER[exchange]), BOB_BALANCES)
        self.config = str(setup.write())

    @property
    def expected(self) -> tuple[str, str]:
        case = CASES[self.case]
        return case.status, case.message(self.exchange, self.alice_mock.url)

    def check_fresh_message(self, actual: str) -> None:
        """The message of the very first fetch, with no markets cached yet.

        For `refused` that fetch fails loading alice's markets from her own dead URL (the
        next ones use the cached markets and fail at the balance request).
        """
        message = self.expected[1]
        if self.case == "refused":  # which market request fails first is not fixed
            pattern = (
                rf"loading markets failed: exchange unreachable: {self.exchange} GET "
                rf"{re.escape(self.alice_mock.url)}/\S+ \(connection refused\)"
            )
            assert re.fullmatch(pattern, actual), actual
        else:
            assert actual == message

    def break_alice(self) -> None:
        case = CASES[self.case]
        if case.fault is not None:
            self.alice.inject(case.fault, seconds=4 * TIMEOUT)
        elif self.case == "refused":  # the exchange's server goes away: nothing listens
            self.mocks.run(self.alice_mock.__aexit__(None, None, None))
        else:
            btc = {"negative_amount": ("-0.5", "0"), "non_numeric_amount": ("lots", "0")}
            self.set_balances(self.alice, {**ALICE_BALANCES, "BTC": btc[self.case]})

    def set_balances(self, conn: Conn, balances: dict[str, tuple[str, str]]) -> None:
        mock = conn.mock
        assert mock is not None
        self.mocks.call(lambda: mock.accounts[conn.api_key].balances.update(balances))

    def nija(self, *args: str) -> Any:
        return nija(*args, "--config", self.config)


def connections(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{c['account']}/{c['connection']}": c for c in doc["connections"]}


def flat(text: str) -> str:
    """Text with every run of whitespace as one space (the table wraps long notes)."""
    return " ".join(text.split())


def check_healthy(conns: dict[str, dict[str, Any]], s: Scenario, statuses: tuple[str, ...]) -> None:
    """The two connections the fault does not touch: their status and right values."""
    platform, bob = conns[s.platform.key], conns[s.bob.key]
    assert platform["status"] in statuses and platform["error"] is None, platform
    assert bob["status"] in statuses and bob["error"] is None, bob
    if "balance" in platform:  # the show document (status --json has no money)
        assert platform["balance"] == PLATFORM_VALUE
        assert bob["balance"] == BOB_VALUE


# ---------------------------------------------------------------------------- the matrix


@pytest.mark.parametrize("case", CASE_PARAMS)
@pytest.mark.parametrize("exchange", EXCHANGES)
def test_fault_without_an_earlier_value(
    setup: Setup, mocks: MockThread, exchange: str, case: str
) -> None:
    s = Scenario(setup, mocks, exchange, case)
    s.break_alice()
    status = s.expected[0]
    ex = exchange

    shown = s.nija("show", "--json")
    assert shown.code == 0, shown
    doc = shown.json()
    conns = connections(doc)
    alice = conns[s.alice.key]
    assert alice["status"] == status
    s.check_fresh_message(alice["error"])
    assert alice["balance"] == 0.0 and alice["assets"] == [] and alice["fetched_at"] is None
    check_healthy(conns, s, ("ok",))
    assert doc["balances"] == {
        "platform": {ex: PLATFORM_VALUE},
        "users": {"alice": {ex: 0.0}, "bob": {OTHER[ex]: BOB_VALUE}},
    }
    summary = doc["summary"]
    assert summary["complete"] is False
    assert (summary["connections_counted"], summary["connections_total"]) == (2, 3)
    assert summary["platform_total"] == PLATFORM_VALUE
    assert summary["user_totals"] == {"alice": 0.0, "bob": BOB_VALUE}
    assert summary["total_user_capital"] == BOB_VALUE
    assert shown.stderr == ""

    # within the TTL all three come from the store: alice's failure is remembered with its
    # age, and the exchange is not asked again (a cron `status` does not hammer a bad key)
    asked = s.alice_mock.count()
    health = s.nija("status", "--json")
    assert health.code == 1, health
    hdoc = health.json()
    hconns = connections(hdoc)
    halice = hconns[s.alice.key]
    assert halice["status"] == status
    remembered, note = halice["error"].split(" (from the last try; ")
    assert note == "--refresh tries again now)"
    s.check_fresh_message(remembered)  # the first fetch's failure, as it was
    assert s.alice_mock.count() == asked
    assert halice["healthy"] is False and halice["counted"] is False
    check_healthy(hconns, s, ("cached",))
    assert hdoc["healthy"] is False
    assert (hdoc["connections_counted"], hdoc["connections_total"]) == (2, 3)

    table = s.nija("show", "--strict")
    assert table.code == 1, table
    out = table.stdout
    assert re.search(rf"✖\s+{ex.upper()}\s+{ex}\s+—\s+{status}\n", out), out
    assert flat(f"✖ {ex.upper()}: {remembered}") in flat(out)
    coverage = f"⚠ Totals cover 2 of 3 connections; not counted: alice/{ex} ({status})"
    assert coverage in flat(out)
    assert "Connections: 2 of 3 counted" in flat(out)
    assert "$30,050.00" not in out  # alice's value is nowhere: it was never fetched


@pytest.mark.parametrize("case", CASE_PARAMS)
@pytest.mark.parametrize("exchange", EXCHANGES)
def test_fault_after_a_good_fetch_keeps_the_last_value_as_stale(
    setup: Setup, mocks: MockThread, exchange: str, case: str
) -> None:
    """The fault starts mid-run: the first refresh is good, the next ones fail."""
    s = Scenario(setup, mocks, exchange, case)
    good = s.nija("show", "--json", "--refresh")
    assert good.code == 0, good
    before = connections(good.json())[s.alice.key]
    assert before["status"] == "ok" and before["balance"] == ALICE_VALUE

    s.break_alice()
    status, message = s.expected
    ex = exchange

    shown = s.nija("show", "--json", "--refresh")
    assert shown.code == 0, shown
    doc = shown.json()
    conns = connections(doc)
    alice = conns[s.alice.key]
    assert alice["status"] == "stale"
    assert alice["error"] == f"{status}: {message}"
    assert alice["balance"] == ALICE_VALUE  # the last good value, with its time and age
    assert alice["fetched_at"] == before["fetched_at"] and alice["age_s"] >= 0
    assert alice["assets"] == before["assets"]
    check_healthy(conns, s, ("ok",))
    summary = doc["summary"]
    assert summary["complete"] is True  # a stale value is counted (and flagged per connection)
    assert (summary["connections_counted"], summary["connections_total"]) == (3, 3)
    assert summary["user_totals"] == {"alice": ALICE_VALUE, "bob": BOB_VALUE}
    assert shown.stderr == ""

    health = s.nija("status", "--json", "--refresh")
    assert health.code == 1, health  # stale is not healthy
    halice = connections(health.json())[s.alice.key]
    assert (halice["status"], halice["error"]) == ("stale", f"{status}: {message}")
    assert halice["healthy"] is False and halice["counted"] is True

    table = s.nija("show", "--strict", "--refresh")
    assert table.code == 0, table  # every connection is counted
    out = table.stdout
    assert re.search(rf"⚠\s+{ex.upper()}\s+{ex}\s+\$30,050\.00\s+stale \d+s\n", out), out
    assert flat(f"⚠ {ex.upper()}: {status}: {message}") in flat(out)
    assert flat(
        f"⚠ Stale values counted (last good value kept after a failed fetch): alice/{ex}"
    ) in flat(out)
    assert "Connections: 3 of 3 counted" in flat(out)


# ---------------------------------------------------------------------------- beyond one key


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_unknown_currency_is_listed_unpriced_never_valued_at_zero(
    setup: Setup, mocks: MockThread, exchange: str
) -> None:
    setup.settings["timeout"] = TIMEOUT
    mock = mocks.start(exchange)
    setup.add("platform", mock, PLATFORM_BALANCES)
    alice = setup.add("alice", mock, {**ALICE_BALANCES, "ZZQ": ("7.5", "0")})
    config = str(setup.write())

    shown = nija("show", "--json", "--config", config)
    assert shown.code == 0, shown
    doc = shown.json()
    conn = connections(doc)[alice.key]
    assert conn["status"] == "ok" and conn["error"] is None
    assert conn["unpriced"] == ["ZZQ"]
    zzq = next(a for a in conn["assets"] if a["currency"] == "ZZQ")
    assert zzq == {
        "currency": "ZZQ", "free": 7.5, "used": 0.0, "total": 7.5, "price": None, "value": None,
    }  # fmt: skip
    assert conn["equity"] == ALICE_VALUE  # the priced assets; ZZQ is listed, not counted as 0
    assert doc["summary"]["complete"] is True

    table = nija("show", "--config", config)
    assert f"{ex_row(exchange)}" and "unpriced: ZZQ" in table.stdout, table
    detail = nija("user", "alice", "--config", config)
    assert detail.code == 0, detail
    assert re.search(r"ZZQ\s+7\.5\s+0\s+7\.5\s+—\s+unpriced", detail.stdout), detail
    assert "unpriced (not in the value): ZZQ" in detail.stdout


def ex_row(exchange: str) -> str:
    return exchange.upper()


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_a_dead_url_on_the_first_connection_fails_only_that_connection(
    setup: Setup, mocks: MockThread, exchange: str
) -> None:
    """Markets are loaded per `ccxt` table: one connection's broken URL is its problem alone.

    (Before the fix the first connection's table loaded the markets for the whole exchange,
    so a platform pointed at a dead host took every user of that exchange down with it.)
    """
    from reliability.harness import free_port

    setup.settings["timeout"] = TIMEOUT
    mock = mocks.start(exchange)
    setup.add_dead("platform", exchange, free_port())
    alice = setup.add("alice", mock, ALICE_BALANCES)
    config = str(setup.write())

    doc = nija("show", "--json", "--config", config).json()
    conns = connections(doc)
    assert conns[f"platform/{exchange}"]["status"] == "unreachable"
    assert conns[f"platform/{exchange}"]["error"].startswith("loading markets failed: ")
    assert conns[f"platform/{exchange}"]["error"].endswith("(connection refused)")
    assert conns[alice.key]["status"] == "ok"
    assert conns[alice.key]["balance"] == ALICE_VALUE  # BTC priced through alice's own markets
    assert (doc["summary"]["connections_counted"], doc["summary"]["connections_total"]) == (1, 2)


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_markets_down_fails_that_exchange_alone(
    setup: Setup, mocks: MockThread, exchange: str
) -> None:
    from mockex.harness import MARKETS_PATH

    setup.settings["timeout"] = TIMEOUT
    mock = mocks.start(exchange)
    platform = setup.add("platform", mock, PLATFORM_BALANCES)
    alice = setup.add("alice", mock, ALICE_BALANCES)
    bob = setup.add("bob", mocks.start(OTHER[exchange]), BOB_BALANCES)
    config = str(setup.write())
    mocks.call(lambda: mock.inject("http503", path=MARKETS_PATH[exchange]))

    doc = nija("show", "--json", "--config", config).json()
    conns = connections(doc)
    for conn in (platform, alice):
        assert conns[conn.key]["status"] == "unreachable"
        assert re.fullmatch(
            rf"loading markets failed: exchange unreachable: {exchange} GET \S+ 503 "
            "Service Unavailable Service Unavailable",
            conns[conn.key]["error"],
        ), conns[conn.key]["error"]
    assert conns[bob.key]["status"] == "ok" and conns[bob.key]["balance"] == BOB_VALUE
    assert (doc["summary"]["connections_counted"], doc["summary"]["complete"]) == (1, False)


@pytest.mark.slow
@pytest.mark.parametrize("exchange", EXCHANGES)
def test_prices_hanging_leave_assets_unpriced_with_the_reason(
    setup: Setup, mocks: MockThread, exchange: str
) -> None:
    """The balance answered but the ticker did not: the cash is counted, BTC is unpriced."""
    from mockex.harness import TICKER_PATH

    setup.settings["timeout"] = TIMEOUT
    mock = mocks.start(exchange)
    alice = setup.add("alice", mock, ALICE_BALANCES)
    config = str(setup.write())
    nija("show", "--json", "--config", config)  # markets now cached: only the ticker hangs
    mocks.call(lambda: mock.inject("hang", path=TICKER_PATH[exchange], seconds=4 * TIMEOUT))

    shown = nija("show", "--json", "--refresh", "--config", config)
    conn = connections(shown.json())[alice.key]
    assert conn["status"] == "ok"
    assert conn["unpriced"] == ["BTC"] and conn["balance"] == 50.0  # cash only, never BTC at 0
    assert conn["error"] == f"could not price BTC: no answer within {TIMEOUT} s"


# ---------------------------------------------------------------------------- other exchanges

#: Binance, OKX and Alpaca: the faults each exchange answers in its own words. `{request}`
#: is the balance request ccxt names; Alpaca asks for the account and the positions at once,
#: so either may be the one that failed first.
MORE_REQUESTS = {
    "binance": r"binance GET {url}/api/v3/account",
    "okx": r"okx GET {url}/api/v5/account/balance",
    "alpaca": r"alpaca GET {url}/v2/(?:account|positions)",
}
MORE_CASES: dict[str, dict[str, tuple[str, str]]] = {
    "binance": {
        "auth": ("auth_failed", 'key rejected: binance {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}'),
        "permission": ("auth_failed", 'key rejected: binance {"code": -1002, "msg": "You are not authorized to execute this request."}'),
        "http429": ("rate_limited", "rate limited: binance 429 Too Many Requests Too Many Requests"),
        "ratelimit": ("rate_limited", 'rate limited: binance 429 Too Many Requests {"code": -1003, "msg": "Too much request weight used; current limit is 6000 request weight per 1 MINUTE."}'),
    },
    "okx": {
        "auth": ("auth_failed", 'key rejected: okx {"code": "50111", "msg": "Invalid OK-ACCESS-KEY", "data": []}'),
        "permission": ("auth_failed", """key lacks permission: okx {"code": "50110", "msg": "Your IP 127.0.0.1 is not included in your API key's IP whitelist.", "data": []}"""),
        "http429": ("rate_limited", "rate limited: {request} 429 Too Many Requests Too Many Requests"),
        "ratelimit": ("rate_limited", 'rate limited: okx {"code": "50011", "msg": "Too Many Requests", "data": []}'),
    },
    "alpaca": {
        "auth": ("auth_failed", 'key lacks permission: alpaca {"code": 40110000, "message": "request is not authorized"}'),
        "permission": ("auth_failed", 'key lacks permission: alpaca {"message": "forbidden."}'),
        "http429": ("rate_limited", "rate limited: {request} 429 Too Many Requests Too Many Requests"),
        "ratelimit": ("rate_limited", 'rate limited: alpaca {"code": 42910000, "message": "rate limit exceeded"}'),
    },
}  # fmt: skip
COMMON_CASES = {
    "http500": ("unreachable", "exchange unreachable: {request} 500 Internal Server Error Internal Server Error"),
    "http503": ("unreachable", "exchange unreachable: {request} 503 Service Unavailable Service Unavailable"),
    "malformed_json": ("error", '{ex} sent a response that is not JSON: {"result": {"BTC": {"balance": "1.0", "hold'),
    "html": ("unreachable", "exchange unreachable: {request} 502 Bad Gateway (an HTML page: 502 Error)"),
    "truncated": ("unreachable", "response cut short: {request}"),
}  # fmt: skip
MORE = [(ex, fault) for ex in MORE_CASES for fault in [*MORE_CASES[ex], *COMMON_CASES]]


def expected_pattern(exchange: str, fault: str, url: str) -> tuple[str, str]:
    status, template = {**COMMON_CASES, **MORE_CASES[exchange]}[fault]
    request = MORE_REQUESTS[exchange].format(url=re.escape(url))
    parts = re.split(r"(\{request\}|\{ex\})", template)
    pieces = {"{request}": request, "{ex}": exchange}
    return status, "".join(pieces.get(p, re.escape(p)) for p in parts)


@pytest.mark.parametrize(("exchange", "fault"), MORE)
def test_fault_on_binance_okx_alpaca(
    setup: Setup, mocks: MockThread, exchange: str, fault: str
) -> None:
    setup.settings["timeout"] = TIMEOUT
    mock = mocks.start(exchange)
    balances = (
        {} if exchange == "alpaca" else {"USDT" if exchange == "binance" else "USD": ("100", "0")}
    )
    platform = setup.add("platform", mock, balances, cash="100")
    alice = setup.add("alice", mock, balances, cash="100")
    bob = setup.add("bob", mocks.start("kraken"), BOB_BALANCES)
    config = str(setup.write())
    alice.inject(fault)
    status, pattern = expected_pattern(exchange, fault, mock.url)

    shown = nija("show", "--json", "--config", config)
    assert shown.code == 0, shown
    doc = shown.json()
    conns = connections(doc)
    assert conns[alice.key]["status"] == status
    assert re.fullmatch(pattern, conns[alice.key]["error"]), (conns[alice.key]["error"], pattern)
    assert (conns[platform.key]["status"], conns[platform.key]["balance"]) == ("ok", 100.0)
    assert (conns[bob.key]["status"], conns[bob.key]["balance"]) == ("ok", BOB_VALUE)
    summary = doc["summary"]
    assert (summary["connections_counted"], summary["complete"]) == (2, False)
    health = nija("status", "--json", "--config", config)
    assert health.code == 1 and connections(health.json())[alice.key]["status"] == status


def test_user_report_says_what_its_subtotal_covers(setup: Setup, mocks: MockThread) -> None:
    """`nija user` with a failed connection: its subtotal says it covers 1 of 2 connections."""
    kraken, coinbase = mocks.start("kraken"), mocks.start("coinbase")
    setup.add("platform", kraken, PLATFORM_BALANCES)
    setup.add("alice", kraken, ALICE_BALANCES)
    broken = setup.add("alice", coinbase, BOB_BALANCES)
    config = str(setup.write())
    broken.inject("auth")

    text = nija("user", "alice", "--config", config)
    assert text.code == 0, text
    assert "SUBTOTAL  $30,050.00  (1 of 2 connections counted)" in text.stdout
    doc = nija("user", "alice", "--json", "--config", config).json()
    assert doc["total"] == ALICE_VALUE
    assert (doc["connections_counted"], doc["connections_total"], doc["complete"]) == (1, 2, False)

    broken.clear()
    doc = nija("user", "alice", "--json", "--refresh", "--config", config).json()
    assert (doc["connections_counted"], doc["complete"]) == (2, True)
    text = nija("user", "alice", "--config", config)
    assert "connections counted" not in text.stdout  # nothing to say when all are counted
