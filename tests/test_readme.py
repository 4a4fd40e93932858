"""The README's commands can be pasted, and the output it shows is what the tool prints."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from conftest import REPO
from nija_balances.cli.root import app

README = (REPO / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def invoke(*args: str, columns: str = "100") -> str:
    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": columns})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_no_pasted_line_pipes_into_another_command() -> None:
    for block in blocks("bash"):
        for line in block.splitlines():
            command = line.split("#")[0]
            assert not re.search(r"\|\s*nija\b", command), line  # `a | nija clear` runs clear


def test_the_json_example_has_the_documents_keys() -> None:
    (example,) = [b for b in blocks("json") if '"balances"' in b]
    shown = json.loads(example)
    real = json.loads(invoke("show", "--demo", "--json"))
    assert list(shown) == list(real)
    assert list(shown["summary"]) == list(real["summary"])
    assert list(shown["connections"][0]) == list(real["connections"][0])
    assert shown["schema_version"] == real["schema_version"]
    assert shown["timestamp"].endswith("+00:00") and shown["demo"] is False  # real data


def test_the_demo_report_shown_is_the_one_printed() -> None:
    (shown,) = [b for b in blocks("text") if "NIJA USER ACCOUNT BALANCES" in b]
    printed = invoke("show", "--demo", columns="80")

    def timeless(text: str) -> str:
        return re.sub(r"Generated: [\d: -]+\d", "Generated: <time>", text)

    assert timeless(shown) == timeless(printed)
