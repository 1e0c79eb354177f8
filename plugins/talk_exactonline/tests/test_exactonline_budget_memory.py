"""The day's request budget outlives the run: a spent day stops the next run before it calls."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner

from talk_core.cli.main import EXIT_EARLY, cli
from talk_core.errors import BudgetExhausted
from talk_core.http import HttpClient
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.result import RunResult
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_exactonline.budget import RateBudget
from talk_exactonline.budget_memory import BudgetMemory
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.oauth import TokenStore
from talk_exactonline.plugin import EXACT_ONLINE
from talk_exactonline.testing import emulator_connector

URL = "https://start.exactonline.nl/api/v1/1/crm/Accounts"
NOW = 1_700_000_000.0
RESET = NOW + 3600


def spent(remaining: int = 0) -> dict[str, str]:
    return {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(RESET * 1000))}


def memory(store: SQLiteStore, client_id: str = "app") -> BudgetMemory:
    return BudgetMemory(TokenStore("exact", store), client_id=client_id,
                        base_url="https://start.exactonline.nl")


def a_run(store: SQLiteStore, now: list[float], client_id: str = "app"
          ) -> tuple[HttpClient, RateBudget]:
    """What a new process builds: a client and a budget that only know what the store kept."""
    budget = RateBudget(clock=lambda: now[0], memory=memory(store, client_id))
    return HttpClient("https://start.exactonline.nl", budget=budget, sleep=lambda _: None), budget


def a_remembered_run(store: SQLiteStore, now: list[float], remaining: int) -> None:
    """A run told by its one answer that ``remaining`` calls are left today, then closed."""
    responses.add(responses.GET, URL, json={}, headers=spent(remaining))
    http, budget = a_run(store, now)
    http.get(URL)
    budget.remember()  # what the connector does when it closes


@responses.activate
def test_a_run_after_the_day_was_spent_stops_without_a_request(store: SQLiteStore) -> None:
    now = [NOW]
    a_remembered_run(store, now, 0)

    http, _ = a_run(store, now)
    with pytest.raises(BudgetExhausted) as stopped:
        http.get(URL)
    assert len(responses.calls) == 1, "the new run sent a request on a spent day"
    assert time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(RESET)) in str(stopped.value)

    now[0] = RESET + 1  # the day's budget has reset since
    http, _ = a_run(store, now)
    http.get(URL)
    assert len(responses.calls) == 2


@responses.activate
def test_calls_left_carry_over_and_another_app_has_its_own_budget(store: SQLiteStore) -> None:
    now = [NOW]
    a_remembered_run(store, now, 2)
    stored = store.get_token("exact#budget")
    assert stored is not None and stored["daily_remaining"] == 2

    responses.replace(responses.GET, URL, json={})  # answers without headers now
    http, _ = a_run(store, now)
    http.get(URL)
    http.get(URL)  # the two calls that were left
    with pytest.raises(BudgetExhausted):
        http.get(URL)
    assert len(responses.calls) == 3

    http, _ = a_run(store, now, client_id="another-app")
    http.get(URL)  # a budget counted for another app is not this one's
    assert len(responses.calls) == 4


@pytest.mark.parametrize("note", [
    {"daily_remaining": "none", "daily_reset": RESET},
    {"daily_remaining": 0},
    {"daily_remaining": True, "daily_reset": RESET},
])
@responses.activate
def test_a_damaged_note_is_ignored(store: SQLiteStore, note: dict[str, Any]) -> None:
    store.put_token("exact#budget", {"client_id": "app", "base_url":
                                     "https://start.exactonline.nl", "division": None, **note})
    responses.add(responses.GET, URL, json={}, headers=spent(10))
    http, _ = a_run(store, [NOW])
    http.get(URL)
    assert len(responses.calls) == 1


# -- with the emulator ----------------------------------------------------------------------

def _sync_once(emu: ExactEmulator, path: Path, now: list[float]) -> RunResult:
    """One run as a new process makes it: its own store, connector and budget."""
    store = SQLiteStore(path)
    connector = emulator_connector(emu, store, "exact", clock=lambda: now[0],
                                   division=emu.state.division)
    with Sync(store, [SystemInstance("exact", EXACT_ONLINE, connector)], SyncSettings()) as sync:
        return sync.run()


def test_the_emulator_never_refuses_a_call_across_runs(tmp_path: Path) -> None:
    emu = ExactEmulator(daily_limit=3).start()
    now = [time.time()]
    try:
        emu.seed()
        first = _sync_once(emu, tmp_path / "state.db", now)
        assert first.status == "budget", first.message
        api_calls = len(emu.calls)

        second = _sync_once(emu, tmp_path / "state.db", now)
        assert second.status == "budget"
        assert len(emu.calls) == api_calls, "a run on a spent day called Exact"
        reset = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(emu.limits.day_reset))
        assert reset in second.message, second.message

        now[0] = emu.limits.day_reset + 1  # past the reset the runs were told of
        emu.new_day()
        emu.limits.daily = 1000
        third = _sync_once(emu, tmp_path / "state.db", now)
        assert third.status == "done", third.message
        assert len(emu.calls) > api_calls
        assert emu.limits.over_day == 0, "a call was sent past the daily budget"
    finally:
        emu.stop()


CONFIG = """
[state]
path = "state.db"

