"""`talk auth exactonline`: the authorization-code flow, by pasted code and by loopback redirect."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from talk_core.cli.main import cli
from talk_core.store.sqlite import SQLiteStore
from talk_core.system import SystemContext
from talk_exactonline.auth_cmd import authorize
from talk_exactonline.emulator import ExactEmulator

CONFIG = """
[state]
path = "state.db"

[systems.exact]
connector = "exactonline"
base_url = "{url}"
client_id = "talk-emulator"
client_secret = "${{EXACT_SECRET}}"
redirect_uri = "http://127.0.0.1:{port}/callback"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def emu() -> Iterator[ExactEmulator]:
    e = ExactEmulator().start()
    yield e
    e.stop()


@pytest.fixture
def workdir(tmp_path: Path, emu: ExactEmulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TALK_CONFIG", raising=False)
    monkeypatch.setenv("EXACT_SECRET", emu.state.client_secret)
    (tmp_path / "talk.toml").write_text(CONFIG.format(url=emu.url, port=free_port()))
    return tmp_path


def test_auth_with_a_pasted_code_stores_the_tokens(workdir: Path, emu: ExactEmulator) -> None:
    code = emu.state.new_code()
    result = CliRunner().invoke(cli, ["auth", "exactonline", "--system", "exact",
                                      "--code", code], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "authorised" in result.output
    token = SQLiteStore(workdir / "state.db").get_token("exact")
    assert token is not None and token["refresh_token"] in emu.state.grants
    assert emu.state.client_secret not in result.output
    # a code is single use
    again = CliRunner().invoke(cli, ["auth", "exactonline", "--system", "exact",
                                     "--code", code], catch_exceptions=False)
    assert again.exit_code != 0
    assert "talk auth exactonline" in again.output


def test_auth_of_an_unknown_system_is_a_usage_error(workdir: Path) -> None:
    result = CliRunner().invoke(cli, ["auth", "exactonline", "--system", "nope"])
    assert result.exit_code == 2
    assert "no Exact Online system named 'nope'" in result.output


def test_auth_catches_the_redirect_on_a_loopback_port(tmp_path: Path,
                                                      emu: ExactEmulator) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    port = free_port()
    options = {"base_url": emu.url, "client_id": emu.state.client_id,
               "client_secret": emu.state.client_secret,
               "redirect_uri": f"http://127.0.0.1:{port}/callback"}
    lines: list[str] = []

    def echo(line: str) -> None:
        lines.append(line)
        if line.startswith("  http"):
            # the person's browser: opens the address, Exact redirects to talk's listener
            threading.Timer(0.3, requests.get, args=(line.strip(),),
                            kwargs={"timeout": 10}).start()

    authorize(options, SystemContext("exact", store), code=None, listen=True, timeout=10,
              echo=echo)
    token = store.get_token("exact")
    assert token is not None and token["refresh_token"] in emu.state.grants
    assert any("/api/oauth2/auth?" in line for line in lines)
    store.close()


def test_a_refused_code_says_the_code_was_refused_and_exits_6(workdir: Path,
                                                              emu: ExactEmulator) -> None:
    result = CliRunner().invoke(cli, ["auth", "exactonline", "--system", "exact",
                                      "--code", "not-a-code-exact-gave"])
    assert result.exit_code == 6, result.output
    assert "refused the authorisation code for 'exact'" in result.output
    assert "refresh" not in result.output
    assert "talk auth exactonline --system exact" in result.output
    assert SQLiteStore(workdir / "state.db").get_token("exact") is None


def test_a_sync_before_the_first_authorisation_says_to_authorise(workdir: Path,
                                                                 emu: ExactEmulator) -> None:
    emu.seed()
    result = CliRunner().invoke(cli, ["sync"])
    assert result.exit_code == 6, result.output
    assert "not authorised yet" in result.output
    assert "run `talk auth exactonline --system exact` to authorise talk" in result.output
    assert "again" not in result.output
