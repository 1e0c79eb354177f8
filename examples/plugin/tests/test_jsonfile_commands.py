"""``talk jsonfile``, added to a command line through the plugin's hook."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import click
import pytest
from click.testing import CliRunner

from talk_jsonfile import JsonFileConnector, JsonFolder


@pytest.fixture
def cli(jsonfile_plugin: ModuleType) -> click.Group:
    group = click.Group("talk")
    jsonfile_plugin.register_commands(cli=group)
    return group


def run(cli: click.Group, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_set_adds_and_changes_records_that_talk_then_reads(cli: click.Group,
                                                           tmp_path: Path) -> None:
    folder = str(tmp_path)
    connector = JsonFileConnector(JsonFolder(tmp_path))
    assert run(cli, "jsonfile", "set", folder, "companies", "name=Acme AS", "country=no") == (
        0, "added companies 1\n")
    cursor = [p.cursor for p in connector.read("companies", None)][-1]
    assert run(cli, "jsonfile", "set", folder, "companies", "--id", "1", "city=Oslo",
               "country=") == (0, "changed companies 1\n")
    [changed] = [e for p in connector.read("companies", cursor) for e in p.entities]
    assert changed.properties == {"name": "Acme AS", "country": None, "city": "Oslo"}
    code, out = run(cli, "jsonfile", "show", folder, "companies")
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"id": "1", "name": "Acme AS", "country": None, "city": "Oslo"}]


def test_delete_leaves_a_tombstone_for_talk(cli: click.Group, tmp_path: Path) -> None:
    run(cli, "jsonfile", "set", str(tmp_path), "contacts", "name=Kari")
    assert run(cli, "jsonfile", "delete", str(tmp_path), "contacts", "1") == (
        0, "deleted contacts 1\n")
    [gone] = [e for p in JsonFileConnector(JsonFolder(tmp_path)).read("contacts", None)
              for e in p.entities]
    assert gone.id == "1" and gone.deleted


@pytest.mark.parametrize(("args", "message"), [
    (["set", "companies", "colour=red"],
     "'colour=red': expected FIELD=VALUE with FIELD one of city, country, email"),
    (["set", "companies", "name"], "'name': expected FIELD=VALUE"),
    (["set", "companies", "--id", "7", "name=X"], "companies has no record 7"),
    (["delete", "contacts", "7"], "contacts has no record 7"),
    (["show", "orders"], "'orders' is not one of"),
])
def test_mistakes_are_named(cli: click.Group, tmp_path: Path, args: list[str],
                            message: str) -> None:
    code, out = run(cli, "jsonfile", args[0], str(tmp_path), *args[1:])
    assert code == 2
    assert message in " ".join(out.split())


def test_a_damaged_file_is_reported_not_overwritten(cli: click.Group, tmp_path: Path) -> None:
    (tmp_path / "companies.json").write_text("[1, 2")
    code, out = run(cli, "jsonfile", "set", str(tmp_path), "companies", "name=A")
    assert code == 1 and "companies.json: not valid JSON" in out
    assert (tmp_path / "companies.json").read_text() == "[1, 2"
