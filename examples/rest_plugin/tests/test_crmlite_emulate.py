"""``talk emulate crmlite``: the SystemSpec's ``start_emulator`` is all the CLI needs."""

from __future__ import annotations

import socket
from types import ModuleType

import pytest
from click.testing import CliRunner

from talk_core.cli.main import cli
from talk_crmlite import CrmLiteConnector


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_talk_emulate_serves_a_seeded_account_with_the_given_key(
        crmlite_plugin: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    from talk_core.cli import emulate_cmd

    port, read = _free_port(), list[str]()

    def while_serving() -> None:  # instead of waiting for Ctrl-C: use the account once
        connector = CrmLiteConnector(f"http://127.0.0.1:{port}", "given-key")
        read.extend(e.properties["name"] for page in connector.read("customers", None)
                    for e in page.entities)
        connector.close()

    monkeypatch.setattr(emulate_cmd, "serve_until_interrupted", while_serving)
    result = CliRunner().invoke(cli, ["emulate", "crmlite", "--seed", "--port", str(port),
                                      "--api-key", "given-key"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"CRM Lite emulator on http://127.0.0.1:{port}\n")
    assert "given-key" not in result.output, "a key given on the command line is not shown"
    assert sorted(read) == ["Acme AS", "Fjord AB"]
