"""The on-disk store: round trips, markets, clear/info, recovery, failure modes, processes."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nija_balances.domain.models import AssetValue, StoredResult, Valuation
from nija_balances.store.codec import MarketInfo, StoreInfo, decode, encode
from nija_balances.store.sqlite import SqliteStore
from nija_balances.store.sqlite_schema import SCHEMA_VERSION

T0 = 1_768_924_800.0  # 2026-01-20T16:00:00Z


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def result(value: str = "100.00", fetched_at: float = T0, exchange: str = "kraken") -> StoredResult:
    btc = AssetValue("BTC", Decimal("0.5"), Decimal("0.25"), Decimal("0.75"), None, None)
    usd = AssetValue("USD", Decimal(value), Decimal(0), Decimal(value), Decimal(1), Decimal(value))
    valuation = Valuation(Decimal(value), Decimal(value), (usd, btc), ("BTC",))
    return StoredResult(exchange, valuation, fetched_at, latency_s=0.125)


def shape(r: StoredResult) -> Any:
    """Everything in a result, with Decimals and floats as text: equal shapes = exact round trip."""
    v = r.valuation
    assets = [
        (a.currency, *(str(x) for x in (a.free, a.used, a.total, a.price, a.value)))
        for a in v.assets
    ]
    return (
        r.exchange,
        repr(r.fetched_at),
        repr(r.latency_s),
        str(v.cash),
        str(v.equity),
        assets,
        v.unpriced,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> SqliteStore:
    return SqliteStore(tmp_path / "cache" / "balances.sqlite3", clock=clock)


# ---------------------------------------------------------------------------- basics


def test_default_path_follows_nija_balances_home(isolated_home: Path) -> None:
    assert SqliteStore().path == isolated_home / "cache" / "balances.sqlite3"


def test_miss_does_not_create_the_file(store: SqliteStore) -> None:
    assert store.get("default", "platform/kraken") is None
    assert store.get_many("default", ["a/b", "c/d"]) == {}
    assert store.load_markets("kraken", 3600) is None
    assert store.clear() == 0
    assert store.info() == StoreInfo(store.path, 0, 0, (), None, None)
    assert not store.path.exists()
    assert store.warnings == []


def test_put_then_get_is_a_hit_per_namespace(store: SqliteStore, tmp_path: Path) -> None:
    store.put("default", "platform/kraken", result())
    assert store.get("default", "platform/kraken") == result()
    assert store.get("default", "platform/coinbase") is None
    assert store.get("other", "platform/kraken") is None
    store.close()
    again = SqliteStore(store.path)  # a new process sees it
    assert again.get("default", "platform/kraken") == result()
    assert store.warnings == again.warnings == []


def test_newest_result_is_kept(store: SqliteStore, clock: Clock) -> None:
    clock.now = T0 + 30  # every write happens after the fetches it stores
    store.put("ns", "a/b", result("2.00", fetched_at=T0 + 10))
    store.put("ns", "a/b", result("1.00", fetched_at=T0))  # a slower process, older fetch
    assert store.get("ns", "a/b") == result("2.00", fetched_at=T0 + 10)
    store.put("ns", "a/b", result("3.00", fetched_at=T0 + 20))
    assert store.get("ns", "a/b") == result("3.00", fetched_at=T0 + 20)


decimals = st.decimals(allow_nan=True, allow_infinity=True)
assets = st.builds(
    AssetValue, st.text(), decimals, decimals, decimals, st.none() | decimals, st.none() | decimals
)
results = st.builds(
    StoredResult,
    st.text(),
    st.builds(
        Valuation, decimals, decimals, st.tuples(assets, assets) | st.tuples(), st.tuples(st.text())
    ),
    st.floats(allow_nan=False),
    st.none() | st.floats(min_value=0, allow_nan=False),
)


@given(results)
def test_codec_round_trip_is_exact(r: StoredResult) -> None:
    assert shape(decode(encode(r))) == shape(r)


@settings(max_examples=50)
@given(r=results, key=st.text(st.characters(exclude_categories=("Cs",))))
def test_store_round_trip_is_exact(
    tmp_path_factory: pytest.TempPathFactory, r: StoredResult, key: str
) -> None:
    s = SqliteStore(tmp_path_factory.getbasetemp() / "roundtrip" / "balances.sqlite3")
    ns = uuid.uuid4().hex  # the store keeps the newest result of a key: one namespace per example
    s.put(ns, key, r)
    assert shape(s.get(ns, key) or result()) == shape(r)
    assert s.get_many(ns, [key, key + "x"]).keys() == {key}
    s.close()


def test_get_many_is_one_query_and_put_many_one_transaction(store: SqliteStore) -> None:
    store.put("ns", "warm/up", result())
    statements: list[str] = []
    assert store._conn is not None
    store._conn.set_trace_callback(statements.append)
    store.put_many("ns", {f"u{i}/k": result(str(i)) for i in range(20)})
    assert [s for s in statements if s.startswith(("BEGIN", "COMMIT"))] == [
        "BEGIN IMMEDIATE",
        "COMMIT",
    ]
    statements.clear()
    got = store.get_many("ns", ["u3/k", "u3/k", "u7/k", "nope/x"])
    assert got == {"u3/k": result("3"), "u7/k": result("7")}
    assert len([s for s in statements if s.startswith("SELECT")]) == 1


def test_get_many_handles_more_keys_than_one_statement_takes(store: SqliteStore) -> None:
    store.put_many("ns", {f"u{i}/k": result(fetched_at=T0 + i) for i in range(1200)})
    got = store.get_many("ns", [f"u{i}/k" for i in range(1300)])
    assert len(got) == 1200 and got["u1199/k"].fetched_at == T0 + 1199


def test_unreadable_entry_is_a_miss(store: SqliteStore) -> None:
    store.put("ns", "a/b", result())
    assert store._conn is not None
    store._conn.execute("UPDATE balances SET data = '{\"oops\": 1}'")
    assert store.get("ns", "a/b") is None


def test_threads_share_one_store(store: SqliteStore) -> None:
    def work(t: int) -> None:
        for i in range(25):
            store.put("ns", f"t{t}/{i}", result(str(i)))
            assert store.get("ns", f"t{t}/{i}") == result(str(i))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert store.info().entries == 100 and store.warnings == []


# ---------------------------------------------------------------------------- markets, clear, info


def test_markets_expire_after_max_age(store: SqliteStore, clock: Clock) -> None:
    markets = {"BTC/USD": {"id": "XXBTZUSD", "precision": {"amount": 1e-8}, "active": True}}
    store.save_markets("kraken", markets)
    clock.now += 3600
    assert store.load_markets("kraken", 3600) == markets
    clock.now += 1
    assert store.load_markets("kraken", 3600) is None
    assert store.load_markets("binance", 3600) is None
    store.save_markets("kraken", {"ETH/USD": {}})
    assert store.load_markets("kraken", 0) == {"ETH/USD": {}}


def test_markets_that_are_not_json_are_not_saved(store: SqliteStore) -> None:
    store.save_markets("kraken", {"BTC/USD": {"x": object()}})
    store.save_markets("kraken", {"BTC/USD": {"x": object()}})
    assert store.load_markets("kraken", 3600) is None
    assert len(store.warnings) == 1 and store.warnings[0].startswith(
        "markets of kraken not cached:"
    )


def test_clear_removes_everything_and_counts(store: SqliteStore, clock: Clock) -> None:
    store.put_many("a", {"x/1": result(), "x/2": result()})
    store.put("b", "x/1", result())
    store.save_markets("kraken", {"BTC/USD": {}})
    assert store.clear() == 4
    assert store.get_many("a", ["x/1", "x/2"]) == {} and store.load_markets("kraken", 1e9) is None
    assert store.clear() == 0
    store.put("a", "x/1", result())  # still usable
    assert store.get("a", "x/1") == result()


def test_info_describes_entries_and_markets(store: SqliteStore, clock: Clock) -> None:
    store.put_many("a", {"x/1": result(fetched_at=T0 - 300), "x/2": result(fetched_at=T0 - 5)})
    store.put("b", "x/1", result(fetched_at=T0 - 60))
    store.save_markets("kraken", {"BTC/USD": {}, "ETH/USD": {}})
    info = store.info()
    assert (info.path, info.entries, info.oldest, info.newest) == (store.path, 3, T0 - 300, T0 - 5)
    assert info.markets == (MarketInfo("kraken", T0, 2, len('{"BTC/USD":{},"ETH/USD":{}}')),)
    assert info.size_bytes == sum(
        os.stat(f"{store.path}{s}").st_size
        for s in ("", "-wal", "-shm")
        if os.path.exists(f"{store.path}{s}")
    )


# ---------------------------------------------------------------------------- damage and failures


def _filled(store: SqliteStore) -> bytes:
    store.put_many("ns", {f"u{i}/k": result(str(i)) for i in range(300)})
    store.save_markets("kraken", {"BTC/USD": {"id": "x" * 5000}})
    store.close()
    return store.path.read_bytes()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: b"this is not a database\n" * 40, id="garbage"),
        pytest.param(lambda data: os.urandom(8192), id="random"),
        pytest.param(lambda data: data[:50], id="truncated-header"),
        pytest.param(lambda data: data[:8192], id="truncated-2-pages"),
        pytest.param(lambda data: data[: len(data) // 2], id="truncated-half"),
    ],
)
def test_corrupt_file_is_moved_aside_and_rebuilt(store: SqliteStore, damage: Any) -> None:
    bad = damage(_filled(store))
    store.path.write_bytes(bad)
    fresh = SqliteStore(store.path, clock=Clock(T0))
    assert fresh.get_many("ns", [f"u{i}/k" for i in range(300)]) == {}
    aside = store.path.with_name("balances.sqlite3.corrupt-20260120T160000Z")
    assert len(fresh.warnings) == 1
    assert fresh.warnings[0].startswith(f"cache at {store.path} was corrupt (")
    assert fresh.warnings[0].endswith(f"); moved to {aside} and rebuilt")
    assert aside.read_bytes() == bad
    fresh.put("ns", "a/b", result())
    assert fresh.get("ns", "a/b") == result() and len(fresh.warnings) == 1


def test_second_corruption_gets_its_own_name(store: SqliteStore) -> None:
    for _ in range(2):
        store.path.parent.mkdir(parents=True, exist_ok=True)
        store.path.write_bytes(b"garbage" * 100)
        s = SqliteStore(store.path, clock=Clock(T0))
        s.put("ns", "a/b", result())
        s.close()
    names = sorted(p.name for p in store.path.parent.glob("*.corrupt-*"))
    assert names == [
        "balances.sqlite3.corrupt-20260120T160000Z",
        "balances.sqlite3.corrupt-20260120T160000Z-1",
    ]


def _set_version(path: Path, value: str, extra: str = "") -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (value,))
        if extra:
            db.execute(extra)
    db.close()


@pytest.mark.parametrize("version", ["0", "banana"])
def test_older_or_unknown_schema_is_rebuilt_quietly(store: SqliteStore, version: str) -> None:
    store.put("ns", "a/b", result())
    store.close()
    _set_version(store.path, version, "CREATE TABLE leftovers (x)")
    s = SqliteStore(store.path)
    assert s.get("ns", "a/b") is None and s.warnings == []
    s.put("ns", "a/b", result())
    assert s.get("ns", "a/b") == result()
    tables = {r[0] for r in s._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}  # type: ignore[union-attr]
    assert tables == {
        "meta", "balances", "markets", "snapshots", "fills", "flows", "sync_state",
        "alerts", "alert_sinks", "marks", "replays",
    }  # fmt: skip


def test_foreign_sqlite_file_is_rebuilt(store: SqliteStore) -> None:
    store.path.parent.mkdir(parents=True)
    with sqlite3.connect(store.path) as db:
        db.execute("CREATE TABLE something (x)")
    db.close()
    store.put("ns", "a/b", result())
    assert store.get("ns", "a/b") == result() and store.warnings == []


def test_newer_schema_is_left_alone(store: SqliteStore) -> None:
    store.put("ns", "a/b", result())
    store.close()
    _set_version(store.path, "99")
    s = SqliteStore(store.path)
    assert s.get("ns", "a/b") is None
    s.put("ns", "c/d", result())
    assert s.clear() == 0
    assert s.warnings == [
        f"cache at {store.path} was written by a newer nija-balances "
        f"(schema 99, this one reads {SCHEMA_VERSION}); balances are not cached"
    ]
    s.close()
    with sqlite3.connect(
        store.path
    ) as db:  # untouched: the newer version's entries are still there
        assert db.execute("SELECT key FROM balances").fetchall() == [("a/b",)]
        assert db.execute("SELECT value FROM meta").fetchall() == [("99",)]
    db.close()


def test_unusable_location_never_raises_and_warns_once(tmp_path: Path) -> None:
    (tmp_path / "home").write_text("a file where the cache directory should be")
    s = SqliteStore(tmp_path / "home" / "cache" / "balances.sqlite3")
    s.put("ns", "a/b", result())
    s.put_many("ns", {"c/d": result()})
    s.save_markets("kraken", {})
    assert s.get("ns", "a/b") is None and s.get_many("ns", ["a/b"]) == {}
    assert s.load_markets("kraken", 1e9) is None and s.clear() == 0 and s.info().entries == 0
    assert len(s.warnings) == 1
    assert s.warnings[0].startswith(f"cache at {s.path} cannot be opened (")
    assert s.warnings[0].endswith("); not caching")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores modes")
def test_read_only_directory_never_raises(tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir(mode=0o500)
    try:
        s = SqliteStore(tmp_path / "ro" / "balances.sqlite3")
        s.put("ns", "a/b", result())
        assert s.get("ns", "a/b") is None
        assert len(s.warnings) == 1 and "cannot be opened" in s.warnings[0]
    finally:
        (tmp_path / "ro").chmod(0o700)


def test_locked_beyond_busy_timeout_skips_writes_but_reads(tmp_path: Path) -> None:
    path = tmp_path / "balances.sqlite3"
    s = SqliteStore(path, busy_timeout=0.05)
    s.put("ns", "a/b", result("1.00"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
    try:
        s.put("ns", "a/b", result("2.00", fetched_at=T0 + 1))
        s.put("ns", "c/d", result())
        assert s.get("ns", "a/b") == result("1.00")  # WAL: readers are not blocked
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert s.warnings == [
        f"cache at {path} is locked by another process (waited 0.05 s); write skipped"
    ]
    s.put("ns", "c/d", result())
    assert s.get("ns", "c/d") == result()


def test_file_replaced_under_an_open_store_is_reopened(store: SqliteStore) -> None:
    store.put("ns", "a/b", result())
    for suffix in ("", "-wal", "-shm"):
        os.remove(f"{store.path}{suffix}")  # e.g. another process moved it aside
    store.put("ns", "c/d", result())
    assert SqliteStore(store.path).get_many("ns", ["a/b", "c/d"]) == {"c/d": result()}


def test_modes_are_private(tmp_path: Path, clock: Clock) -> None:
    old = os.umask(0o022)
    try:
        s = SqliteStore(tmp_path / "home" / "cache" / "balances.sqlite3", clock=clock)
        s.put("ns", "a/b", result())
        s.close()
        s.path.write_bytes(b"garbage" * 100)  # and once more after a recovery
        SqliteStore(s.path, clock=clock).put("ns", "a/b", result())
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "home").rglob("*")}
    assert modes == {
        "cache": 0o700,
        "balances.sqlite3": 0o600,
        "balances.sqlite3-wal": 0o600,
        "balances.sqlite3-shm": 0o600,
        "balances.sqlite3.lock": 0o600,
        "balances.sqlite3.corrupt-20260120T160000Z": 0o600,
    }
    assert stat.S_IMODE((tmp_path / "home").stat().st_mode) == 0o700


def test_import_is_cheap() -> None:
    heavy = ("ccxt", "rich", "typer", "platformdirs", "aiohttp")
    code = (
        f"import sys, nija_balances.store.sqlite; print([m for m in {heavy} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------- several processes

WORKER = r"""
import json, sys
from decimal import Decimal
from pathlib import Path
from nija_balances.store.sqlite import SqliteStore
from nija_balances.domain.models import AssetValue, StoredResult, Valuation

