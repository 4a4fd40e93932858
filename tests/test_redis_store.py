"""The Redis store beyond the shared contract (tests/test_store_contract.py): Redis down,
killed or back, passwords (never shown), namespaced keys with TTLs and versioned values,
`[store]` in the config, `open_store` by URL, and `nija cache info/clear` on Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import write
from nija_balances.cli.root import app
from nija_balances.config.loader import load_toml
from nija_balances.domain.models import Settings, StoreSettings
from nija_balances.domain.syntax import ConfigError
from nija_balances.store import open_store, redis_link
from nija_balances.store.redis_keys import PREFIX, namespace_id, results_key, wrap
from nija_balances.store.redis_store import RedisStore
from nija_balances.store.sqlite import SqliteStore
from redisserver import RedisServer, free_port, redis_server
from test_cache import T0, Clock, result

SECRET = "s3cret-pa55word-xyz"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis-data" if _mk(tmp_path / "redis-data") else tmp_path) as s:
        yield s


def _mk(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return True


def make(url: str, tmp_path: Path, namespace: str = "ns", **kw: object) -> RedisStore:
    local = SqliteStore(tmp_path / "cache" / "balances.sqlite3", clock=Clock())
    return RedisStore(url, namespace=namespace, fallback=local, clock=Clock(), **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- Redis down


def test_redis_down_falls_back_to_the_local_store_with_one_warning(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    store = make(url, tmp_path)
    store.put("ns", "a/b", result())
    assert store.get("ns", "a/b") == result()  # served by the local store
    store.save_markets("kraken", {"BTC/USD": {}})
    assert store.load_markets("kraken", 60) == {"BTC/USD": {}}
    held = store.flights().try_acquire("acct", 10)
    assert held is not None and store.flights().try_acquire("acct", 10) is None  # local locks
    info = store.info()
    assert info.kind == "redis" and info.entries == 1
    assert info.health is not None and info.health.startswith("cannot be used (unreachable")
    assert len(store.warnings) == 1
    assert store.warnings[0].startswith(f"redis at {url} cannot be used (unreachable")
    assert store.warnings[0].endswith("using the local cache instead")
    # the local store kept it: a later run with Redis still down serves it
    assert make(url, tmp_path).get("ns", "a/b") == result()


def test_redis_killed_mid_run_loses_no_last_good_value(server: RedisServer, tmp_path: Path) -> None:
    store = make(server.url, tmp_path)
    store.put("ns", "a/b", result("1.00"))
    server.stop()
    assert store.get("ns", "a/b") == result("1.00")  # written through to the local store
    store.put("ns", "a/b", result("2.00", fetched_at=T0 + 1))
    assert store.get("ns", "a/b") == result("2.00", fetched_at=T0 + 1)
    assert len(store.warnings) == 1 and "cannot be used" in store.warnings[0]


def test_back_to_redis_when_it_returns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_link, "RETRY_AFTER", 0.0)  # a long-running process, later
    port = free_port()
    store = make(f"redis://127.0.0.1:{port}/0", tmp_path)
    assert store.get("ns", "a/b") is None and len(store.warnings) == 1
    (tmp_path / "data").mkdir()
    server = RedisServer(tmp_path / "data", port).start()
    try:
        store.put("ns", "a/b", result())
        assert server.client().hexists(results_key("ns"), "a/b")  # in Redis again
        assert store.info().health.startswith("ok (redis ")  # type: ignore[union-attr]
    finally:
        server.stop()


# ---------------------------------------------------------------------------- passwords


def test_the_password_comes_from_the_environment_and_is_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    with redis_server(tmp_path / "data", password=SECRET) as server:
        monkeypatch.setenv("NIJA_REDIS_PASSWORD", SECRET)
        good = make(server.url, tmp_path, password_env="NIJA_REDIS_PASSWORD")
        good.put("ns", "a/b", result())
        assert server.client().hexists(results_key("ns"), "a/b")
        assert good.warnings == [] and SECRET not in good.location
        monkeypatch.setenv("NIJA_REDIS_PASSWORD", "wrong")
        wrong = make(server.url, tmp_path, password_env="NIJA_REDIS_PASSWORD")
        assert wrong.get("ns", "a/b") == result()  # the local copy
        assert "password refused" in wrong.warnings[0]
        monkeypatch.delenv("NIJA_REDIS_PASSWORD")
        unset = make(server.url, tmp_path, password_env="NIJA_REDIS_PASSWORD")
        unset.get("ns", "a/b")
        assert "NIJA_REDIS_PASSWORD is not set" in unset.warnings[0]
        for store in (good, wrong, unset):
            assert SECRET not in " ".join([*store.warnings, store.location, str(store.info())])


def test_a_password_in_the_url_is_refused_without_showing_it(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.toml",
        f'[store]\nurl = "redis://user:{SECRET}@host:6379/0"\n[platform.kraken]\n',
    )
    with pytest.raises(ConfigError) as info:
        load_toml(cfg)
    assert SECRET not in str(info.value)
    assert "store.url: the URL holds a password" in str(info.value)
    assert "password_env" in str(info.value) and f"{cfg}:2" in str(info.value)


# ---------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('url = "mongodb://x"', "store.url: unknown store scheme 'mongodb'"),
        ('url = "redis://host:99999/0"', "store.url: not a valid URL"),
        ('url = "redis:///0"', "store.url: expected a host after redis://"),
        ('url = "redis://host/zero"', "store.url: expected a database number"),
        ('url = "sqlite://relative.db"', "store.url: expected sqlite:///ABSOLUTE/PATH"),
        ('url = "redis://h?ssl=1"', "store.url: expected no ?query"),
        ("url = 5", "store.url: expected a store URL, got int"),
        ('password_env = "MY PASS"', "store.password_env: expected a variable name"),
        ('passwd = "x"', "store.passwd: unknown key 'passwd'"),
    ],
)
def test_store_table_problems_name_file_line_and_key(
    tmp_path: Path, table: str, expected: str
) -> None:
    cfg = write(tmp_path / "c.toml", f"[store]\n{table}\n[platform.kraken]\n")
    with pytest.raises(ConfigError) as info:
        load_toml(cfg)
    assert f"{cfg}:2: {expected}" in str(info.value)


def test_store_table_is_read_and_a_redis_store_shares_one_namespace(tmp_path: Path) -> None:
    table = 'url = "rediss://cache.internal:6380/2"\npassword_env = "P"'
    one = load_toml(write(tmp_path / "a" / "c.toml", f"[store]\n{table}\n[platform.kraken]\n"))
    two = load_toml(write(tmp_path / "b" / "c.toml", f"[store]\n{table}\n[platform.kraken]\n"))
    assert one.settings.store == StoreSettings("rediss://cache.internal:6380/2", "P", None)
    assert one.namespace == two.namespace == "default"  # two hosts, one set of entries
    named = load_toml(
        write(tmp_path / "n.toml", '[store]\nnamespace = "desk"\n[platform.kraken]\n')
    )
    assert named.namespace == "desk" and named.settings.store.url is None
    plain = load_toml(write(tmp_path / "p.toml", "[platform.kraken]\n"))
    assert plain.namespace == str((tmp_path / "p.toml").resolve())


def test_open_store_chooses_by_url(tmp_path: Path) -> None:
    assert isinstance(open_store(Settings()), SqliteStore)
    path = tmp_path / "x" / "b.sqlite3"
    chosen = open_store(Settings(store=StoreSettings(url=f"sqlite://{path}")))
    assert isinstance(chosen, SqliteStore) and chosen.path == path
    shared = open_store(Settings(store=StoreSettings(url="redis://h:1/0", namespace="d")))
    assert isinstance(shared, RedisStore) and shared.location == "redis://h:1/0"


# ---------------------------------------------------------------------------- keys


def test_keys_are_namespaced_versioned_and_expire(server: RedisServer, tmp_path: Path) -> None:
    from nija_balances.domain.alerts import Alert, AlertKind
    from nija_balances.domain.history import SyncState
    from test_history_store import fill, flow
    from test_snapshot_store import snap

    store = make(server.url, tmp_path)
    store.put_many("ns", {"a/b": result()}, snapshots=[("a/b", "h", snap(_dt(T0)))])
    store.save_markets("kraken", {"BTC/USD": {}})
    held = store.flights().try_acquire("acct", 30.0)
    store.put_history_page("ns", "a/b", "h", "trades", fills=[fill(1)], flows=[flow(1)], cursor="1")
    store.set_sync_state("ns", "a/b", "h", "flows", SyncState(complete=True))
    store.put_alert("ns", None, Alert(AlertKind.BALANCE_LOW, "alice", None, "firing", _dt(T0)))
    store.put_sink_report("ns", "apprise:x", None)
    store.claim_mark("ns", "report", 600)
    client = server.client()
    ns = f"{PREFIX}ns:{namespace_id('ns')}:"
    keys = sorted(k.decode() for k in client.keys("*"))
    history = ["fills:a/b", "fills-t:a/b", "flows:a/b", "flows-t:a/b", "sync:a/b", "seen:a/b"]
    assert keys == sorted(
        [ns + "name", ns + "results", ns + "snap:a/b", f"{PREFIX}markets:kraken",
         f"{PREFIX}markets", f"{PREFIX}lock:acct", ns + "alerts", ns + "sinks",
         ns + "mark:report", *(ns + h for h in history)]
    )  # fmt: skip
    for value in [*client.hvals(ns + "fills:a/b"), *client.hvals(ns + "sync:a/b"),
                  *client.hvals(ns + "alerts"), *client.hvals(ns + "sinks"),
                  client.get(ns + "mark:report")]:  # fmt: skip
        assert json.loads(value)["v"] == 1
    assert 0 < client.pttl(ns + "mark:report") <= 1_200_000  # the mark outlives its period
    for key in keys:
        assert client.ttl(key) > 0, key  # everything expires
    assert 0 < client.pttl(f"{PREFIX}lock:acct") <= 30_000
    assert client.get(ns + "name") == b"ns"
    assert json.loads(client.hget(ns + "results", "a/b"))["v"] == 1
    client.hset(
        ns + "results", "a/c", wrap({"f": T0, "a": "", "d": "{}"}).replace('"v":1', '"v":99')
    )
    assert store.get("ns", "a/c") is None  # another version: a miss, never misread
    store.flights().release(held)
    assert not client.exists(f"{PREFIX}lock:acct")


def test_a_lock_expires_with_its_lease_and_is_never_released_by_another(
    server: RedisServer, tmp_path: Path
) -> None:
    flights = make(server.url, tmp_path / "host-1").flights()
    other_host = make(server.url, tmp_path / "host-2").flights()
    first = flights.try_acquire("acct", 30.0)
    assert first is not None and other_host.try_acquire("acct", 30.0) is None
    server.client().delete(f"{PREFIX}lock:acct")  # as if it expired ...
    second = other_host.try_acquire("acct", 30.0)  # ... and another host took it
    assert second is not None
    flights.release(first)  # compare-and-delete: not ours any more
    assert not flights.extend(first, 30.0)
    assert server.client().exists(f"{PREFIX}lock:acct")
    other_host.release(second)
    assert not server.client().exists(f"{PREFIX}lock:acct")


def test_clear_removes_only_this_configs_keys(server: RedisServer, tmp_path: Path) -> None:
    mine, theirs = make(server.url, tmp_path, "mine"), make(server.url, tmp_path, "theirs")
    mine.put("mine", "a/b", result())
    theirs.put("theirs", "a/b", result())
    mine.save_markets("kraken", {"BTC/USD": {}})
    assert mine.clear() == 1
    assert not server.client().exists(results_key("mine"))
    assert server.client().hexists(results_key("theirs"), "a/b")
    assert mine.load_markets("kraken", 60) == {"BTC/USD": {}}  # shared by every config


def test_cache_info_and_clear_on_redis(
    server: RedisServer, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write(isolated_home / "c.toml", f'[store]\nurl = "{server.url}"\n[platform.kraken]\n')
    monkeypatch.setenv("NIJA_CONFIG", str(cfg))
    RedisStore(server.url, namespace="default", fallback=SqliteStore()).put(
        "default", "platform/kraken", result()
    )
    runner = CliRunner()
    out = runner.invoke(app, ["cache", "info"]).stdout.splitlines()
    assert out[0] == f"Store:    redis at {server.url}"
    assert out[1].startswith("Health:   ok (redis ") and out[3] == "Entries:  1 balance"
    doc = json.loads(runner.invoke(app, ["cache", "info", "--json"]).stdout)
    assert (doc["store"], doc["location"], doc["entries"]) == ("redis", server.url, 1)
    done = runner.invoke(app, ["cache", "clear"])
    assert done.exit_code == 0 and f"Removed 1 entry from {server.url}" in done.stderr
    assert not server.client().exists(results_key("default"))


def _dt(ts: float):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC)


def test_without_the_redis_client_installed_the_local_store_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "redis", None)  # `import redis` fails
    store = make("redis://127.0.0.1:6379/0", tmp_path)
    store.put("ns", "a/b", result())
    assert store.get("ns", "a/b") == result()
    assert store.warnings == [
        "redis at redis://127.0.0.1:6379/0 cannot be used (the redis client is not installed: "
        'pip install "nija-balances[redis]"); using the local cache instead'
    ]