[systems.exact]
connector = "exactonline"
base_url = "{url}"
client_id = "{client_id}"
client_secret = "${{EXACT_SECRET}}"
refresh_token = "${{EXACT_REFRESH}}"
"""


@pytest.fixture
def spent_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ExactEmulator]:
    emu = ExactEmulator(daily_limit=2).start()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TALK_CONFIG", raising=False)
    monkeypatch.setenv("EXACT_SECRET", emu.state.client_secret)
    monkeypatch.setenv("EXACT_REFRESH", emu.refresh_token())
    (tmp_path / "talk.toml").write_text(CONFIG.format(url=emu.url,
                                                      client_id=emu.state.client_id))
    try:
        yield emu
    finally:
        emu.stop()


def test_talk_sync_on_a_spent_day_exits_early_at_once(spent_day: ExactEmulator) -> None:
    spent_day.seed()
    runner = CliRunner()
    first = runner.invoke(cli, ["sync", "--json"], catch_exceptions=False)
    assert first.exit_code == EXIT_EARLY, first.output
    calls = len(spent_day.calls)

    second = runner.invoke(cli, ["sync", "--json"], catch_exceptions=False)
    assert second.exit_code == EXIT_EARLY, second.output
    summary = json.loads(second.stdout)
    assert summary["status"] == "budget" and "resets" in summary["message"], summary
    assert len(spent_day.calls) == calls, "talk sync called Exact on a spent day"
    assert spent_day.limits.over_day == 0


def test_forgetting_the_budget_lets_a_run_go_on_after_an_early_reset(
        spent_day: ExactEmulator) -> None:
    spent_day.seed()
    runner = CliRunner()
    assert runner.invoke(cli, ["sync", "--json"]).exit_code == EXIT_EARLY
    spent_day.limits.daily = 5000
    spent_day.new_day()  # Exact reset the day (and raised the limit) before it announced
    held = runner.invoke(cli, ["sync", "--json"])
    assert held.exit_code == EXIT_EARLY, held.output  # talk still trusts what it remembers
    calls = len(spent_day.calls)

    forgot = runner.invoke(cli, ["auth", "exactonline", "--system", "exact",
                                 "--forget-budget"], catch_exceptions=False)
    assert forgot.exit_code == 0, forgot.output
    assert "Forgot the daily request budget" in forgot.output
    assert "0 calls left until" in forgot.output
    assert SQLiteStore(Path("state.db")).get_note("exact", "budget") is None
    assert len(spent_day.calls) == calls  # forgetting asks Exact nothing

    after = runner.invoke(cli, ["sync", "--json"], catch_exceptions=False)
    assert after.exit_code in (0, 1), after.output
    assert json.loads(after.stdout)["status"] == "done"
    assert len(spent_day.calls) > calls

    again = runner.invoke(cli, ["auth", "exactonline", "--system", "exact",
                                "--forget-budget"], catch_exceptions=False)
    assert again.exit_code == 0
    # the run remembered the new day's budget; forgetting it again says how much was left
    assert "calls left until" in again.output


def test_forgetting_when_nothing_is_remembered_says_so(spent_day: ExactEmulator) -> None:
    result = CliRunner().invoke(cli, ["auth", "exactonline", "--system", "exact",
                                      "--forget-budget"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "nothing to forget" in result.output


def test_a_run_after_the_announced_reset_goes_on_by_itself(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the emulator's day ends two seconds from now, as its headers announce
    emu = ExactEmulator(daily_limit=2, clock=lambda: time.time() - 86400 + 2).start()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TALK_CONFIG", raising=False)
    monkeypatch.setenv("EXACT_SECRET", emu.state.client_secret)
    monkeypatch.setenv("EXACT_REFRESH", emu.refresh_token())
    (tmp_path / "talk.toml").write_text(CONFIG.format(url=emu.url,
                                                      client_id=emu.state.client_id))
    try:
        emu.seed()
        runner = CliRunner()
        assert runner.invoke(cli, ["sync", "--json"]).exit_code == EXIT_EARLY
        calls = len(emu.calls)
        assert runner.invoke(cli, ["sync", "--json"]).exit_code == EXIT_EARLY
        assert len(emu.calls) == calls  # before the reset: not a call
        emu.limits.daily = 5000
        emu.new_day()
        time.sleep(2.5)  # past the announced reset
        after = runner.invoke(cli, ["sync", "--json"], catch_exceptions=False)
        assert after.exit_code in (0, 1), after.output
        assert json.loads(after.stdout)["status"] == "done"
        assert len(emu.calls) > calls
    finally:
        emu.stop()