path, role, name = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
n, writers = int(sys.argv[4]), int(sys.argv[5])

def result(i):
    d = Decimal(i) / 100
    usd = AssetValue("USD", d, Decimal(0), d, Decimal(1), d)
    return StoredResult("paper", Valuation(d, d, (usd,)), float(i))

store = SqliteStore(path)
print("ready", flush=True)
sys.stdin.readline()  # start together
seen = []
if role == "writer":
    for i in range(n):
        store.put("ns", f"{name}/{i}", result(i))
        if i % 10 == 9:
            store.put_many("ns", {f"{name}/m{j}": result(j) for j in range(i - 9, i + 1)})
    store.save_markets(name, {"A/B": {"id": name}})
else:
    keys = [f"w{w}/{i}" for w in range(writers) for i in range(n)]
    for _ in range(n):
        got = store.get_many("ns", keys)
        assert all(r == result(int(k.split("/")[1])) for k, r in got.items())
        seen.append(len(got))
print(json.dumps({"warnings": store.warnings, "seen": seen}), flush=True)
"""


def _processes(path: Path, writers: int, readers: int, n: int) -> list[dict[str, Any]]:
    roles = [("writer", f"w{i}") for i in range(writers)] + [
        ("reader", f"r{i}") for i in range(readers)
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path), role, name, str(n), str(writers)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for role, name in roles
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline() == "ready\n"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs)
    return [json.loads(out) for out in outputs]


@pytest.mark.slow
def test_several_processes_write_at_once_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "balances.sqlite3"  # they also race to create the file
    reports = _processes(path, writers=4, readers=0, n=300)
    assert [r["warnings"] for r in reports] == [[]] * 4
    s = SqliteStore(path)
    keys = [f"w{w}/{p}{i}" for w in range(4) for p in ("", "m") for i in range(300)]
    got = s.get_many("ns", keys)
    assert sorted(got) == sorted(keys)
    assert all(got[k].fetched_at == float(k.split("/")[1].lstrip("m")) for k in keys)
    assert [m.exchange for m in s.info().markets] == ["w0", "w1", "w2", "w3"]


@pytest.mark.slow
def test_readers_run_during_writes(tmp_path: Path) -> None:
    path = tmp_path / "balances.sqlite3"
    SqliteStore(path).put(
        "ns",
        "w0/0",
        StoredResult(
            "paper",
            Valuation(
                Decimal(0),
                Decimal(0),
                (AssetValue("USD", Decimal(0), Decimal(0), Decimal(0), Decimal(1), Decimal(0)),),
            ),
            0.0,
        ),
    )
    reports = _processes(path, writers=3, readers=3, n=100)
    assert [r["warnings"] for r in reports] == [[]] * 6
    for r in reports[3:]:
        assert len(r["seen"]) == 100 and r["seen"] == sorted(r["seen"])  # never goes backwards
    assert (
        len(SqliteStore(path).get_many("ns", [f"w{w}/{i}" for w in range(3) for i in range(100)]))
        == 300
    )


# ---------------------------------------------------------------------------- waiting under load
#
# The peers below are other processes doing what `nija` processes do to the store on a busy
# host: committing one write after another, closing last (a checkpoint under an exclusive
# lock), rebuilding a corrupt file. Their durations are the load under test, not waits.

PEER = r"""
import select, sqlite3, sys, time
path, kind, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
db = sqlite3.connect(path, isolation_level=None, timeout=30)
if kind == "committing":  # one write after another, each holding the write lock ~ms
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end or n == 0:
        db.execute("BEGIN IMMEDIATE")
        rows = [("peer", f"k{i}", float(n), "{}") for i in range(300)]
        db.executemany("INSERT OR REPLACE INTO balances VALUES (?, ?, ?, ?)", rows)
        db.execute("COMMIT")
        n += 1
        if n == 1:
            print("busy", flush=True)
    print(n, flush=True)
