"""`nija serve` as a command: it starts offline on the demo, prints where it listens (and a
login link with a token), refuses unsafe or broken options with exit 2, stops cleanly on
SIGINT and SIGTERM, and costs the other commands nothing (its stack is imported by it only)."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nija_balances.cli.root import app

NIJA = [sys.executable, "-m", "nija_balances"]
WEB_STACK = ("starlette", "uvicorn", "jinja2", "prometheus_client", "nija_balances.web")


class Serving:
    """`nija serve ARGS` in a subprocess, its stderr read line by line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*NIJA, "serve", "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.proc.stderr is not None
        stream = self.proc.stderr
        threading.Thread(target=lambda: [self.lines.put(x) for x in stream], daemon=True).start()
        self.url = self.wait_for(r"Dashboard on (http://\S+/)").group(1)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} in {self.seen}") from None
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found

    def get(self, path: str, **headers: str) -> tuple[int, Any, dict[str, str]]:
        request = urllib.request.Request(self.url.rstrip("/") + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                body = response.read().decode()
                status, head = response.status, dict(response.headers)
        except urllib.error.HTTPError as exc:
            body, status, head = exc.read().decode(), exc.code, dict(exc.headers)
        kind = head.get("content-type", "")
        return status, json.loads(body) if kind.startswith("application/json") else body, head

    def ready(self) -> None:
        deadline = 30
        import time

        end = time.monotonic() + deadline
        while not self.get("/healthz")[1]["ready"]:
            assert time.monotonic() < end, "the first refresh did not finish"
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        self.proc.send_signal(sig)
        code = self.proc.wait(20)
        rest = self.proc.stderr.read() if self.proc.stderr else ""  # type: ignore[union-attr]
        return code, "".join(self.seen) + rest


@pytest.fixture
def serving() -> Iterator[Any]:
    started: list[Serving] = []

    def start(*args: str) -> Serving:
        started.append(Serving(*args))
        return started[-1]

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait(10)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_demo_works_offline_and_stops_cleanly(serving: Any, sig: int) -> None:
    server = serving("--demo")
    assert server.url.startswith("http://127.0.0.1:")
    server.ready()
    status, doc, _ = server.get("/api/users")
    assert status == 200 and doc["demo"] is True
    assert [(c["user_id"], c["balance"]) for c in doc["users"]] == [
        ("bob", 2500.0),
        ("alice", 1000.0),
    ]
    status, page, _ = server.get("/users")
    assert status == 200 and "DEMO" in page and "$2,500.00" in page
    assert server.get("/api/portfolio")[1]["summary"]["platform_total"] == 6913.46
    code, stderr = server.stop(sig)
    assert code == 128 + sig, stderr  # as the shell reports a stop by that signal
    assert "Traceback" not in stderr and "error" not in stderr.lower(), stderr


@pytest.mark.slow
def test_serve_with_a_token_file_prints_a_one_time_login_link(serving: Any, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    server = serving("--demo", "--token-file", str(token_file))
    link = server.wait_for(r"Log in once with (http://\S+)").group(1)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert token not in "".join(server.seen)  # the token itself is never printed
    server.ready()
    assert server.get("/api/users")[0] == 401
    assert server.get("/api/users", Authorization=f"Bearer {token}")[0] == 200
    status, _, head = server.get(link.removeprefix(server.url.rstrip("/")))
    assert status == 200 and "HttpOnly" in head["set-cookie"]
    assert server.get(link.removeprefix(server.url.rstrip("/")))[0] == 401  # once
    code, stderr = server.stop()
    assert code == 130, stderr


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["serve", *args])


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.com"])
def test_another_address_needs_a_token(host: str) -> None:
    result = invoke("--demo", "--host", host)
    assert result.exit_code == 2
    assert f"--host {host} is reachable from other machines" in result.stderr
    assert "--token-file" in result.stderr


def test_an_unsafe_or_broken_token_file_is_refused(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s" * 40 + "\n")
    token.chmod(0o644)
    result = invoke("--demo", "--host", "0.0.0.0", "--token-file", str(token))
    assert result.exit_code == 2 and "readable by others (mode 644)" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("interval", ["1", "nan", "inf", "-5"])
def test_the_interval_is_at_least_five_seconds(interval: str) -> None:
    result = invoke("--demo", "--interval", interval)
    assert result.exit_code == 2, result.output


def test_a_port_in_use_is_one_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("--demo", "--port", str(port))
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1 port {port}" in result.stderr


def test_a_bad_config_is_exit_2_before_anything_listens(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[users.alice.kraken]\nexchange = 'krakn'\n")
    result = CliRunner().invoke(app, ["serve", "--config", str(cfg)])
    assert result.exit_code == 2 and "did you mean 'kraken'" in result.stderr


PROBE = """
import sys
from nija_balances.cli import main
sys.argv = ["nija", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("LOADED:" + ",".join(m for m in {stack!r} if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [("show", "--demo", "--json"), ("serve", "--help"), ("--help",)])
def test_the_web_stack_is_imported_by_serve_only(args: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(stack=WEB_STACK), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.stderr.endswith("LOADED:\n"), result.stderr


def test_without_the_web_extra_it_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("starlette", "uvicorn") else real(name, *a),
    )
    result = invoke("--demo")
    assert result.exit_code == 2
    assert "the dashboard needs starlette, uvicorn: pip install 'nija-balances[web]'" in (
        result.stderr
    )