elif kind == "stuck":  # a write that does not finish until the test says so
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE meta SET value = value")
    print("busy", flush=True)
    select.select([sys.stdin], [], [], 60)
    db.execute("ROLLBACK")
elif kind == "exclusive":  # the last process to close checkpoints under an exclusive lock
    db.execute("PRAGMA locking_mode = EXCLUSIVE")
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE meta SET value = value")
    db.execute("COMMIT")
    print("busy", flush=True)
    select.select([sys.stdin], [], [], seconds)
db.close()
"""


def _peer(path: Path, kind: str, seconds: float = 60.0) -> subprocess.Popen[str]:
    """A peer process, once it holds or keeps taking the lock."""
    proc = subprocess.Popen(
        [sys.executable, "-c", PEER, str(path), kind, str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "busy\n"
    return proc


def test_a_write_waits_as_long_as_other_processes_keep_writing(tmp_path: Path) -> None:
    """Busy is not stuck: while other processes finish writes, a write keeps waiting (here
    2 s of commits against a 0.3 s `busy_timeout`); it gives up only when no write finishes."""
    path = tmp_path / "balances.sqlite3"
    s = SqliteStore(path, busy_timeout=0.3)
    s.put("ns", "a/b", result("1.00"))
    peer = _peer(path, "committing", 2.0)
    s.put("ns", "a/b", result("2.00", fetched_at=T0 + 1))
    commits = int(peer.communicate(timeout=60)[0])
    assert commits > 1 and s.warnings == []
    assert SqliteStore(path).get("ns", "a/b") == result("2.00", fetched_at=T0 + 1)


def test_reads_wait_out_a_transient_lock_even_after_a_write_gave_up(tmp_path: Path) -> None:
    """`busy_timeout` bounds a write's wait. A read waits for a lock that is only passing
    through (a process closing last, checkpointing under an exclusive lock; one rebuilding
    the file) up to READ_WAIT, whatever a write of the same store gave up on before."""
    path = tmp_path / "balances.sqlite3"
    s = SqliteStore(path, busy_timeout=0.2)
    s.put("ns", "a/b", result("1.00"))
    stuck = _peer(path, "stuck")
    s.put("ns", "c/d", result())  # gives up: no write finishes
    stuck.communicate("release\n", timeout=30)
    s.close()
    closing = _peer(path, "exclusive", 1.0)  # holds the exclusive lock for 1 s
    assert s.get("ns", "a/b") == result("1.00")
    closing.communicate(timeout=30)
    assert s.warnings == [
        f"cache at {path} is locked by another process (waited 0.2 s); write skipped"
    ]


def test_a_markets_write_never_waits_long_nor_warns(tmp_path: Path) -> None:
    """Markets are written while a refresh is under way (its timeouts running): when the
    store is busy they are skipped after a short wait, quietly (they are fetched again next
    time); the balances written after the refresh wait their full time and say so."""
    path = tmp_path / "balances.sqlite3"
    s = SqliteStore(path, busy_timeout=2.0)
    s.put("ns", "a/b", result("1.00"))
    stuck = _peer(path, "stuck")
    try:
        s.save_markets("kraken", {"BTC/USD": {}})
        s.save_markets("binance", {"BTC/USDT": {}})
        assert s.warnings == []
        s.put("ns", "a/b", result("2.00", fetched_at=T0 + 1))
    finally:
        stuck.communicate("release\n", timeout=30)
    assert s.warnings == [
        f"cache at {path} is locked by another process (waited 2 s); write skipped"
    ]
    assert s.load_markets("kraken", 1e9) is None  # skipped, not half-written
    s.save_markets("kraken", {"BTC/USD": {}})  # free again: written
    assert s.load_markets("kraken", 1e9) == {"BTC/USD": {}}


SWAPPER = r"""
import select, sys
from pathlib import Path
from nija_balances.store.sqlite import SqliteStore
from test_cache import result

store = SqliteStore(Path(sys.argv[1]))
print("busy", flush=True)
n = 0
while not select.select([sys.stdin], [], [], 0)[0] or n == 0:
    store.put("ns", "swapper/x", result())
    store._recover("rebuilt by the test")  # what a process that met a corrupt file does
    n += 1
print(n, flush=True)
"""

CHURN = r"""
import json, sys
from pathlib import Path
from nija_balances.store.sqlite import SqliteStore
from test_cache import result

path, name, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
warnings = []
for i in range(n):  # one short-lived `nija` process after another
    store = SqliteStore(path)
    store.put("ns", f"{name}/{i}", result(str(i)))
    store.get_many("ns", [f"{name}/{i}", "swapper/x"])
    store.save_markets(name, {"A/B": {}})
    store.close()
    warnings += store.warnings
print(json.dumps(warnings), flush=True)
"""


@pytest.mark.slow
def test_a_store_rebuilt_by_another_process_never_fails_this_one(tmp_path: Path) -> None:
    """While another process moves the file aside and builds a new one, over and over,
    processes using the store see no error at all: no `disk I/O error`, no `readonly`,
    no `locked`. (A rebuild loses what the old file held; that is what rebuilding is.)"""
    path = tmp_path / "balances.sqlite3"
    SqliteStore(path).put("ns", "a/b", result())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    swapper = subprocess.Popen(
        [sys.executable, "-c", SWAPPER, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert swapper.stdout is not None and swapper.stdout.readline() == "busy\n"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CHURN, str(path), f"w{i}", "60"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(3)
    ]
    reports = [json.loads(w.communicate(timeout=300)[0]) for w in workers]
    rebuilt = int(swapper.communicate("stop\n", timeout=120)[0])
    assert rebuilt >= 10  # the file really was replaced again and again meanwhile
    assert reports == [[], [], []]


def test_a_remembered_failure_round_trips(tmp_path: Path) -> None:
    from nija_balances.store.codec import decode, encode

    value = Valuation(Decimal("1.00"), Decimal("1.00"), ())
    failed = StoredResult(
        "kraken", value, 10.0, 0.2, failure="auth_failed: key rejected", failed_at=20.5
    )
    assert decode(encode(failed)) == failed
    assert decode(encode(StoredResult("kraken", value, 10.0))).failure is None


# ---------------------------------------------------------------------------- whose store it is

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
OTHER_UID = 1000  # as root, a file chowned to this uid is "another user's"
as_root = pytest.mark.skipif(not IS_ROOT, reason="giving a file to another user needs root")


def _ours(tmp_path: Path) -> Path:
    """A store of ours holding a/b = 1.00, in a private directory; returns its path."""
    path = tmp_path / "cache" / "balances.sqlite3"
    with SqliteStore(path) as s:
        s.put("ns", "a/b", result("1.00"))
    return path


def _world(tmp_path: Path) -> Path:
    """A directory like /tmp: mode 1777, owned by another user (or by us when not root)."""
    world = tmp_path / "world"
    world.mkdir()
    world.chmod(0o1777)
    if IS_ROOT:
        os.chown(world, OTHER_UID, OTHER_UID)
    return world


def _distrust(reason: str) -> str:
    return f"is not trusted ({reason})"


def _file_of_another_user(path: Path, tmp_path: Path) -> str:
    os.chown(path, OTHER_UID, OTHER_UID)
    return _distrust(f"the file is owned by uid {OTHER_UID}, not by you")


def _file_writable_by_others(path: Path, tmp_path: Path) -> str:
    path.chmod(0o666)
    return _distrust("the file is writable by other users (mode 666)")


def _file_writable_by_group(path: Path, tmp_path: Path) -> str:
    path.chmod(0o620)
    return _distrust("the file is writable by other users (mode 620)")


def _wal_of_another_user(path: Path, tmp_path: Path) -> str:
    Path(f"{path}-wal").write_bytes(b"")  # planted beside the store
    os.chown(f"{path}-wal", OTHER_UID, OTHER_UID)
    return _distrust(f"{path.name}-wal is owned by uid {OTHER_UID}, not by you")


def _directory_of_another_user(path: Path, tmp_path: Path) -> str:
    os.chown(path.parent, OTHER_UID, OTHER_UID)
    return _distrust(f"its directory {path.parent} is owned by uid {OTHER_UID}, not by you")


def _directory_writable_by_others(path: Path, tmp_path: Path) -> str:
    path.parent.chmod(0o1777)
    return _distrust(f"its directory {path.parent} is writable by other users (mode 1777)")


def _directory_writable_by_group(path: Path, tmp_path: Path) -> str:
    path.parent.chmod(0o770)
    return _distrust(f"its directory {path.parent} is writable by other users (mode 770)")


def _directory_linked_into_a_world_writable_place(path: Path, tmp_path: Path) -> str:
    world = _world(tmp_path)
    for p in path.parent.iterdir():  # the store and its lock file
        os.replace(p, world / p.name)  # the store now lives in the shared place
    path.parent.rmdir()
    path.parent.symlink_to(world)
    why = (
        f"is owned by uid {OTHER_UID}, not by you"
        if IS_ROOT
        else "is writable by other users (mode 1777)"
    )
    return _distrust(f"its directory {path.parent} (a link to {world}) {why}")


def _directory_linked_to_a_shared_place_of_ours(path: Path, tmp_path: Path) -> str:
    shared = tmp_path / "shared"  # like /tmp seen by root: ours, but everyone writes in it
    shared.mkdir()
    shared.chmod(0o1777)
    for p in path.parent.iterdir():  # the store and its lock file
        os.replace(p, shared / p.name)
    path.parent.rmdir()
    path.parent.symlink_to(shared)
    why = "is writable by other users (mode 1777)"
    return _distrust(f"its directory {path.parent} (a link to {shared}) {why}")


def _not_a_regular_file(path: Path, tmp_path: Path) -> str:
    path.unlink()
    os.mkfifo(path, 0o600)  # reading it would wait forever
    return f"cannot be opened ({path} is not a regular file)"


UNTRUSTED = [
    pytest.param(_file_of_another_user, marks=as_root, id="file-of-another-user"),
    pytest.param(_file_writable_by_others, id="file-writable-by-others"),
    pytest.param(_file_writable_by_group, id="file-writable-by-group"),
    pytest.param(_wal_of_another_user, marks=as_root, id="wal-of-another-user"),
    pytest.param(_directory_of_another_user, marks=as_root, id="directory-of-another-user"),
    pytest.param(_directory_writable_by_others, id="directory-writable-by-others"),
    pytest.param(_directory_writable_by_group, id="directory-writable-by-group"),
    pytest.param(_directory_linked_into_a_world_writable_place, id="directory-linked-to-1777"),
    pytest.param(_directory_linked_to_a_shared_place_of_ours, id="directory-linked-to-our-1777"),
    pytest.param(_not_a_regular_file, id="not-a-regular-file"),
]


@pytest.mark.parametrize("spoil", UNTRUSTED)
def test_a_store_others_could_have_written_is_refused(tmp_path: Path, spoil: Any) -> None:
    """Its values may be planted: the store is not used at all (reads miss, writes are
    dropped, nothing is moved or changed), and one warning says why."""
    path = _ours(tmp_path)
    reason = spoil(path, tmp_path)
    files = {p: p.lstat() for p in path.parent.iterdir() if not p.is_fifo()}
    s = SqliteStore(path)
    assert s.get("ns", "a/b") is None
    s.put("ns", "a/b", result("2.00", fetched_at=T0 + 1))
    s.save_markets("kraken", {})
    assert s.clear() == 0 and s.info().entries == 0 and s.load_markets("kraken", 1e9) is None
    assert s.available is False
    assert s.warnings == [f"cache at {path} {reason}; not caching"]
    assert {p: p.lstat() for p in path.parent.iterdir() if not p.is_fifo()} == files
    s.close()


def test_a_store_directory_we_create_in_a_shared_directory_is_used(tmp_path: Path) -> None:
    """`NIJA_BALANCES_HOME=/tmp/...`: /tmp itself is 1777 and not ours, but the directory
    the store creates in it is (0700), and that is the one that counts."""
    for path in (
        _world(tmp_path) / "home" / "cache" / "balances.sqlite3",
        tmp_path / "world" / "cache" / "balances.sqlite3",
    ):
        s = SqliteStore(path)
        s.put("ns", "a/b", result())
        assert s.get("ns", "a/b") == result() and s.warnings == []
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        s.close()


def test_a_store_directory_linked_to_a_private_directory_of_ours_is_used(tmp_path: Path) -> None:
    private = tmp_path / "elsewhere"
    private.mkdir(mode=0o700)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "cache").symlink_to(private)
    s = SqliteStore(tmp_path / "home" / "cache" / "balances.sqlite3")
    s.put("ns", "a/b", result())
    assert s.get("ns", "a/b") == result() and s.warnings == []
    assert (private / "balances.sqlite3").exists()
